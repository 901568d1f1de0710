from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from fake_data.district import District, generate
from fake_data.profile import load_profile
from fake_data.userpool import (
    FORBIDDEN_PER_IDENTITY,
    PERSONAS,
    _inside_unowned,
    _outside,
    build_userpool,
    load_persona,
    write_userpool,
)


def test_pool_has_every_persona_with_unique_identities(small: District) -> None:
    pools = build_userpool(small)
    assert set(pools) == set(PERSONAS)
    users = np.concatenate([t["user_id"].to_numpy() for t in pools.values()])
    assert len(users) == len(np.unique(users))
    accounts = small["accounts"]
    by_user = dict(zip(accounts["user_id"].to_pylist(), accounts["password"].to_pylist(),
                       strict=True))
    for table in pools.values():
        for row in table.slice(0, 5).to_pylist():
            assert by_user[row["user_id"]] == row["password"]


def test_teachers_own_their_sections_and_not_the_forbidden_ids(small: District) -> None:
    teachers = build_userpool(small)["teacher"]
    sections = small["sections"]
    enr = small["enrollments"]
    sec_teacher = sections["teacher_id"].to_numpy()
    for row in teachers.to_pylist():
        own_sections = set(row["sections"])
        assert own_sections == set((np.flatnonzero(sec_teacher == row["staff_id"]) + 1).tolist())
        in_sections = np.isin(enr["section_id"].to_numpy(), list(own_sections))
        assert set(row["students"]) == set(enr["student_id"].to_numpy()[in_sections].tolist())
        assert not set(row["forbidden_students"]) & set(row["students"])
        assert not set(row["forbidden_sections"]) & own_sections
        assert len(row["forbidden_students"]) == 3


def test_guardians_see_children_but_not_no_access_ones(small: District) -> None:
    guardians = build_userpool(small)["guardian"]
    links = small["guardian_links"].to_pylist()
    allowed: dict[int, set[int]] = {}
    denied: dict[int, set[int]] = {}
    for link in links:
        (allowed if link["portal_access"] else denied).setdefault(
            link["guardian_id"], set()).add(link["student_id"])
    rows = guardians.to_pylist()
    assert any(r["no_access_children"] for r in rows)
    for row in rows:
        assert set(row["children"]) == allowed.get(row["guardian_id"], set())
        assert set(row["no_access_children"]) == denied.get(row["guardian_id"], set())
        assert set(row["no_access_children"]) <= set(row["forbidden_students"])
        assert not set(row["forbidden_students"]) & set(row["children"])


def test_students_clerks_and_terminated_staff(small: District) -> None:
    pools = build_userpool(small)
    students = small["students"]
    household = students["household_id"].to_numpy()
    for row in pools["student"].slice(0, 300).to_pylist():
        assert all(household[f - 1] != household[row["student_id"] - 1]
                   for f in row["forbidden_students"])
    school = students["school_id"].to_numpy()
    for row in pools["clerk"].to_pylist():
        assert all(school[f - 1] != row["school_id"] for f in row["forbidden_students"])
    status = small["staff"]["status"].cast(pa.string()).to_pylist()
    assert pools["terminated_staff"].num_rows == status.count("terminated")
    gone = pools["terminated_staff"]["staff_id"].to_pylist()
    assert all(status[s - 1] == "terminated" for s in gone)


def test_written_pool_loads_back_memory_mapped(small: District, tmp_path: Path) -> None:
    counts = write_userpool(small, tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["synthetic"] is True and manifest["identities"] == counts
    guardian = load_persona(tmp_path, "guardian")
    assert guardian.num_rows == counts["guardian"]
    assert guardian.schema.metadata[b"firstbell.synthetic"] == b"true"
    assert guardian.equals(build_userpool(small)["guardian"].replace_schema_metadata(
        guardian.schema.metadata))


def test_the_pool_is_readable_by_its_owner_only(small: District, tmp_path: Path) -> None:
    """Every account's password is in it: the folder 0700, every file 0600, also over a
    folder that existed with wider modes."""
    folder = tmp_path / "pool"
    folder.mkdir(mode=0o755)
    (folder / "teacher.arrow").write_bytes(b"old")
    (folder / "teacher.arrow").chmod(0o644)
    write_userpool(small, folder)
    assert folder.stat().st_mode & 0o777 == 0o700
    modes = {f.name: f.stat().st_mode & 0o777 for f in folder.iterdir()}
    assert modes and set(modes.values()) == {0o600}, modes


@contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    """Fail instead of hanging (a redraw loop with no valid candidate never ends)."""
    def stop(_signum: int, _frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")
    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _check_forbidden(district: District, pools: dict[str, pa.Table]) -> None:
    """Every forbidden id breaks the rule of its persona; at most FORBIDDEN_PER_IDENTITY each."""
    students = district["students"]
    household = students["household_id"].to_numpy()
    school = students["school_id"].to_numpy()
    enr = district["enrollments"]
    sec_teacher = district["sections"]["teacher_id"].to_numpy()
    e_teacher = sec_teacher[enr["section_id"].to_numpy() - 1]
    owned = set(zip(e_teacher.tolist(), enr["student_id"].to_numpy().tolist(), strict=True))
    for row in pools["teacher"].to_pylist():
        assert len(row["forbidden_students"]) <= FORBIDDEN_PER_IDENTITY
        assert len(set(row["forbidden_students"])) == len(row["forbidden_students"])
        assert not any((row["staff_id"], s) in owned for s in row["forbidden_students"])
        assert all(sec_teacher[s - 1] != row["staff_id"] for s in row["forbidden_sections"])
    for row in pools["student"].to_pylist():
        assert all(household[s - 1] != household[row["student_id"] - 1]
                   for s in row["forbidden_students"])
    g_household = district["guardians"]["household_id"].to_numpy()
    for row in pools["guardian"].to_pylist():
        others = [s for s in row["forbidden_students"] if s not in row["no_access_children"]]
        assert len(others) <= FORBIDDEN_PER_IDENTITY
        assert all(household[s - 1] != g_household[row["guardian_id"] - 1] for s in others)
    for row in pools["clerk"].to_pylist():
        assert len(row["forbidden_students"]) <= FORBIDDEN_PER_IDENTITY
        assert all(school[s - 1] != row["school_id"] for s in row["forbidden_students"])


def test_a_level_with_no_students_gives_fewer_forbidden_ids_not_a_hang() -> None:
    # At this scale the high school rounds to 0 students and the one elementary school holds
    # all 8: its clerk has no other-school student to probe with.
    district = generate(load_profile("small"), scale=0.00136, seed=1)
    level = district["schools"]["level"].cast(pa.string()).to_pylist()
    size = district["schools"]["students"].to_pylist()
    assert size[level.index("high")] == 0 and sum(size) == district["students"].num_rows > 0
    with _deadline(20):
        pools = build_userpool(district)
    _check_forbidden(district, pools)
    clerks = {row["school_id"]: row["forbidden_students"] for row in pools["clerk"].to_pylist()}
    full = level.index("elementary") + 1
    assert clerks[full] == []  # nobody outside the clerk's school: no forbidden ids
    assert all(len(ids) == min(FORBIDDEN_PER_IDENTITY, sum(size)) for school_id, ids in
               clerks.items() if school_id != full)
    # Teachers still get colleagues' students of their own school.
    assert all(row["forbidden_students"] for row in pools["teacher"].to_pylist())


@pytest.mark.parametrize("seed", range(6))
def test_candidate_draws_match_explicit_candidate_sets(seed: int) -> None:
    rng = np.random.default_rng(seed)
    key = np.sort(rng.integers(0, 4, 25))
    row_key = rng.integers(0, 5, 12)  # key 4 holds no index at all
    owner, owned = rng.integers(0, 12, 40), rng.integers(0, 25, 40)
    inside, inside_drawn = _inside_unowned(rng, key, row_key, owner, owned)
    outside, outside_drawn = _outside(rng, key, row_key, FORBIDDEN_PER_IDENTITY)
    for i in range(len(row_key)):
        same = {j for j in range(25) if key[j] == row_key[i]} - set(owned[owner == i].tolist())
        other = {j for j in range(25) if key[j] != row_key[i]}
        for got, candidates in ((inside[i][inside_drawn[i]], same),
                                (outside[i][outside_drawn[i]], other)):
            assert set(got.tolist()) <= candidates
            assert len(set(got.tolist())) == len(got) == min(FORBIDDEN_PER_IDENTITY,
                                                             len(candidates))
    # One key for everybody: nothing outside it, so no draws at all (and no endless redraw).
    _, drawn = _outside(rng, np.zeros(10, np.int64), np.zeros(10, np.int64), 3)
    assert not drawn.any()


@pytest.mark.parametrize(("profile", "seed", "scale"), [
    ("small", 1, 0.3), ("small", 2, 1.0), ("small", 3, 2.0), ("cps", 1, 0.05),
])
def test_forbidden_ids_break_their_persona_rule(profile: str, seed: int, scale: float) -> None:
    district = generate(load_profile(profile), scale=scale, seed=seed)
    pools = build_userpool(district)
    _check_forbidden(district, pools)
    # With a district this size every identity gets its full set of probes.
    for persona in ("teacher", "student", "clerk"):
        lengths = pc.list_value_length(pools[persona]["forbidden_students"]).to_numpy()
        assert np.all(lengths == FORBIDDEN_PER_IDENTITY), persona
    assert np.all(pc.list_value_length(pools["teacher"]["forbidden_sections"]).to_numpy() == 1)
