"""OneRoster CSV import: a generated district exported as OneRoster 1.1 and 1.2 comes back as the
same district, the SIS works on it, and a broken zip is refused with every problem named by file,
row and column while nothing is loaded."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pyarrow.compute as pc
import pytest
from support.sis_server import serve
from support.sisdb import TEST_SETTINGS, new_database, query

from fake_data.district import District, generate
from fake_data.export_oneroster import write_oneroster
from fake_data.profile import load_profile
from fake_data.userpool import load_persona
from kernel.errors import UserError
from staging.app import create_app
from staging.config import Settings
from staging.oneroster_import import (
    Imported,
    read_oneroster,
    seed_import,
    write_import_userpool,
)
from staging.oneroster_problems import MAX_ERRORS
from staging.seed import SeedResult

IMPORT_SEED = 7
CELL_ERROR = re.compile(r"\w+\.csv row \d+ column \w+: value '.*' — \S")


@pytest.fixture(scope="module", params=["1.1", "1.2"])
def imported(request: pytest.FixtureRequest, district: District, postgres_url: str,
             tmp_path_factory: pytest.TempPathFactory
             ) -> tuple[str, Imported, SeedResult, Path]:
    """The small district (seed 42) exported in one OneRoster version, imported into a new
    database; with the imported user pool."""
    folder = tmp_path_factory.mktemp(f"oneroster{request.param}")
    zip_path = write_oneroster(district, folder / "district.zip", request.param)
    result = read_oneroster(zip_path, IMPORT_SEED)
    url = new_database(postgres_url)
    seeded = seed_import(url, result)
    write_import_userpool(result, folder / "pool")
    return url, result, seeded, folder


def _count(url: str, table: str) -> int:
    return int(query(url, f"SELECT count(*) FROM sis.{table}")[0][0])


def test_round_trip_counts_and_rows(imported: tuple[str, Imported, SeedResult, Path],
                                    district: District) -> None:
    url, result, seeded, _ = imported
    assert seeded.seeded and seeded.meta["profile"] == "import:district.zip"
    assert seeded.meta["synthetic"] == "false" and len(seeded.meta["sha256"]) == 64
    for table in ("schools", "academic_sessions", "courses", "students", "staff", "guardians",
                  "sections", "enrollments"):
        assert _count(url, table) == district[table].num_rows, table
    # A custody (no-access) link is not exported, so it does not come back.
    links = district["guardian_links"]
    visible = links.filter(links["portal_access"])
    assert _count(url, "guardian_links") == visible.num_rows
    people = sum(district[t].num_rows for t in ("students", "staff", "guardians"))
    assert _count(url, "accounts") == people  # every OneRoster user has a username
    # Same tables, columns and types as a generated district.
    for name, table in district.tables.items():
        assert result.district[name].schema.remove_metadata() == table.schema.remove_metadata()

    students = district["students"].to_pylist()
    for s in students[::997]:
        row = query(url, "SELECT st.student_number, st.first_name, st.last_name, st.grade,"
                         " st.school_id, st.birth_date, st.sex, st.race, a.username"
                         " FROM sis.students st JOIN sis.accounts a ON a.person_type = 'student'"
                         " AND a.person_id = st.student_id WHERE st.student_id = %s",
                    [s["student_id"]])
        assert row == [(s["student_number"], s["first_name"], s["last_name"], s["grade"],
                        s["school_id"], s["birth_date"], s["sex"], s["race"],
                        f"{s['student_number']}@students.example.org")]
    for s in district["staff"].to_pylist()[::101]:
        assert query(url, "SELECT first_name, last_name, email, employee_number, school_id"
                          " FROM sis.staff WHERE staff_id = %s", [s["staff_id"]]) == [
            (s["first_name"], s["last_name"], s["email"], s["employee_number"], s["school_id"])]
    for g in district["guardians"].to_pylist()[::701]:
        assert query(url, "SELECT first_name, last_name, email, phone FROM sis.guardians"
                          " WHERE guardian_id = %s", [g["guardian_id"]]) == [
            (g["first_name"], g["last_name"], g["email"], g["phone"])]

    # A class's roster, its teacher and period; a guardian's children.
    section = district["sections"].to_pylist()[400]
    roster = district["enrollments"].filter(
        pc.equal(district["enrollments"]["section_id"], section["section_id"]))
    assert [r[0] for r in query(url, "SELECT student_id FROM sis.enrollments WHERE section_id ="
                                     " %s ORDER BY 1", [section["section_id"]])] == sorted(
        roster["student_id"].to_pylist())
    assert query(url, "SELECT teacher_id, period, room, class_type, enrolled, capacity"
                      " FROM sis.sections WHERE section_id = %s", [section["section_id"]]) == [
        (section["teacher_id"], section["period"], section["room"], section["class_type"],
         section["enrolled"], max(section["enrolled"], 35))]
    family = visible.filter(pc.equal(visible["guardian_id"], 10))
    assert [r[0] for r in query(url, "SELECT student_id FROM sis.guardian_links"
                                     " WHERE guardian_id = 10 ORDER BY 1")] == sorted(
        family["student_id"].to_pylist())

    # The district's own ids stay reachable, for a REST API that serves them.
    assert query(url, "SELECT kind, id FROM sis.oneroster_ids WHERE sourced_id = 'stu-000123'"
                      " OR sourced_id = 'cls-000042' ORDER BY kind") == [
        ("class", 42), ("student", 123)]
    assert _count(url, "oneroster_ids") == seeded.rows["oneroster_ids"]
    comment = query(url, "SELECT obj_description('sis.students'::regclass)")[0][0]
    assert "NOT synthetic" in comment


def test_households_are_families_sharing_a_guardian(
        imported: tuple[str, Imported, SeedResult, Path], district: District) -> None:
    """Siblings share a household: every imported household is (part of) a generated one."""
    url, _, _, _ = imported
    generated = dict(zip(district["students"]["student_id"].to_pylist(),
                         district["students"]["household_id"].to_pylist(), strict=True))
    groups: dict[int, set[int]] = {}
    for student, household in query(url, "SELECT student_id, household_id FROM sis.students"):
        groups.setdefault(household, set()).add(generated[student])
    assert all(len(g) == 1 for g in groups.values())
    assert len(groups) == len(set(generated.values()))  # and no family was split


def test_the_sis_works_on_the_imported_district(
        imported: tuple[str, Imported, SeedResult, Path], district: District) -> None:
    url, result, _, folder = imported
    manifest = json.loads((folder / "pool" / "manifest.json").read_text())
    assert manifest["synthetic"] is False and manifest["sha256"] == result.sha256
    teacher = load_persona(folder / "pool", "teacher").to_pylist()[3]
    guardian = load_persona(folder / "pool", "guardian").to_pylist()[5]
    with serve(create_app(Settings(**TEST_SETTINGS), url)) as base, \
            httpx.Client(base_url=base, timeout=30) as client:
        for who in (teacher, guardian):
            r = client.post("/api/auth/login", json={"username": who["username"],
                                                     "password": who["password"]})
            assert r.status_code == 200, r.text
            client.headers["Authorization"] = f"Bearer {r.json()['token']}"
            if who is teacher:
                mine = client.get("/api/gradebook/sections").json()["sections"]
                assert sorted(s["section_id"] for s in mine) == sorted(teacher["sections"])
                section = mine[0]["section_id"]
                roster = client.get(f"/api/gradebook/sections/{section}/roster")
                assert roster.status_code == 200
                e = district["enrollments"]
                assert sorted(s["student_id"] for s in roster.json()["students"]) == sorted(
                    e.filter(pc.equal(e["section_id"], section))["student_id"].to_pylist())
                other = teacher["forbidden_sections"][0]
                assert client.get(f"/api/gradebook/sections/{other}/roster").status_code == 404
            else:
                home = client.get("/api/portal/home").json()
                assert sorted(s["student_id"] for s in home["students"]) == sorted(
                    guardian["children"])


def test_importing_again_reuses_and_another_file_needs_reset(
        imported: tuple[str, Imported, SeedResult, Path], district: District) -> None:
    url, result, _, folder = imported
    assert not seed_import(url, result).seeded
    other = read_oneroster(write_oneroster(district, folder / "again.zip", result.version),
                           IMPORT_SEED + 1)
    with pytest.raises(UserError, match=r"seeded with the district imported from district\.zip"):
        seed_import(url, other)


# --- broken zips ---------------------------------------------------------------------------------

Files = dict[str, list[list[str]]]


@pytest.fixture(scope="module")
def tiny() -> District:
    return generate(load_profile("small"), 0.01, 5)


def _files(tiny: District, tmp: Path, version: str) -> Files:
    zip_path = write_oneroster(tiny, tmp / f"tiny{version}.zip", version)  # type: ignore[arg-type]
    with zipfile.ZipFile(zip_path) as zf:
        return {name.removesuffix(".csv"): list(csv.reader(io.TextIOWrapper(
            zf.open(name), encoding="utf-8", newline=""))) for name in zf.namelist()}


def _zip(files: Files, path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, rows in files.items():
            out = io.StringIO()
            csv.writer(out, lineterminator="\r\n").writerows(rows)
            zf.writestr(f"{name}.csv", out.getvalue())
    return path


def _set(files: Files, file: str, row: int, column: str, value: str) -> None:
    """Set a cell; rows are numbered as a spreadsheet shows them (the header is row 1)."""
    files[file][row - 1][files[file][0].index(column)] = value


def _manifest_row(files: Files, prop: str) -> int:
    return next(i for i, r in enumerate(files["manifest"], start=1) if r[0] == prop)


Breaker = Callable[[Files], None]
CASES: dict[str, tuple[str, Breaker, list[str]]] = {
    "unknown column": ("1.1", lambda f: f["users"][0].__setitem__(5, "rol"), [
        "users.csv row 1 column rol: not a column of users.csv in OneRoster 1.1",
        "users.csv row 1 column role: required column missing"]),
    "1.1 files under a 1.2 manifest": ("1.1", lambda f: _set(
        f, "manifest", _manifest_row(f, "oneroster.version"), "value", "1.2"), [
        "users.csv row 1 column orgSourcedIds: not a column of users.csv in OneRoster 1.2 (it is"
        " a OneRoster 1.1 column: check oneroster.version in manifest.csv)"]),
    "bad enumeration": ("1.1", lambda f: _set(f, "users", 3, "role", "teachr"), [
        "users.csv row 3 column role: value 'teachr' — not a OneRoster 1.1 users.role value"]),
    "bad 1.2 role": ("1.2", lambda f: _set(f, "roles", 2, "role", "administrator"), [
        "roles.csv row 2 column role: value 'administrator' — not a OneRoster 1.2 roles.role"]),
    "bad class type": ("1.2", lambda f: _set(f, "classes", 4, "classType", "online"), [
        "classes.csv row 4 column classType: value 'online' — not a OneRoster 1.2"]),
    "dangling reference": ("1.1", lambda f: _set(
        f, "enrollments", 3, "classSourcedId", "cls-999999"), [
        "enrollments.csv row 3 column classSourcedId: value 'cls-999999' — no classes.csv "
        "record has this sourcedId"]),
    "dangling agent": ("1.2", lambda f: _set(f, "users", 2, "agentSourcedIds", "gdn-000001,x"), [
        "users.csv row 2 column agentSourcedIds: value 'x' — no users.csv record"]),
    "duplicate sourcedId": ("1.1", lambda f: _set(f, "users", 4, "sourcedId", f["users"][2][0]), [
        "users.csv row 4 column sourcedId: value 'stu-000002' — already used by row 3"]),
    "duplicate username": ("1.2", lambda f: _set(f, "users", 5, "username", f["users"][1][4]), [
        "users.csv row 5 column username: value '50000001@students.example.org' — already the "
        "username of row 2"]),
    "bad date": ("1.1", lambda f: _set(f, "academicSessions", 2, "startDate", "09/04/2018"), [
        "academicSessions.csv row 2 column startDate: value '09/04/2018' — not a date; write "
        "dates as YYYY-MM-DD"]),
    "bad birth date": ("1.2", lambda f: _set(f, "demographics", 6, "birthDate", "2010-02-30"), [
        "demographics.csv row 6 column birthDate: value '2010-02-30' — not a date"]),
    "student enrolled as a teacher": ("1.1", lambda f: _set(f, "enrollments", 2, "role",
                                                             "teacher"), [
        "enrollments.csv row 2 column userSourcedId: value 'stu-000001' — enrolled as teacher "
        "but the user is a student"]),
    "missing manifest": ("1.1", lambda f: f.pop("manifest"), ["manifest.csv: not in the zip"]),
    "unknown version": ("1.1", lambda f: _set(
        f, "manifest", _manifest_row(f, "oneroster.version"), "value", "1.0"), [
        "manifest.csv row 3 column value: value '1.0' — not a oneroster.version"]),
    "bulk file missing": ("1.2", lambda f: f.pop("classes"), [
        "manifest.csv row 6 column value: value 'bulk' — file.classes is bulk but the zip has no "
        "classes.csv"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_broken_zip_names_file_row_and_column(case: str, tiny: District,
                                                tmp_path: Path) -> None:
    version, breaker, expected = CASES[case]
    files = _files(tiny, tmp_path, version)
    assert read_oneroster(_zip(files, tmp_path / "valid.zip")).district["students"].num_rows
    breaker(files)
    with pytest.raises(UserError) as caught:
        read_oneroster(_zip(files, tmp_path / "broken.zip"))
    message = str(caught.value)
    assert message.startswith("broken.zip: ") and "nothing was loaded" in message
    for text in expected:
        assert text in message, message
    listed = [line.strip() for line in message.splitlines()[1:-1] if "more" not in line]
    assert listed and all(CELL_ERROR.match(line) or re.match(r"\w+\.csv( row 1 column \w+)?: ",
                                                             line) for line in listed), listed


def test_nothing_is_loaded_and_a_previous_district_stays(tiny: District, tmp_path: Path,
                                                         postgres_url: str) -> None:
    files = _files(tiny, tmp_path, "1.2")
    url = new_database(postgres_url)
    good = read_oneroster(_zip(files, tmp_path / "good.zip"))
    _set(files, "roles", 2, "roleType", "main")
    with pytest.raises(UserError, match=r"roles\.csv row 2 column roleType"):
        seed_import(url, read_oneroster(_zip(files, tmp_path / "bad.zip")))
    assert query(url, "SELECT to_regnamespace('sis')") == [(None,)]
    seed_import(url, good)
    with pytest.raises(UserError):
        seed_import(url, read_oneroster(_zip(files, tmp_path / "bad.zip")), reset=True)
    assert _count(url, "students") == tiny["students"].num_rows


def test_many_errors_are_capped_with_a_count(tiny: District, tmp_path: Path) -> None:
    files = _files(tiny, tmp_path, "1.1")
    rows = len(files["enrollments"]) - 1
    for n in range(2, rows + 2):
        _set(files, "enrollments", n, "beginDate", "soon")
    with pytest.raises(UserError) as caught:
        read_oneroster(_zip(files, tmp_path / "many.zip"))
    message = str(caught.value)
    assert f"{rows} problems" in message and f"… and {rows - MAX_ERRORS} more" in message
    assert message.count("column beginDate: value 'soon'") == MAX_ERRORS


def test_not_a_zip(tmp_path: Path) -> None:
    bogus = tmp_path / "export.zip"
    bogus.write_text("sourcedId,name\n")
    with pytest.raises(UserError, match=r"export\.zip: not a zip file"):
        read_oneroster(bogus)
    with pytest.raises(UserError, match="cannot read it"):
        read_oneroster(tmp_path / "missing.zip")


# --- the command ---------------------------------------------------------------------------------

def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "firstbell.cli", "staging", "import", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=180,
                          env={**os.environ, "COLUMNS": "200"})


@pytest.fixture
def cli_db(postgres_url: str) -> Iterator[str]:
    yield new_database(postgres_url)


def test_cli_imports_and_writes_the_user_pool(tiny: District, tmp_path: Path,
                                              cli_db: str) -> None:
    zip_path = write_oneroster(tiny, tmp_path / "tiny.zip", "1.1")
    done = _cli(tmp_path, str(zip_path), "--database-url", cli_db, "--seed", "3",
                "--userpool-out", str(tmp_path / "pool"))
    assert done.returncode == 0, done.stderr
    assert re.search(rf"students\s+{tiny['students'].num_rows}\b", done.stdout)
    assert "oneroster_ids" in done.stdout and "User pool in" in done.stdout
    teacher = load_persona(tmp_path / "pool", "teacher").to_pylist()[0]
    assert query(cli_db, "SELECT role FROM sis.accounts WHERE username = %s",
                 [teacher["username"]]) == [("teacher",)]
    again = _cli(tmp_path, str(zip_path), "--database-url", cli_db, "--seed", "3")
    assert again.returncode == 0 and "reused" in again.stdout


def test_cli_refuses_a_broken_zip_with_exit_2(tiny: District, tmp_path: Path,
                                              cli_db: str) -> None:
    files = _files(tiny, tmp_path, "1.1")
    _set(files, "classes", 2, "classType", "lecture")
    broken = _zip(files, tmp_path / "broken.zip")
    done = _cli(tmp_path, str(broken), "--database-url", cli_db)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "classes.csv row 2 column classType: value 'lecture'" in done.stderr
    with psycopg.connect(cli_db) as conn:
        assert conn.execute("SELECT to_regnamespace('sis')").fetchone() == (None,)
    (tmp_path / "plain.zip").write_text("not a zip")
    done = _cli(tmp_path, "plain.zip", "--database-url", cli_db)
    assert done.returncode == 2 and "not a zip file" in done.stderr
    assert "Traceback" not in done.stderr
    nowhere = _cli(tmp_path, str(broken))  # no --database-url and nothing running here
    assert nowhere.returncode == 2 and "no staging SIS is running" in nowhere.stderr
