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


def _now(up: Up) -> Any:
    with up.db() as db:
        row = db.execute("SELECT clock_timestamp()::timestamp").fetchone()
    assert row is not None
    return row[0]


def _written(up: Up, since: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Today's attendance and the gradebook's grades RosarioSIS wrote (or rewrote) since."""
    new = "coalesce({0}.updated_at, {0}.created_at) >= %(since)s"
    with up.db() as db:
        return {
            "completed": db.execute(
                "SELECT staff_id, period_id FROM attendance_completed c WHERE"
                f" school_date = CURRENT_DATE AND {new.format('c')}", {"since": since}).fetchall(),
            "attendance": db.execute(
                "SELECT a.student_id, a.course_period_id, c.state_code"
                " FROM attendance_period a JOIN attendance_codes c ON c.id = a.attendance_code"
                f" WHERE a.school_date = CURRENT_DATE AND {new.format('a')}",
                {"since": since}).fetchall(),
            "grades": db.execute(
                "SELECT g.student_id, g.course_period_id, g.points, a.staff_id"
                " FROM gradebook_grades g JOIN gradebook_assignments a USING (assignment_id)"
                f" WHERE {new.format('g')}", {"since": since}).fetchall(),
        }


def _class(up: Up, course_period: int) -> set[int]:
    """The students scheduled in a course period today."""
    with up.db() as db:
        return {r[0] for r in db.execute(
            "SELECT student_id FROM schedule WHERE course_period_id = %s"
            " AND start_date <= CURRENT_DATE AND (end_date IS NULL OR end_date >= CURRENT_DATE)",
            [course_period]).fetchall()}


def test_record_convert_check(up: Up) -> None:
    """The committed script records the student and the teacher with Chromium. The teacher
    takes today's attendance (the first student absent) and enters a grade, and RosarioSIS
    stores both; the student's HAR converts into a persona that passes `target check` as
    converted; both conversions walk the committed file's pages."""
    hars = up.workdir / "hars"
    since = _now(up)
    recorded = run(up.workdir, "-m", "sis.rosariosis.record", "--url", up.url, "--userpool",
                   str(up.pool), "--out", str(hars), "--persona", "student", "--persona",
                   "teacher", timeout=180)
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    teacher = up.row("teacher")
    stored = _written(up, since)
    assert [staff for staff, _ in stored["completed"]] == [teacher["staff_id"]]
    taken = stored["attendance"]
    periods = {cp for _, cp, _ in taken}
    assert len(periods) == 1 and periods <= set(teacher["course_periods"])
    assert {s for s, _, _ in taken} == _class(up, periods.pop())
    assert sorted(code for _, _, code in taken).count("A") == 1   # the first student absent
    (student, course_period, points, staff), = stored["grades"]
    assert (staff, float(points)) == (teacher["staff_id"], 8.0)
    assert course_period in teacher["course_periods"] and student in teacher["students"]
    entries = json.loads((hars / "teacher.har").read_text())["log"]["entries"]
    posts = [(e["request"]["url"], e["response"]["status"]) for e in entries
             if e["request"]["method"] == "POST" and "Modules.php" in e["request"]["url"]]
    assert [("TakeAttendance" in u, "Grades.php" in u, st) for u, st in posts] == \
        [(True, False, 200), (False, True, 200)]
    teacher_into = up.workdir / "converted-teacher"
    converted = firstbell(up.workdir, "target", "record", str(hars / "teacher.har"),
                          "--persona", "teacher", "--plays", "teacher", "--into",
                          str(teacher_into), "--name", "rosariosis")
    assert converted.returncode == 0, converted.stdout + converted.stderr
    assert _requests(teacher_into / "personas/teacher.yaml") == \
        _requests(TARGET / "personas/teacher.yaml")
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
    since = _now(up)
    checked = firstbell(up.workdir, "target", "check", str(TARGET), "--target", up.url,
                        "--userpool", str(up.pool))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    for step in ("post_modules", "post_modules_2"):   # the attendance and the grade posts
        assert re.search(rf"^ok   teacher {step}: POST /Modules.php -> 200", checked.stdout,
                         re.M), checked.stdout
    written = _written(up, since)
    taken = written["attendance"]
    periods = {cp for _, cp, _ in taken}
    assert len(periods) == 1
    period = periods.pop()
    assert {s for s, _, _ in taken} == _class(up, period)   # the whole class, stored
    assert {code for _, _, code in taken} == {"P"}   # the form as it comes: all present
    (student, course_period, points, grader), = written["grades"]
    assert float(points) == 8.0 and student in _class(up, course_period)
    with up.db() as db:
        teacher = db.execute("SELECT teacher_id FROM course_periods WHERE course_period_id = %s",
                             [period]).fetchone()
        completed = db.execute("SELECT count(*) FROM attendance_completed WHERE staff_id = %s"
                               " AND school_date = CURRENT_DATE", [grader]).fetchone()
    assert teacher == (grader,) and completed == (1,)
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
    since = _now(up)
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
    # the teachers' attendance and grade posts succeeded, and RosarioSIS stored them
    for metric in ("attendance.save_attendance", "gradebook.save_grades"):
        assert counters.get(f"requests|teacher|{metric}|POST|2xx", 0) > 0, metric
        assert f"checks_failed|teacher|{metric}" not in counters, counters
    written = _written(up, since)
    assert written["attendance"] and {c for _, _, c in written["attendance"]} == {"P"}
    assert written["grades"] and {float(p) for _, _, p, _ in written["grades"]} == {8.0}

    reported = firstbell(up.workdir, "report", str(run_dir))
    assert reported.returncode == 0, reported.stdout + reported.stderr
    assert (run_dir / "report.html").stat().st_size > 0
