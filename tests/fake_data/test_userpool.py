from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa

from fake_data.district import District
from fake_data.userpool import PERSONAS, build_userpool, load_persona, write_userpool


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
