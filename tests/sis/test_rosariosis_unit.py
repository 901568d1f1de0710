"""RosarioSIS pieces without a web server: option errors, PHP checks, config, the seed's counts."""

from __future__ import annotations

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
