"""Re-arrival against the real staging SIS (issue 18): people whose login failed come back as
the same identity, so sessions and login attempts per person rise above 1 under a login fault
and stay at 1 without one; a typo rate of 1 reaches the SIS's lockout (423, `locked`)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from support.locust_run import RunResult, run_locust
from support.sis_server import free_port, serve
from support.sisdb import ADMIN_TOKEN, query, staging_settings

from firstbell.report import data as report_data
from firstbell.report import render
from staging.app import create_app

pytestmark = pytest.mark.postgres

# 3 simulated minutes at speed 60 is 3 s: a failed person is back within the 16 s plan
PLAN = {"scenario": "returns", "speed": 60, "think_scale": 0.02, "probe_rate": 0,
        "login_attempts": 2, "login_backoff_seconds": 0.1, "login_timeout_seconds": 5,
        "max_returns": 2, "return_delay_median_minutes": 3, "return_delay_sigma": 0.3,
        "drain_seconds": 10,
        "stages": [{"seconds": 16, "rates": {"student": 2}, "label": "bell"}]}


def _run(url: str, *args: str, **knobs: Any) -> RunResult:
    out = Path(tempfile.mkdtemp(prefix="firstbell-returns-")) / "run"
    plan = out.parent / "plan.yaml"
    plan.write_text(yaml.safe_dump({**PLAN, **knobs}), encoding="utf-8")
    return run_locust(url, out, "--userpool", str(USERPOOL[0]), "--plan", str(plan), *args)


USERPOOL: list[Path] = []


@pytest.fixture(autouse=True)
def _pool(userpool_dir: Path) -> None:
    USERPOOL[:] = [userpool_dir]


def _unlock(url: str) -> None:
    # The SIS counts and locks failed logins per (username, address) (staging/throttle.py).
    query(url, "DELETE FROM sis.login_failures RETURNING 1")


def test_failed_logins_come_back_and_amplify(seeded_url: str) -> None:
    with serve(create_app(staging_settings(fault_error_rate="auth=1"), seeded_url)) as url:
        try:
            result = _run(url)
        finally:  # the switch lives in the shared database: later tests must not inherit it
            httpx.delete(f"{url}/admin/faults", headers={"X-Admin-Token": ADMIN_TOKEN})
    assert result.returncode in (0, 3), result.output[-3000:]
    a = result.summary["amplification"]
    print("amplification under auth=1:", {k: v for k, v in a.items() if k != "personas"})
    arrivals = result.summary["arrivals"]["student"]
    assert a["people"] == arrivals["started"] > 10, a
    # every login fails: each person tries (up to) 2 attempts a session, comes back up to twice
    assert a["returns"] > 0.5 * a["people"], a
    assert a["sessions_per_person"] > 1.4 and a["attempts_per_person"] > 2.5, a
    assert a["sessions_per_person"] <= 3 and a["attempts_per_person"] <= 6, a
    assert a["returns_scheduled"] <= 2 * a["people"]
    # returns are no arrivals: the arrival ratio judges first arrivals against the plan
    assert arrivals["started"] == arrivals["scheduled"] - arrivals["dropped"]
    assert a["plan"]["bound"] == {"sessions_per_person": 3.0, "attempts_per_person": 6.0}
    assert "sessions and" in result.output and "login attempts per person" in result.output
    # the report shows the measured amplification beside the plan's
    data = report_data.load(result.run_dir)
    assert f"{a['attempts_per_person']:.2f} login attempts per person measured" \
        in render.markdown(data)
    assert "what each person cost" in render.html(data, "runbooks")


def test_each_load_process_sends_its_own_people_back(seeded_url: str) -> None:
    port = str(free_port())
    with serve(create_app(staging_settings(fault_error_rate="auth=1"), seeded_url)) as url:
        try:
            result = _run(url, "--processes", "2", "--master-bind-port", port,
                          "--master-port", port)
        finally:
            httpx.delete(f"{url}/admin/faults", headers={"X-Admin-Token": ADMIN_TOKEN})
    assert result.returncode in (0, 3), result.output[-3000:]
    s = result.summary
    a = s["amplification"]
    assert s["finals"] == [0, 1] and a["people"] == s["arrivals"]["student"]["started"] > 10
    assert a["sessions_per_person"] > 1.4 and a["attempts_per_person"] > 2.5, a
    workers = [result.json(f"worker-{i}.json")["counters"] for i in (0, 1)]
    assert all(w.get("returns|student|started", 0) > 0 for w in workers), workers
    assert a["returns"] == sum(w.get("returns|student|started", 0) for w in workers)


def test_without_faults_a_person_is_one_session(staging_url: str) -> None:
    result = _run(staging_url)
    assert result.returncode == 0, result.output[-3000:]
    a = result.summary["amplification"]
    print("amplification without faults:", {k: v for k, v in a.items() if k != "personas"})
    assert a["people"] > 10 and a["returns"] == 0 and a["returns_scheduled"] == 0, a
    assert a["sessions_per_person"] == 1.0 and a["attempts_per_person"] == 1.0, a


def test_typing_every_password_wrong_reaches_the_lockout(seeded_url: str) -> None:
    """Typo rate 1: three wrong passwords a visit, back twice: the fifth failure locks the
    account (the SIS answers 423) and the counters say `locked`."""
    with serve(create_app(staging_settings(), seeded_url)) as url:
        try:
            result = _run(url, typo_rate=1.0, stages=[
                {"seconds": 10, "rates": {"student": 1}, "label": "bell"}])
            locked = query(seeded_url, "SELECT count(*) FROM sis.login_failures"
                                       " WHERE locked_until > now()")[0][0]
        finally:  # the lockout lives in the shared database: later tests must not inherit it
            _unlock(seeded_url)
    assert result.returncode in (0, 3), result.output[-3000:]
    s = result.summary
    a = s["amplification"]
    print("amplification at typo rate 1:", {k: v for k, v in a.items() if k != "personas"})
    assert a["typos"] >= 3 * a["people"] > 0, a
    assert a["locked"] > 0 and s["logins"].get("student|locked", 0) == a["locked"], s["logins"]
    assert s["logins"].get("student|ok", 0) == 0, s["logins"]
    assert locked > 0  # the SIS itself holds them locked (15 minutes)
