"""Rehearsing RosarioSIS end to end, as a district would rehearse its vendor's staging (issue 17):
install and seed the small district, record a persona's pages with the real browser through
the committed script (`sis/rosariosis/record.py`), convert the HAR with `firstbell target
record`, `firstbell target check` it, then check the committed target (`targets/rosariosis`),
run a short day with it (`firstbell run smoke`, the clerk dropped), write the report, and look at
what RosarioSIS does when the declared probes ask for someone else's student. The deactivated
staff account's open session is a probe the target file cannot express (deactivating needs
another session or the database): it is a test here, with the Python API.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import yaml

from fake_data.userpool import load_persona

REPO = Path(__file__).resolve().parents[2]
TARGET = REPO / "targets" / "rosariosis"
pytestmark = pytest.mark.postgres


def run(cwd: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def firstbell(cwd: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return run(cwd, "-m", "firstbell.cli", *args, timeout=timeout)


@dataclass
class Up:
    workdir: Path
    url: str
    state: dict[str, Any]

    @property
    def pool(self) -> Path:
        return Path(self.state["userpool"])

    def db(self) -> psycopg.Connection:
        port = (Path(self.state["pg_root"]) / "port").read_text().strip()
        return psycopg.connect(host="127.0.0.1", port=port, user="postgres",
                               dbname=self.state["database"], autocommit=True)

    def row(self, persona: str, index: int = 0) -> dict[str, Any]:
        return dict(load_persona(self.pool, persona).slice(index, 1).to_pylist()[0])


@pytest.fixture(scope="module")
def up(ros_source: Path) -> Iterator[Up]:
    # PostgreSQL runs as `postgres` and PHP as `www-data`: both must enter the folder.
    workdir = Path(tempfile.mkdtemp(prefix="firstbell-rehearse-ros-"))
    workdir.chmod(0o755)
    try:
        started = firstbell(workdir, "sis", "rosariosis", "up", "--source", str(ros_source),
                            "--profile", "small", "--port", "0")
        assert started.returncode == 0, started.stdout + started.stderr
        state = json.loads((workdir / ".firstbell/rosariosis/state.json").read_text())
        yield Up(workdir, started.stdout.strip().splitlines()[-1], state)
    finally:
        firstbell(workdir, "sis", "rosariosis", "down")
        shutil.rmtree(workdir, ignore_errors=True)


def _requests(persona_yaml: Path) -> list[tuple[str, str, str]]:
    """(method, url, modname) of each request step of a persona, in order."""
    steps = yaml.safe_load(persona_yaml.read_text())["steps"]
    return [(s["request"].get("method", "GET"), s["request"]["url"],
             str(s["request"].get("query", {}).get("modname", ""))) for s in steps
            if "request" in s]


def test_record_convert_check(up: Up) -> None:
    """The committed script records the student with Chromium; the HAR converts into a persona
    that passes `target check` as converted, and walks the committed file's pages."""
    hars = up.workdir / "hars"
    recorded = run(up.workdir, "-m", "sis.rosariosis.record", "--url", up.url, "--userpool",
                   str(up.pool), "--out", str(hars), "--persona", "student", timeout=180)
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    har = hars / "student.har"
    assert hars.stat().st_mode & 0o777 == 0o700 and har.stat().st_mode & 0o777 == 0o600
    me = up.row("student")
    assert me["password"] in har.read_text()   # why it is owner-only and never committed

    into = up.workdir / "converted"
    converted = firstbell(up.workdir, "target", "record", str(har), "--persona", "student",
                          "--plays", "student", "--into", str(into), "--name", "rosariosis")
    assert converted.returncode == 0, converted.stdout + converted.stderr
    assert "Every dynamic-looking value was correlated." in converted.stdout
    written = "".join(p.read_text() for p in into.rglob("*.yaml"))
    assert me["password"] not in written and me["username"] not in written
    assert "{{ user.username }}" in written and "{{ user.password }}" in written
    # The committed persona is this recording plus the hand edits (no page added or lost).
    assert _requests(into / "personas/student.yaml") == \
        _requests(TARGET / "personas/student.yaml")

    checked = firstbell(up.workdir, "target", "check", str(into), "--target", up.url,
                        "--userpool", str(up.pool))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "student: login ok" in checked.stdout and "all steps passed" in checked.stdout


def test_committed_target_checks_and_probes_are_denied(up: Up) -> None:
    """Every persona of targets/rosariosis passes; RosarioSIS refuses each foreign student
    (a 200 page without the student), which the check reports as denied."""
    checked = firstbell(up.workdir, "target", "check", str(TARGET), "--target", up.url,
                        "--userpool", str(up.pool))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    probes = re.findall(r"^probe foreign_student as (\w+) \(student \d+\): (\d+) (\w+)$",
                        checked.stdout, re.M)
    assert sorted(probes) == [("guardian", "200", "denied"), ("student", "200", "denied"),
                              ("teacher", "200", "denied")], checked.stdout


def test_the_probe_marker_shows_on_a_page_the_persona_may_see(up: Up) -> None:
    """The marker (`student_id=<id>`) is a real detector: RosarioSIS's page of the parent's own
    child carries it; the page of another family's student does not."""
    me = up.row("parent")
    with httpx.Client(base_url=up.url, timeout=60) as client:
        client.get("/index.php")
        assert client.post("/index.php", data={"USERNAME": me["username"],
                                               "PASSWORD": me["password"]}).status_code == 302
        own, other = me["children"][0], me["forbidden_students"][0]
        page = "/Modules.php?modname=Students/Student.php&student_id={}"
        assert f"student_id={own}" in client.get(page.format(own)).text
        refused = client.get(page.format(other))
        assert refused.status_code == 200 and f"student_id={other}" not in refused.text


def test_deactivated_staff_session(up: Up) -> None:
    """A teacher logs in and opens a student of their class; the account is then deactivated
    (profile `none`, what RosarioSIS's "No Access" is); the open session asks again. What
    RosarioSIS does: the same session gets a 200 page with an empty menu and no student."""
    me = up.row("teacher", 3)
    student = me["students"][0]
    page = f"/Modules.php?modname=Students/Student.php&student_id={student}"
    with httpx.Client(base_url=up.url, timeout=60) as client, up.db() as db:
        client.get("/index.php")
        assert client.post("/index.php", data={"USERNAME": me["username"],
                                               "PASSWORD": me["password"]}).status_code == 302
        assert f"student_id={student}" in client.get(page).text
        profile = db.execute("SELECT profile, profile_id FROM staff WHERE staff_id = %s",
                             [me["staff_id"]]).fetchone()
        assert profile is not None and profile[0] == "teacher"
        db.execute("UPDATE staff SET profile = 'none', profile_id = NULL WHERE staff_id = %s",
                   [me["staff_id"]])
        try:
            after = client.get(page)
            grades = client.get("/Modules.php?modname=Grades/Grades.php")
        finally:
            db.execute("UPDATE staff SET profile = %s, profile_id = %s WHERE staff_id = %s",
                       [*profile, me["staff_id"]])
    assert after.status_code == 200 and f"student_id={student}" not in after.text
    assert "students were found" not in grades.text
    assert "Modules.php?modname=Grades" not in after.text   # no menu left


def test_short_run_verdict_and_report(up: Up) -> None:
    """A 30-second smoke day with the committed target: a verdict naming the target and what
    was not rehearsed, the probes counted as denied, and a report."""
    ran = firstbell(up.workdir, "run", "smoke", "--profile", "small", "--target", up.url,
                    "--target-spec", str(TARGET), "--userpool", str(up.pool),
                    "--drop-persona", "clerk", timeout=180)
    assert ran.returncode in (0, 3), ran.stdout[-3000:] + ran.stderr[-3000:]
    run_dir = sorted((up.workdir / "runs").glob("*-smoke"))[-1]
    verdict = json.loads((run_dir / "verdict.json").read_text())
    assert verdict["target"] == "rosariosis" and verdict["not_rehearsed"] == ["clerk"]
    assert verdict["verdict"] in ("GO", "NO-GO")
    counters = json.loads((run_dir / "summary.json").read_text())["counters"]
    assert counters.get("probes|foreign_student|denied", 0) > 0
    assert "probes|foreign_student|exposed" not in counters
    # every persona's sessions log in from its RosarioSIS pool (the guardian from `parent`)
    for persona in ("teacher", "student", "guardian"):
        assert counters.get(f"logins|{persona}|ok", 0) > 0, persona
    assert not [k for k in counters if k.endswith("|aborted")], counters

    reported = firstbell(up.workdir, "report", str(run_dir))
    assert reported.returncode == 0, reported.stdout + reported.stderr
    assert (run_dir / "report.html").stat().st_size > 0
