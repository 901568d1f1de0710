"""End to end with a real browser: Playwright and Debian's Chromium record user A's visit of
the family portal (`support.webapp`), `firstbell target record` converts it, `firstbell target
check` passes as user B, and a real Locust run replays it at a few sessions per second as the
vendor test accounts of a CSV pool (every identity but A's), with no error; each session sees
its own students only. Then the same with a CSRF token that rotates on every page. A declared
IDOR probe catches the vulnerable portal (exit 4, the exposure names what was asked, never
the payload) and stays silent on the safe one. No recorded secret (A's password, a session
cookie) is written anywhere or printed."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rec_helpers import all_text
from support.locust_run import RunResult, environment, run_locust
from support.recorder import RecordFn
from support.webapp import STUDENTS, USERS, Portal

from firstbell.cli import main
from recordings.har import load

ADA = "ada.parent@example.org"          # records the visit
BO = "bo.parent@example.org"            # `target check` logs in as Bo (first row of the pool)
POOL = [u for u in USERS if u != ADA]   # the replay's vendor test accounts
STUDENT_PAGE = re.compile(r"^/(?:api/)?students/(\d+)")

# What the test adds to the converted target: the vendor accounts as a CSV pool (with a column
# naming a student of another family, for the probe), an IDOR probe, and an anonymous probe
# whose denial is a redirect to the login page (a custom denied status).
POOL_YAML = """
pool:
  csv: accounts.csv
  columns: {username: email, password: password, forbidden: other_family_student}
"""
PROBES_YAML = """
probes:
  foreign_student:
    as: guardian
    other: {values: "{{ user.forbidden }}"}
    request: {url: "/students/{{ other.value }}"}
    metric: portal.foreign_student
    asked: "student {{ other.value }}"
  anonymous_student:
    as: guardian
    other: {values: "{{ user.forbidden }}"}
    request: {url: "/students/{{ other.value }}", session: none}
    metric: portal.anonymous_student
    denied: {status: [302]}
"""


def _other_family_student(user: str) -> int:
    """A student of the next family in the list (never the user's own)."""
    users = list(USERS)
    return USERS[users[(users.index(user) + 1) % len(users)]].students[0]


def convert(portal: Portal, record_har: RecordFn, folder: Path,
            capsys: pytest.CaptureFixture[str]) -> tuple[set[str], str]:
    """Record Ada's visit, convert it, add the pool and the probes: (the recorded secrets,
    what the command printed)."""
    har = record_har(ADA, USERS[ADA].password)
    recorded = load(har)
    cookies = {v for e in recorded for _, v in e.request_cookies() + e.set_cookies()
               if len(v.strip('"')) >= 8}   # not a deleted cookie's ""
    assert cookies
    assert main(["target", "record", str(har), "--persona", "guardian", "--into", str(folder),
                 "--password", USERS[ADA].password]) == 0
    printed = capsys.readouterr()
    har.unlink()   # as the guide says: the HAR holds the live session
    with (folder / "personas" / "guardian.yaml").open("a") as f:
        f.write(POOL_YAML)
    with (folder / "target.yaml").open("a") as f:
        f.write(PROBES_YAML)
    with (folder / "accounts.csv").open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["email", "password", "other_family_student"])
        for user in POOL:
            out.writerow([user, USERS[user].password, _other_family_student(user)])
    return {USERS[ADA].password, *cookies}, printed.out + printed.err


def check(folder: Path, portal: Portal, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["target", "check", str(folder), "--target", portal.url])
    printed = capsys.readouterr()
    return code, printed.out + printed.err


def replay(folder: Path, portal: Portal, run_dir: Path, duration: int = 12) -> RunResult:
    """A real Locust run of the target file: 3 guardian sessions a second, every session
    running the probes."""
    return run_locust(portal.url, run_dir, "--target-spec", str(folder), "--rate",
                      "guardian=3", "--duration", str(duration), "--drain", "10",
                      "--probe-rate", "1", timeout=120)


SCENARIO = """
name: portal-replay
title: The family portal's guardians (5 seconds)
rehearses: Guardians signing in to the family portal, every session probing.
phase: steady_state
day: "07:45-07:50"
resolution: 1m
speed: 60
peak_rate: 3
plan: {drain_seconds: 10}
assumptions:
  probe.rate: {value: 1.0, unit: share of sessions per eligible probe, source: "[E] all"}
activities:
  - name: guardians
    persona: guardian
    population: guardians
    factors: [portal.activation, guardian.login_share]
    windows: [{from: "07:45", to: "07:50"}]
"""


def run_day(folder: Path, portal: Portal, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """`firstbell run` of a 5-second day with the target file; the CSV pool is its only
    pool (no --userpool)."""
    scenario = tmp_path / "portal-replay.yaml"
    scenario.write_text(SCENARIO)
    return subprocess.run(
        [sys.executable, "-m", "firstbell.cli", "run", str(scenario), "--profile", "small",
         "--target", portal.url, "--target-spec", str(folder), "--out",
         str(tmp_path / "day"), "--exporter-port", "-1"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env=environment())


def own_students_only(portal: Portal) -> dict[str, set[int]]:
    """Every student page or grades call answered for a signed-in user was one of that user's
    students (or a probe's refusal); the students each user saw."""
    saw: dict[str, set[int]] = {}
    for user, _, path, status in portal.seen:
        m = STUDENT_PAGE.match(path)
        if user is None or m is None:
            continue
        student = int(m.group(1))
        if student in USERS[user].students:
            saw.setdefault(user, set()).add(student)
        else:
            assert status == 404, (user, path, status)   # the probe, refused
    return saw


def no_errors(run: RunResult) -> dict[str, int]:
    """The run's summary shows no error: no failed check, every request 2xx or 3xx (the IDOR
    probe's refusal a 404), no exposure, every session completed; its request counts."""
    summary = run.summary
    counters: dict[str, int] = summary["counters"]
    assert not [k for k in counters if k.startswith(("checks_failed|", "dropped"))], counters
    classes = {k.rsplit("|", 1)[1] for k in counters if k.startswith("requests|")
               and "|portal.foreign_student|" not in k}
    assert classes <= {"2xx", "3xx"}, counters
    assert summary["exposures"] == 0 and summary["partial"] is False
    arrivals = summary["arrivals"]["guardian"]
    assert arrivals["started"] == arrivals["completed"] >= 20, arrivals
    assert run.json("verdict.json")["exit_code"] == 0
    assert re.search(r"Aggregated\s+\d+\s+0\(0\.00%\)", run.output), run.output[-2000:]
    return {"sessions": arrivals["completed"], "requests": summary["requests"],
            "logins": counters.get("logins|guardian|ok", 0)}


def secrets_absent(secrets: set[str], *texts: str) -> None:
    for secret in secrets:
        for t in texts:
            assert secret not in t


def run_text(run_dir: Path) -> str:
    return "\n".join(p.read_bytes().decode("utf-8", "replace")
                     for p in sorted(run_dir.rglob("*")) if p.is_file())


@pytest.mark.parametrize("rotate", [False, True], ids=["steady-csrf", "rotating-csrf"])
def test_record_check_replay(portal: Portal, record_har: RecordFn, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str], rotate: bool) -> None:
    portal.rotate_csrf = rotate
    folder = tmp_path / "portal"
    secrets, recorded_out = convert(portal, record_har, folder, capsys)

    portal.seen.clear()
    code, check_out = check(folder, portal, capsys)
    assert code == 0, check_out
    assert set(own_students_only(portal)) == {BO}   # another identity than the recorded one
    foreign, anonymous = _other_family_student(BO), _other_family_student(BO)
    assert f"probe foreign_student as guardian (student {foreign}): 404 denied" in check_out
    assert f"probe anonymous_student as guardian ({anonymous}): 302 denied" in check_out

    portal.seen.clear()
    run = replay(folder, portal, tmp_path / "run")
    assert run.returncode == 0, run.output[-3000:]
    measured = no_errors(run)
    counters = run.summary["counters"]
    # The probes ran and were refused: a 404 for another family's child, a redirect to the
    # login page (the probe's own denied status) for an anonymous visitor.
    assert counters["probes|foreign_student|denied"] == measured["sessions"]
    assert counters["probes|anonymous_student|denied"] == measured["sessions"]
    assert not [k for k in counters if k.endswith(("|inconclusive", "|exposed"))]
    saw = own_students_only(portal)
    assert ADA not in saw and len(saw) >= 4, saw   # the pool's identities, each its own
    print(f"\nreplay rotate_csrf={rotate}: {measured}, identities {len(saw)}")
    secrets_absent(secrets, all_text(folder), recorded_out, check_out, run.output,
                   run_text(run.run_dir))
    # nor the pool's passwords (they stay in accounts.csv)
    secrets_absent({USERS[u].password for u in POOL}, check_out, run.output,
                   run_text(run.run_dir))


def test_idor_probe(portal: Portal, record_har: RecordFn, tmp_path: Path,
                    capsys: pytest.CaptureFixture[str]) -> None:
    """The declared probe is silent on the safe portal and catches the vulnerable one, in
    `target check` (exit 4) and under load (exit 4, the exposure names what was asked)."""
    folder = tmp_path / "portal"
    secrets, _ = convert(portal, record_har, folder, capsys)
    code, out = check(folder, portal, capsys)
    assert code == 0, out

    portal.idor_vulnerable = True
    code, out = check(folder, portal, capsys)
    assert code == 4, out
    assert f"probe foreign_student as guardian (student {_other_family_student(BO)}): 200" \
        " EXPOSED" in out and "all steps passed" in out and "data exposure" in out
    name = STUDENTS[_other_family_student(BO)]
    assert name not in out                        # never the payload

    day = run_day(folder, portal, tmp_path)
    assert day.returncode == 4, (day.stdout + day.stderr)[-3000:]
    run = RunResult(day.returncode, day.stdout + day.stderr, tmp_path / "day")
    exposures = run.lines("exposures.jsonl")
    assert exposures and {e["probe"] for e in exposures} == {"foreign_student"}
    for e in exposures:
        assert e["asked"] == f"student {_other_family_student(e['by'])}"
        assert e["status"] == 200
    verdict = run.json("verdict.json")
    assert verdict["gates"]["data_exposures"]["passed"] is False
    assert verdict["target"] == "portal" and verdict["exit_code"] == 4
    text = run_text(run.run_dir)
    assert not any(STUDENTS[s] in text for s in STUDENTS)   # no page was kept
    secrets_absent(secrets, text, run.output)
