"""The user pool for load tests: who each persona can log in as, what each identity owns, and
what it must NOT be able to read.

One Arrow IPC file per persona (memory-mapped on a Locust worker in milliseconds, sliceable so
workers take disjoint identities). Owned ids drive the click paths and the content checks; the
forbidden ids drive the security probes: any successful read of one is a data exposure.

Cutover day: `guardian_unregistered` holds the guardians whose portal account is not activated
yet, with their children's access codes (the paper letter from school), so a load test can run
parent self-registration end to end and link each child.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fake_data.district import SYNTHETIC_NOTE, District
from fake_data.export_parquet import stamp, synthetic_metadata
from fake_data.rng import stream
from kernel.files import open_private, private_dir

PERSONAS = ("teacher", "student", "guardian", "guardian_unregistered", "clerk", "district_admin",
            "terminated_staff")
FORBIDDEN_PER_IDENTITY = 3


def _lists(owner: np.ndarray, values: np.ndarray, n_owners: int) -> pa.ListArray:
    """Group `values` by 0-based `owner` into one list per owner (owners without values: [])."""
    order = np.argsort(owner, kind="stable")
    counts = np.bincount(owner, minlength=n_owners)
    offsets = np.r_[0, np.cumsum(counts)].astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values[order].astype(np.int32)))


def _codes_of(lists: pa.ListArray, codes: pa.Array) -> pa.ListArray:
    """Per row, the access code of each student id in `lists`, in the same order."""
    ids = pc.list_flatten(lists).to_numpy(zero_copy_only=False)
    lengths = pc.list_value_length(lists).to_numpy(zero_copy_only=False)
    offsets = np.r_[0, np.cumsum(lengths)].astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), codes.take(pa.array(ids - 1)))


def _logins(district: District, person_type: str, person_ids: np.ndarray) -> dict[str, pa.Array]:
    accounts = district["accounts"]
    mine = accounts.filter(pc.equal(accounts["person_type"].cast(pa.string()), person_type))
    position = np.full(int(mine["person_id"].to_numpy().max(initial=0)) + 1, -1, dtype=np.int64)
    position[mine["person_id"].to_numpy()] = np.arange(mine.num_rows)
    rows = pa.array(position[person_ids])
    return {c: mine[c].take(rows).combine_chunks() for c in ("user_id", "username", "password")}


def _distinct(rng: np.random.Generator, m: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row i, up to `k` distinct positions in ``[0, m[i])`` (fewer when ``m[i] < k``).

    Returns the positions (n, k) and a mask (n, k) of the ones drawn. No rejection loop: the j-th
    draw picks among the ``m - j`` positions not drawn yet and steps over the ones taken before.
    """
    m = np.asarray(m, dtype=np.int64)
    pos = np.zeros((len(m), k), dtype=np.int64)
    for j in range(k):
        r = rng.integers(0, np.maximum(m - j, 1))
        taken = np.sort(pos[:, :j], axis=1)
        for c in range(j):
            r += r >= taken[:, c]
        pos[:, j] = r
    return pos, np.arange(k)[None, :] < np.minimum(m, k)[:, None]


def _outside(rng: np.random.Generator, key: np.ndarray, not_key: np.ndarray,
             k: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
    """Per row i, up to `k` distinct 0-based indices j with ``key[j] != not_key[i]``.

    Drawn from the explicit candidate set (every index outside the row's own key), so a row
    whose key holds every index gets none. Returns indices (n, K) and a mask of the ones drawn.
    """
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    first = np.searchsorted(ordered, not_key, side="left")
    size = np.searchsorted(ordered, not_key, side="right") - first
    want = np.broadcast_to(np.asarray(k, dtype=np.int64), not_key.shape)
    pos, drawn = _distinct(rng, np.minimum(len(key) - size, want), FORBIDDEN_PER_IDENTITY)
    pos = pos + np.where(pos >= first[:, None], size[:, None], 0)  # step over the own block
    return order[np.minimum(pos, len(key) - 1)], drawn


def _inside_unowned(rng: np.random.Generator, key: np.ndarray, row_key: np.ndarray,
                    owner: np.ndarray, owned: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row i, up to FORBIDDEN_PER_IDENTITY distinct indices j with ``key[j] == row_key[i]``
    that row i does not own. `key` is sorted; ``(owner, owned)`` pairs list what each row owns
    (indices within the row's key block). Returns indices (n, K) and a mask of the ones drawn.
    """
    n = len(row_key)
    first = np.searchsorted(key, row_key, side="left")
    size = np.searchsorted(key, row_key, side="right") - first
    pairs = np.sort(owner.astype(np.int64) * (len(key) + 1) + owned)
    pairs = pairs[np.r_[True, pairs[1:] != pairs[:-1]]] if len(pairs) else pairs  # unique
    p_owner, p_owned = pairs // (len(key) + 1), pairs % (len(key) + 1)
    inside = (p_owned >= first[p_owner]) & (p_owned < first[p_owner] + size[p_owner])
    p_owner, rel = p_owner[inside], p_owned[inside] - first[p_owner[inside]]
    count = np.bincount(p_owner, minlength=n)
    rank = np.arange(len(rel)) - np.repeat(np.cumsum(count) - count, count)
    # The p-th free index of a block is p + #{owned o_j (sorted) with o_j - j <= p}.
    stride = int(size.max(initial=0)) + 1
    steps = p_owner * stride + (rel - rank)
    pos, drawn = _distinct(rng, size - count, FORBIDDEN_PER_IDENTITY)
    row = np.arange(n)[:, None]
    skipped = (np.searchsorted(steps, row * stride + pos, side="right")
               - np.searchsorted(steps, row * stride, side="left"))
    return np.minimum(first[:, None] + pos + skipped, max(len(key) - 1, 0)), drawn


def _ragged(parts: list[tuple[np.ndarray, np.ndarray]]) -> pa.ListArray:
    """One list per row: the drawn values of each part in turn (0-based indices become ids)."""
    values = np.concatenate([v for v, _ in parts], axis=1)
    drawn = np.concatenate([d for _, d in parts], axis=1)
    offsets = np.r_[0, np.cumsum(drawn.sum(axis=1))].astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets),
                                    pa.array((values[drawn] + 1).astype(np.int32)))


def _preferring_own_block(rng: np.random.Generator, key: np.ndarray, row_key: np.ndarray,
                          owner: np.ndarray, owned: np.ndarray, k: int) -> pa.ListArray:
    """Up to `k` ids per row: unowned ones of the row's own key first, then from other keys."""
    same, same_drawn = _inside_unowned(rng, key, row_key, owner, owned)
    same_drawn[:, k:] = False
    other, other_drawn = _outside(rng, key, row_key, k - same_drawn.sum(axis=1))
    return _ragged([(same, same_drawn), (other, other_drawn)])


@dataclass(frozen=True)
class _People:
    """What several pools read about students and staff, as arrays indexed by id - 1."""

    student_school: np.ndarray
    student_household: np.ndarray
    staff_active: np.ndarray  # bool
    staff_role: np.ndarray  # str
    staff_school: np.ndarray

    @classmethod
    def of(cls, district: District) -> _People:
        students, staff = district["students"], district["staff"]
        return cls(
            students["school_id"].to_numpy(), students["household_id"].to_numpy(),
            pc.equal(staff["status"].cast(pa.string()), "active").to_numpy(zero_copy_only=False),
            staff["role"].cast(pa.string()).to_numpy(zero_copy_only=False),
            staff["school_id"].to_numpy())


def build_userpool(district: District) -> dict[str, pa.Table]:
    """Every persona's identities. One random stream feeds the forbidden ids of all pools in
    turn, so the pools are built in this order: another order gives other identities for the
    same seed."""
    rng = stream(district.seed, "userpool")
    people = _People.of(district)
    links = _Links.of(district)
    return {
        "teacher": _teacher_pool(district, people, rng),
        "student": _student_pool(district, people, rng),
        "guardian": _guardian_pool(district, people, rng, links),
        "guardian_unregistered": _unregistered_guardian_pool(district, links),
        "clerk": _clerk_pool(district, people, rng),
        "district_admin": _district_admin_pool(district, people),
        "terminated_staff": _terminated_staff_pool(district, people),
    }


def _teacher_pool(district: District, people: _People, rng: np.random.Generator) -> pa.Table:
    """Teachers with sections: their sections and students; forbidden = other teachers' ones."""
    sections, enrollments = district["sections"], district["enrollments"]
    sec_teacher = sections["teacher_id"].to_numpy()
    sec_school = sections["school_id"].to_numpy()
    teachers = np.unique(sec_teacher)
    t_index = np.full(district["staff"].num_rows + 1, -1, dtype=np.int64)
    t_index[teachers] = np.arange(len(teachers))
    e_teacher = t_index[sec_teacher[enrollments["section_id"].to_numpy() - 1]]
    t_school = people.staff_school[teachers - 1]
    owned = _lists(e_teacher, enrollments["student_id"].to_numpy(), len(teachers))
    # Same-school students are the sharpest probe (a teacher reading a colleague's class); when
    # the school has too few students outside the teacher's own sections, other schools' fill in.
    forbidden_students = _preferring_own_block(
        rng, people.student_school, t_school, e_teacher,
        enrollments["student_id"].to_numpy() - 1, FORBIDDEN_PER_IDENTITY)
    # A colleague's section, from another school when the teacher teaches all of their own school's.
    forbidden_sections = _preferring_own_block(
        rng, sec_school, t_school, t_index[sec_teacher], np.arange(len(sec_teacher)), 1)
    level = district["schools"]["level"].cast(pa.string()).to_numpy(zero_copy_only=False)
    return pa.table({
        **_logins(district, "staff", teachers),
        "staff_id": pa.array(teachers.astype(np.int32)),
        "school_id": pa.array(t_school.astype(np.int32)),
        "level": pa.array(level[t_school - 1]),
        "sections": _lists(t_index[sec_teacher], np.arange(1, len(sec_teacher) + 1),
                           len(teachers)),
        "students": owned,
        "forbidden_sections": forbidden_sections,
        "forbidden_students": forbidden_students,
    }).filter(pa.array(people.staff_active[teachers - 1]))


def _student_pool(district: District, people: _People, rng: np.random.Generator) -> pa.Table:
    """Students: their own sections; forbidden = students of other households."""
    students, enrollments = district["students"], district["enrollments"]
    st_ids = students["student_id"].to_numpy()
    return pa.table({
        **_logins(district, "student", st_ids),
        "student_id": pa.array(st_ids),
        "school_id": pa.array(people.student_school),
        "grade": students["grade"].combine_chunks(),
        "sections": _lists(enrollments["student_id"].to_numpy() - 1,
                           enrollments["section_id"].to_numpy(), students.num_rows),
        "forbidden_students": _ragged([_outside(rng, people.student_household,
                                                people.student_household,
                                                FORBIDDEN_PER_IDENTITY)]),
    })


@dataclass(frozen=True)
class _Links:
    """The guardian links as arrays, and per guardian (id - 1) the children they may see and
    their no-access (custody) children."""

    guardian: np.ndarray  # 0-based
    student: np.ndarray
    access: np.ndarray  # bool: portal access
    children: pa.ListArray
    no_access: pa.ListArray

    @classmethod
    def of(cls, district: District) -> _Links:
        links = district["guardian_links"]
        n_g = district["guardians"].num_rows
        guardian = links["guardian_id"].to_numpy() - 1
        student = links["student_id"].to_numpy()
        access = links["portal_access"].to_numpy(zero_copy_only=False)
        return cls(guardian, student, access, _lists(guardian[access], student[access], n_g),
                   _lists(guardian[~access], student[~access], n_g))


def _guardians_with_account(district: District, status: str) -> np.ndarray:
    accounts = district["accounts"]
    return accounts.filter(pc.and_(
        pc.equal(accounts["person_type"].cast(pa.string()), "guardian"),
        pc.equal(accounts["status"].cast(pa.string()), status),
    ))["person_id"].to_numpy()


def _guardian_pool(district: District, people: _People, rng: np.random.Generator,
                   links: _Links) -> pa.Table:
    """Guardians with an activated portal account: children they may see, and those they may not
    (their own no-access children first, then other families' children)."""
    g_active = _guardians_with_account(district, "active")
    n_g = district["guardians"].num_rows
    g_household = district["guardians"]["household_id"].to_numpy()
    others, drawn = _outside(rng, people.student_household, g_household, FORBIDDEN_PER_IDENTITY)
    forbidden = _lists(  # a stable sort keeps each guardian's own no-access children first
        np.r_[links.guardian[~links.access], np.repeat(np.arange(n_g), drawn.sum(axis=1))],
        np.r_[links.student[~links.access], others[drawn] + 1],
        n_g,
    )
    codes = district["students"]["access_code"].combine_chunks()
    take = pa.array(g_active - 1)
    active_children = links.children.take(take)
    return pa.table({
        **_logins(district, "guardian", g_active),
        "guardian_id": pa.array(g_active.astype(np.int32)),
        "children": active_children,
        "children_codes": _codes_of(active_children, codes),
        "no_access_children": links.no_access.take(take),
        "forbidden_students": forbidden.take(take),
    })


def _unregistered_guardian_pool(district: District, links: _Links) -> pa.Table:
    """Guardians who must register on cutover day. One whose email another guardian record also
    carries is left out: registration sends that address a "contact the school" message, not
    a code, so such an identity could never finish the flow."""
    g_account = _guardians_with_account(district, "unactivated")
    emails = district["guardians"]["email"].combine_chunks()
    counted = pc.value_counts(pc.drop_null(emails))
    shared = pc.is_in(emails, value_set=pc.filter(counted.field("values"),
                                                  pc.greater(counted.field("counts"), 1)))
    shared = pc.fill_null(shared, False).to_numpy(zero_copy_only=False)
    g_new = g_account[~shared[g_account - 1]]
    codes = district["students"]["access_code"].combine_chunks()
    take = pa.array(g_new - 1)
    new_children, new_denied = links.children.take(take), links.no_access.take(take)
    return pa.table({
        **_logins(district, "guardian", g_new),  # password: the one to register with
        "guardian_id": pa.array(g_new.astype(np.int32)),
        "email": emails.take(take),
        "children": new_children,
        "children_codes": _codes_of(new_children, codes),
        "no_access_children": new_denied,
        "no_access_codes": _codes_of(new_denied, codes),
    })


def _clerk_pool(district: District, people: _People, rng: np.random.Generator) -> pa.Table:
    """Clerks: their school; forbidden = students of other schools."""
    clerk = np.flatnonzero((people.staff_role == "clerk") & people.staff_active) + 1
    c_school = people.staff_school[clerk - 1]
    return pa.table({
        **_logins(district, "staff", clerk),
        "staff_id": pa.array(clerk.astype(np.int32)),
        "school_id": pa.array(c_school.astype(np.int32)),
        "forbidden_students": _ragged([_outside(rng, people.student_school, c_school,
                                                FORBIDDEN_PER_IDENTITY)]),
    })


def _district_admin_pool(district: District, people: _People) -> pa.Table:
    admins = np.flatnonzero((people.staff_role == "district_administrator")
                            & people.staff_active) + 1
    return pa.table({
        **_logins(district, "staff", admins),
        "staff_id": pa.array(admins.astype(np.int32)),
    })


def _terminated_staff_pool(district: District, people: _People) -> pa.Table:
    """Terminated staff: every login of theirs must be refused."""
    gone = np.flatnonzero(~people.staff_active) + 1
    return pa.table({
        **_logins(district, "staff", gone),
        "staff_id": pa.array(gone.astype(np.int32)),
        "role": pa.array(people.staff_role[gone - 1]),
        "school_id": pa.array(people.staff_school[gone - 1].astype(np.int32)),
    })


def write_userpool(district: District, folder: Path) -> dict[str, int]:
    """Write one ``<persona>.arrow`` per persona and a ``manifest.json``; returns identities."""
    private_dir(folder)  # the pool holds every account's password: owner-only
    meta = synthetic_metadata(district.profile.name, district.scale, district.seed)
    counts = {}
    for persona, table in build_userpool(district).items():
        table = table.replace_schema_metadata(stamp(table.schema, meta).metadata)
        with open_private(folder / f"{persona}.arrow") as sink, \
                pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        counts[persona] = table.num_rows
    manifest = {
        "synthetic": True,
        "note": SYNTHETIC_NOTE,
        "profile": district.profile.name,
        "scale": district.scale,
        "seed": district.seed,
        "identities": counts,
    }
    with open_private(folder / "manifest.json") as out:
        out.write((json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())
    return counts


def load_persona(folder: Path, persona: str) -> pa.Table:
    """Memory-map one persona's identities (fast on a Locust worker)."""
    with pa.memory_map(str(folder / f"{persona}.arrow")) as source:
        return pa.ipc.open_file(source).read_all()
