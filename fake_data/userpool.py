"""The user pool for load tests: who each persona can log in as, what each identity owns, and
what it must NOT be able to read.

One Arrow IPC file per persona (memory-mapped on a Locust worker in milliseconds, sliceable so
workers take disjoint identities). Owned ids drive the click paths and the content checks; the
forbidden ids drive the security probes: any successful read of one is a data exposure.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fake_data.district import SYNTHETIC_NOTE, District
from fake_data.export_parquet import stamp, synthetic_metadata
from fake_data.rng import stream

PERSONAS = ("teacher", "student", "guardian", "clerk", "district_admin", "terminated_staff")
FORBIDDEN_PER_IDENTITY = 3


def _lists(owner: np.ndarray, values: np.ndarray, n_owners: int) -> pa.ListArray:
    """Group `values` by 0-based `owner` into one list per owner (owners without values: [])."""
    order = np.argsort(owner, kind="stable")
    counts = np.bincount(owner, minlength=n_owners)
    offsets = np.r_[0, np.cumsum(counts)].astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values[order].astype(np.int32)))


def _logins(district: District, person_type: str, person_ids: np.ndarray) -> dict[str, pa.Array]:
    accounts = district["accounts"]
    mine = accounts.filter(pc.equal(accounts["person_type"].cast(pa.string()), person_type))
    position = np.full(int(mine["person_id"].to_numpy().max(initial=0)) + 1, -1, dtype=np.int64)
    position[mine["person_id"].to_numpy()] = np.arange(mine.num_rows)
    rows = pa.array(position[person_ids])
    return {c: mine[c].take(rows).combine_chunks() for c in ("user_id", "username", "password")}


def _other_students(rng: np.random.Generator, district: District, n: int,
                    not_household: np.ndarray) -> np.ndarray:
    """`n` x FORBIDDEN_PER_IDENTITY random student ids outside the given households."""
    household = district["students"]["household_id"].to_numpy()
    picks = rng.integers(0, len(household), (n, FORBIDDEN_PER_IDENTITY))
    clash = household[picks] == not_household[:, None]
    while clash.any():
        picks[clash] = rng.integers(0, len(household), int(clash.sum()))
        clash = household[picks] == not_household[:, None]
    return picks + 1


def _flat(rows: np.ndarray) -> pa.ListArray:
    n, k = rows.shape
    offsets = pa.array(np.arange(0, n * k + 1, k, dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, pa.array(rows.ravel().astype(np.int32)))


def build_userpool(district: District) -> dict[str, pa.Table]:
    rng = stream(district.seed, "userpool")
    students = district["students"]
    staff = district["staff"]
    sections = district["sections"]
    enrollments = district["enrollments"]
    links = district["guardian_links"]
    accounts = district["accounts"]
    n_students = students.num_rows
    st_school = students["school_id"].to_numpy()
    st_household = students["household_id"].to_numpy()
    active_staff = pc.equal(staff["status"].cast(pa.string()), "active").to_numpy(
        zero_copy_only=False)
    role = staff["role"].cast(pa.string()).to_numpy(zero_copy_only=False)
    staff_school = staff["school_id"].to_numpy()
    pools: dict[str, pa.Table] = {}

    # Teachers with sections: their sections and students; forbidden = other teachers' ones.
    sec_teacher = sections["teacher_id"].to_numpy()
    sec_school = sections["school_id"].to_numpy()
    teachers = np.unique(sec_teacher)
    t_index = np.full(staff.num_rows + 1, -1, dtype=np.int64)
    t_index[teachers] = np.arange(len(teachers))
    e_section = enrollments["section_id"].to_numpy()
    e_teacher = t_index[sec_teacher[e_section - 1]]
    t_school = staff_school[teachers - 1]
    owned = _lists(e_teacher, enrollments["student_id"].to_numpy(), len(teachers))
    school_first = np.searchsorted(st_school, t_school, side="left")
    school_len = np.searchsorted(st_school, t_school, side="right") - school_first
    # Same-school students are the sharpest probe (a teacher reading a colleague's class);
    # a drawn student who is in the teacher's own sections is replaced by one from another school.
    draw = school_first[:, None] + (
        rng.random((len(teachers), FORBIDDEN_PER_IDENTITY)) * school_len[:, None]).astype(np.int64)
    owned_keys = np.sort(e_teacher * n_students + enrollments["student_id"].to_numpy() - 1)
    row = np.arange(len(teachers))[:, None]

    def owned_by_teacher(picks: np.ndarray) -> np.ndarray:
        keys = row * n_students + picks
        at = np.minimum(np.searchsorted(owned_keys, keys), len(owned_keys) - 1)
        return np.asarray(owned_keys[at] == keys)

    mine = owned_by_teacher(draw)
    while mine.any():
        draw[mine] = rng.integers(0, n_students, int(mine.sum()))
        mine = owned_by_teacher(draw)
    sec_by_school_first = np.searchsorted(sec_school, t_school, side="left")
    sec_by_school_len = np.searchsorted(sec_school, t_school, side="right") - sec_by_school_first
    f_sec = sec_by_school_first + (rng.random(len(teachers)) * sec_by_school_len).astype(np.int64)
    clash = sec_teacher[f_sec] == teachers
    while clash.any():  # a school with one teacher: take a section from anywhere else
        f_sec[clash] = rng.integers(0, len(sec_teacher), int(clash.sum()))
        clash = sec_teacher[f_sec] == teachers
    teacher_active = active_staff[teachers - 1]
    level = district["schools"]["level"].cast(pa.string()).to_numpy(zero_copy_only=False)
    pools["teacher"] = pa.table({
        **_logins(district, "staff", teachers),
        "staff_id": pa.array(teachers.astype(np.int32)),
        "school_id": pa.array(t_school.astype(np.int32)),
        "level": pa.array(level[t_school - 1]),
        "sections": _lists(t_index[sec_teacher], np.arange(1, len(sec_teacher) + 1),
                           len(teachers)),
        "students": owned,
        "forbidden_sections": _flat((f_sec + 1)[:, None]),
        "forbidden_students": _flat(draw + 1),
    }).filter(pa.array(teacher_active))

    # Students: their own sections; forbidden = students of other households.
    st_ids = students["student_id"].to_numpy()
    pools["student"] = pa.table({
        **_logins(district, "student", st_ids),
        "student_id": pa.array(st_ids),
        "school_id": pa.array(st_school),
        "grade": students["grade"].combine_chunks(),
        "sections": _lists(enrollments["student_id"].to_numpy() - 1, e_section, n_students),
        "forbidden_students": _flat(_other_students(rng, district, n_students, st_household)),
    })

    # Guardians with an activated portal account: children they may see, and those they may not
    # (their own no-access children first, then other families' children).
    g_active = accounts.filter(pc.and_(
        pc.equal(accounts["person_type"].cast(pa.string()), "guardian"),
        pc.equal(accounts["status"].cast(pa.string()), "active"),
    ))["person_id"].to_numpy()
    n_g = district["guardians"].num_rows
    l_guardian = links["guardian_id"].to_numpy() - 1
    l_student = links["student_id"].to_numpy()
    access = links["portal_access"].to_numpy(zero_copy_only=False)
    children = _lists(l_guardian[access], l_student[access], n_g)
    denied = _lists(l_guardian[~access], l_student[~access], n_g)
    g_household = district["guardians"]["household_id"].to_numpy()
    others = _other_students(rng, district, n_g, g_household)
    forbidden = _lists(  # a stable sort keeps each guardian's own no-access children first
        np.r_[l_guardian[~access], np.repeat(np.arange(n_g), FORBIDDEN_PER_IDENTITY)],
        np.r_[l_student[~access], others.ravel()],
        n_g,
    )
    take = pa.array(g_active - 1)
    pools["guardian"] = pa.table({
        **_logins(district, "guardian", g_active),
        "guardian_id": pa.array(g_active.astype(np.int32)),
        "children": children.take(take),
        "no_access_children": denied.take(take),
        "forbidden_students": forbidden.take(take),
    })

    # Clerks: their school; forbidden = students of other schools.
    clerk = np.flatnonzero((role == "clerk") & active_staff) + 1
    c_school = staff_school[clerk - 1]
    other = rng.integers(0, n_students, (len(clerk), FORBIDDEN_PER_IDENTITY))
    same = st_school[other] == c_school[:, None]
    while same.any():
        other[same] = rng.integers(0, n_students, int(same.sum()))
        same = st_school[other] == c_school[:, None]
    pools["clerk"] = pa.table({
        **_logins(district, "staff", clerk),
        "staff_id": pa.array(clerk.astype(np.int32)),
        "school_id": pa.array(c_school.astype(np.int32)),
        "forbidden_students": _flat(other + 1),
    })

    admins = np.flatnonzero((role == "district_administrator") & active_staff) + 1
    pools["district_admin"] = pa.table({
        **_logins(district, "staff", admins),
        "staff_id": pa.array(admins.astype(np.int32)),
    })

    # Terminated staff: every login of theirs must be refused.
    gone = np.flatnonzero(~active_staff) + 1
    pools["terminated_staff"] = pa.table({
        **_logins(district, "staff", gone),
        "staff_id": pa.array(gone.astype(np.int32)),
        "role": pa.array(role[gone - 1]),
        "school_id": pa.array(staff_school[gone - 1].astype(np.int32)),
    })
    return pools


def write_userpool(district: District, folder: Path) -> dict[str, int]:
    """Write one ``<persona>.arrow`` per persona and a ``manifest.json``; returns identities."""
    folder.mkdir(parents=True, exist_ok=True)
    meta = synthetic_metadata(district.profile.name, district.scale, district.seed)
    counts = {}
    for persona, table in build_userpool(district).items():
        table = table.replace_schema_metadata(stamp(table.schema, meta).metadata)
        with pa.OSFile(str(folder / f"{persona}.arrow"), "wb") as sink, \
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
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return counts


def load_persona(folder: Path, persona: str) -> pa.Table:
    """Memory-map one persona's identities (fast on a Locust worker)."""
    with pa.memory_map(str(folder / f"{persona}.arrow")) as source:
        return pa.ipc.open_file(source).read_all()
