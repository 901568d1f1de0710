"""RosarioSIS pieces without a web server: option errors, PHP checks, config, the seed's counts."""

from __future__ import annotations

import datetime as dt
import subprocess
import tarfile
from pathlib import Path

import numpy as np
import psycopg
import pyarrow as pa
import pytest

from fake_data.district import generate
from fake_data.profile import load_profile
from firstbell.cli import main
from sis.rosariosis import php, source
from sis.rosariosis.calendar import Calendar, Shift, shift_for, shifted
from sis.rosariosis.seed import seed

PHP_M_WITHOUT_PGSQL_AND_INTL = """[PHP Modules]
calendar
Core
ctype
curl
date
dom
gd
gettext
iconv
json
mbstring
session
SimpleXML
xml
zip

[Zend Modules]
Zend OPcache
"""


def _fake_checkout(folder: Path) -> Path:
    folder.mkdir()
    for name in source.MARKERS:
        (folder / name).write_text("")
    return folder


def test_missing_extensions_are_named_with_their_debian_packages(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fake_run(args: list[str], **_kw: object) -> subprocess.CompletedProcess[str]:
        out = "8.2" if "-r" in args else PHP_M_WITHOUT_PGSQL_AND_INTL
        return subprocess.CompletedProcess(args, 0, out, "")

    monkeypatch.setattr(php.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(php.subprocess, "run", fake_run)
    monkeypatch.chdir(tmp_path)
    code = main(["sis", "rosariosis", "up", "--source", str(_fake_checkout(tmp_path / "ros"))])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2
    assert "pgsql (php8.2-pgsql)" in err and "intl (php8.2-intl)" in err
    assert "apt-get install php8.2-pgsql php8.2-intl" in err
    assert "gd (" not in err  # present ones are not named


def test_missing_php_names_the_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(php.shutil, "which", lambda _name: None)
    with pytest.raises(php.UserError, match=r"php8\.2-cli .*php8\.2-pgsql"):
        php.probe()


@pytest.mark.parametrize("kind", ["missing", "empty-folder", "not-an-archive"])
def test_bad_source_exits_2_naming_it(kind: str, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "rosariosis-src"
    if kind == "empty-folder":
        path.mkdir()
    elif kind == "not-an-archive":
        path.write_text("not a tarball")
    monkeypatch.chdir(tmp_path)
    code = main(["sis", "rosariosis", "up", "--source", str(path)])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2
    assert f"option --source = '{path}'" in err
    assert not (tmp_path / ".firstbell").exists()  # nothing started, nothing written


def test_source_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("FIRSTBELL_ROSARIOSIS_SOURCE", str(tmp_path / "nowhere"))
    monkeypatch.chdir(tmp_path)
    assert main(["sis", "rosariosis", "up"]) == 2
    assert "nowhere" in capsys.readouterr().err


def test_config_sets_the_database_and_adds_the_port_line(ros_source: Path, tmp_path: Path) -> None:
    found = source_of(ros_source)
    with tarfile.open(found.path) as archive:
        member = archive.extractfile(f"{found.top}/config.inc.sample.php")
        assert member is not None
        sample = member.read().decode()
    text = source.render_config(sample, source.DatabaseSettings(
        "127.0.0.1", 5433, "rosariosis", "rosariosis", "pa'ss"), 2018)
    assert "$DatabaseServer = '127.0.0.1';" in text
    assert "$DatabasePassword = 'pa\\'ss';" in text
    assert "$DefaultSyear = '2018';" in text
    lines = text.splitlines()
    name = lines.index("$DatabaseName = 'rosariosis';")
    assert "$DatabasePort = '5433';" in lines[name:name + 3]
    result = subprocess.run(["php", "-l"], input=text, capture_output=True, text=True)
    if result.returncode != 127:
        assert result.returncode == 0, result.stdout + result.stderr


def source_of(path: Path) -> source.Source:
    return source.check_source(path)


def test_unpack_a_tarball_once(ros_source: Path, tmp_path: Path) -> None:
    found = source_of(ros_source)
    app = tmp_path / "app"
    assert source.unpack(found, app) is True
    assert (app / "InstallDatabase.php").is_file() and (app / "rosariosis.sql").is_file()
    assert source.unpack(found, app) is False  # the same source is reused


def test_seed_rows_equal_the_district(ros_source: Path, pg_conn: psycopg.Connection) -> None:
    """The schema as InstallDatabase.php runs it (rosariosis.sql), then the small district."""
    found = source_of(ros_source)
    with tarfile.open(found.path) as archive:
        member = archive.extractfile(f"{found.top}/rosariosis.sql")
        assert member is not None
        pg_conn.execute(member.read().decode())  # type: ignore[call-overload]
    district = generate(load_profile("small"), 0.2, 7)
    n_accounts = district["accounts"].num_rows
    result = seed(pg_conn, district, lambda: pa.array([f"$6$x${i}" for i in range(n_accounts)]))
    d = {name: t.num_rows for name, t in district.tables.items()}
    guardians = district["accounts"].filter(
        pa.compute.equal(district["accounts"]["person_type"].cast(pa.string()), "guardian"))
    active = set(guardians.filter(pa.compute.equal(guardians["status"].cast(pa.string()),
                                                   "active"))["person_id"].to_pylist())
    links = district["guardian_links"].to_pylist()
    expected = {
        "schools": d["schools"], "students": d["students"],
        "student_enrollment": d["students"], "schedule": d["enrollments"],
        "course_periods": d["sections"], "course_period_school_periods": d["sections"],
        "staff": d["staff"] + guardians.num_rows,
        "students_join_users": sum(1 for k in links
                                   if k["portal_access"] and k["guardian_id"] in active),
        "gradebook_assignments": d["sections"] * 2 * len(
            district.profile.calendar.grading_periods),
        "school_marking_periods": d["schools"] * (
            1 + len(district.profile.calendar.semesters)
            + len(district.profile.calendar.grading_periods)),
    }
    for table, rows in expected.items():
        assert result.rows[table] == rows, table
        syear_filter = " WHERE syear = %s" if table in (
            "schools", "student_enrollment", "schedule", "course_periods", "staff",
            "school_marking_periods") else ""
        args = [result.syear] if syear_filter else []
        counted = pg_conn.execute(f"SELECT count(*) FROM {table}{syear_filter}",  # type: ignore[call-overload]
                                  args).fetchone()
        demo = {"students": 1, "students_join_users": 1}.get(table, 0)  # the install's
        assert counted is not None and counted[0] - demo == rows, table
    # the sequences continue after the seeded ids
    for table, column in (("students", "student_id"), ("staff", "staff_id"),
                          ("course_periods", "course_period_id")):
        top = pg_conn.execute(f"SELECT max({column}) FROM {table}").fetchone()  # type: ignore[call-overload]
        nxt = pg_conn.execute(  # type: ignore[call-overload]
            f"SELECT nextval(pg_get_serial_sequence('{table}', '{column}'))").fetchone()
        assert top is not None and nxt is not None and nxt[0] == top[0] + 1, table
    assert np.all(result.student_ids > 1)  # after the install's demo student


# -- the calendar moved around today ------------------------------------------------------
def _is_school_day(cal: object, day: dt.date) -> bool:
    return day.weekday() < 5 and not any(h.start <= day <= h.end
                                         for h in cal.holidays)  # type: ignore[attr-defined]


def test_the_calendar_moves_by_whole_weeks_to_put_today_in_a_quarter() -> None:
    """2026-12-07 (a Monday) lands on the profile's Monday 2018-12-10: 417 weeks later, school
    year 2026-2027, today a school day of quarter 2; the same date gives the same shift."""
    profile = load_profile("small").calendar
    today = dt.date(2026, 12, 7)
    shift = shift_for(profile, today)
    assert shift == Shift(417 * 7, None, today) and shift == shift_for(profile, today)
    moved = shifted(profile, shift)
    assert moved.school_year.start == dt.date(2026, 9, 1)   # a Tuesday, as 2018-09-04 was
    assert moved.school_year.start.weekday() == profile.school_year.start.weekday()
    q2 = moved.grading_periods[1]
    assert q2.start <= today <= q2.end and _is_school_day(moved, today)
    assert shift.retitle("Summer School 2019") == "Summer School 2027"


@pytest.mark.parametrize("today", [dt.date(2027, 7, 15), dt.date(2026, 11, 26),
                                   dt.date(2027, 2, 1), dt.date(2030, 9, 2)])
def test_any_weekday_becomes_a_school_day_inside_a_quarter(today: dt.date) -> None:
    """Summer, a holiday of the moved calendar, any year: today is a school day of a quarter."""
    profile = load_profile("small").calendar
    shift = shift_for(profile, today)
    assert shift.days % 7 == 0 and shift.extra_day is None
    moved = shifted(profile, shift)
    assert any(q.start <= today <= q.end for q in moved.grading_periods)
    assert _is_school_day(moved, today)


def test_a_weekend_day_is_added_as_a_school_day() -> None:
    """On a Saturday no weekly shift makes today a weekday: today joins the attendance
    calendar and the course periods meet on Saturdays ('S'), nothing else changes."""
    district = generate(load_profile("small"), 0.2, 7)
    saturday = dt.date(2026, 12, 12)
    shift = shift_for(district.profile.calendar, saturday)
    assert shift.extra_day == saturday and shift.days % 7 == 0
    cal = Calendar.of(district, shift)
    days = cal.school_days()
    assert saturday in days and [d for d in days if d.weekday() >= 5] == [saturday]
    assert shift.days_letters == "MTWHFS" and "+2026-12-12" in shift.key
    assert any(m[0] == "QTR" and m[3] <= saturday <= m[4] for m in cal.mps)
