"""End to end on the small district: `sis rosariosis up` (the CLI, in its own process), `status`,
real logins over HTTP as a seeded teacher, parent and student with the user pool's passwords,
what each sees, then `down` leaves no process behind."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import psycopg
import pyarrow.compute as pc
import pytest

from fake_data.userpool import load_persona

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.postgres


def firstbell(cwd: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "firstbell.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


@dataclass
class Running:
    workdir: Path
    url: str
    state: dict[str, Any]
    up: subprocess.CompletedProcess[str]

    @property
    def pool(self) -> Path:
        return Path(self.state["userpool"])

    def db(self) -> psycopg.Connection:
        port = (Path(self.state["pg_root"]) / "port").read_text().strip()
        return psycopg.connect(host="127.0.0.1", port=port, user="postgres",
                               dbname=self.state["database"], autocommit=True)


@pytest.fixture(scope="module")
def running(ros_source: Path) -> Iterator[Running]:
    # PostgreSQL runs as `postgres` and PHP as `www-data`: both must enter the folder.
    workdir = Path(tempfile.mkdtemp(prefix="firstbell-ros-"))
    workdir.chmod(0o755)
    try:
        up = firstbell(workdir, "sis", "rosariosis", "up", "--source", str(ros_source),
                       "--profile", "small", "--port", "0")
        assert up.returncode == 0, up.stdout + up.stderr
        state = json.loads((workdir / ".firstbell/rosariosis/state.json").read_text())
        yield Running(workdir, up.stdout.strip().splitlines()[-1], state, up)
    finally:
        firstbell(workdir, "sis", "rosariosis", "down")
        shutil.rmtree(workdir, ignore_errors=True)


def post_login(client: httpx.Client, username: str, password: str) -> httpx.Response:
    client.get("/index.php")  # the session cookie the login form comes with
    return client.post("/index.php", data={"USERNAME": username, "PASSWORD": password})


@contextmanager
def login(url: str, username: str, password: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=60, follow_redirects=False) as client:
        answer = post_login(client, username, password)
        assert answer.status_code == 302, answer.text[:500]
        assert "RosarioSIS" in client.cookies  # the PHP session
        target = answer.headers["location"]
        if "modfunc=first-login" in target:  # seeded accounts are not sent there
            pytest.fail(f"{username} was sent to the first-login form")
        page = client.get("/" + target.lstrip("/"))
        assert page.status_code == 200 and "Modules.php" in target
        yield client


def options(html: str, name: str) -> list[str]:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select, f"no {name} menu"
    return re.findall(r'<option value="([^"]*)"', select.group(1))


def test_up_seeded_and_served(running: Running) -> None:
    assert running.url.startswith("http://127.0.0.1:")
    assert running.state["server"] in ("php-fpm+nginx", "php-builtin")
    assert f"Served by {running.state['server']}" in running.up.stderr
    pool = running.pool
    assert pool.stat().st_mode & 0o777 == 0o700
    for persona in ("teacher", "parent", "student", "admin", "inactive"):
        assert (pool / f"{persona}.arrow").stat().st_mode & 0o777 == 0o600
    manifest = json.loads((pool / "manifest.json").read_text())
    assert manifest["sis"] == "rosariosis" and manifest["identities"]["teacher"] > 0


def test_status_says_it_answers(running: Running) -> None:
    status = firstbell(running.workdir, "sis", "rosariosis", "status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert running.url in status.stdout and "answers" in status.stdout
    assert "embedded PostgreSQL: running" in status.stdout


def test_teacher_sees_their_course_periods(running: Running) -> None:
    teachers = load_persona(running.pool, "teacher")
    busiest = pc.index(pc.list_value_length(teachers["course_periods"]),
                       pc.max(pc.list_value_length(teachers["course_periods"]))).as_py()
    me = teachers.slice(busiest, 1).to_pylist()[0]
    assert len(me["course_periods"]) > 1
    with login(running.url, me["username"], me["password"]) as client:
        side = client.get("/Side.php").text
        assert sorted(int(v) for v in options(side, "period")) == sorted(me["course_periods"])
    with running.db() as conn:
        row = conn.execute("SELECT profile FROM staff WHERE staff_id = %s",
                           [me["staff_id"]]).fetchone()
    assert row == ("teacher",)


def test_parent_sees_their_children(running: Running) -> None:
    parents = load_persona(running.pool, "parent")
    most = pc.index(pc.list_value_length(parents["children"]),
                    pc.max(pc.list_value_length(parents["children"]))).as_py()
    me = parents.slice(most, 1).to_pylist()[0]
    assert len(me["children"]) > 1
    with login(running.url, me["username"], me["password"]) as client:
        side = client.get("/Side.php").text
        assert sorted(int(v) for v in options(side, "student_id")) == sorted(me["children"])
        assert not set(me["forbidden_students"]) & {int(v) for v in
                                                    options(side, "student_id")}


def test_student_sees_their_own_portal(running: Running) -> None:
    me = load_persona(running.pool, "student").slice(0, 1).to_pylist()[0]
    with running.db() as conn:
        row = conn.execute("SELECT first_name, last_name FROM students WHERE student_id = %s",
                           [me["student_id"]]).fetchone()
    assert row is not None
    with login(running.url, me["username"], me["password"]) as client:
        side = client.get("/Side.php").text
        assert f"{row[0]} {row[1]}" in side
        assert 'name="period"' not in side and 'name="student_id"' not in side


def test_inactive_accounts_are_refused(running: Running) -> None:
    inactive = load_persona(running.pool, "inactive").to_pylist()
    for kind in ("terminated_staff", "unactivated_parent"):
        me = next(r for r in inactive if r["kind"] == kind)
        with httpx.Client(base_url=running.url, timeout=60) as client:
            answer = post_login(client, me["username"], me["password"])
        assert answer.status_code == 200 and "not yet been activated" in answer.text, kind


def test_down_leaves_no_process(running: Running) -> None:
    pids = dict(running.state["pids"])
    down = firstbell(running.workdir, "sis", "rosariosis", "down")
    assert down.returncode == 0, down.stderr
    assert "embedded PostgreSQL" in down.stdout
    for pid in pids.values():
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"
    where = str(running.workdir)
    left = [p.info for p in psutil.process_iter(["pid", "cmdline"])
            if where in " ".join(p.info["cmdline"] or [])]
    assert left == []
    status = firstbell(running.workdir, "sis", "rosariosis", "status")
    assert status.returncode == 1 and "Not running" in status.stdout
