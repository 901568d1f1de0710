"""A real `firstbell rehearse` at small scale, from nothing (after another district was seeded
and stopped in the same folder): district, embedded PostgreSQL, staging SIS, local Prometheus
(Debian's), the smoke day, the headroom steps, verdict and report — and everything it started
stopped again. The report says what verdict.json and the run's results say."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from support.locust_run import ROOT


def test_rehearse_from_nothing_to_a_report() -> None:
    work = Path(tempfile.mkdtemp(prefix="firstbell-rehearse-"))
    work.chmod(0o755)  # the embedded PostgreSQL runs as the unprivileged postgres user
    env = {**__import__("os").environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    # Whatever the folder holds: the README's own `staging up` of another district, then
    # `staging down`, must not stand in the rehearsal's way (its database is its own).
    for step in (["staging", "up", "--profile", "small", "--scale", "0.1", "--port", "0",
                  "--kdf-iterations", "1000"], ["staging", "down"]):
        done = subprocess.run([sys.executable, "-m", "firstbell.cli", *step], cwd=work,
                              capture_output=True, text=True, timeout=180, env=env)
        assert done.returncode == 0, done.stderr[-2000:]
    result = subprocess.run(
        [sys.executable, "-m", "firstbell.cli", "rehearse", "--profile", "small", "--scale",
         "0.2", "--seed", "5", "--scenario", "smoke", "--out", "runs/rehearsal",
         "--headroom-ceiling", "1.5", "--readiness"],
        cwd=work, capture_output=True, text=True, timeout=420, env=env)
    output = result.stdout + result.stderr
    assert result.returncode in (0, 3), output[-4000:]
    for phase in ("[1/5] district: generating 'small'", "[2/5] staging SIS",
                  "[3/5] monitoring", "[4/5] run: Smoke test", "[5/5] report:"):
        assert phase in output, phase
    run = work / "runs/rehearsal"
    verdict = json.loads((run / "verdict.json").read_text())
    summary = json.loads((run / "summary.json").read_text())
    report = json.loads((run / "report.json").read_text())
    assert report["verdict"] == verdict
    # the day itself, at its true rate, holds every objective on this SIS
    assert all(o["passed"] for o in verdict["objectives"]), verdict["reasons"]
    # the smoke day scaled to the district (scale 0.2: 0.8 sessions/s for 30 s)
    assert report["totals"]["requests"] == summary["requests"] > 50
    assert report["rehearsed"]["peak_rate"] == pytest.approx(0.8)
    assert report["rehearsed"]["profile"] == "small" and (run / "report.html").is_file()
    # the local Prometheus scraped the SIS under load: its peaks are in the report
    saturation = json.loads((run / "saturation.json").read_text())
    assert saturation["sis_requests_per_second"] > 0 and saturation["db_pool_max"] >= 1
    assert report["saturation"] == saturation
    assert "requests waiting for a database connection" in (run / "report.html").read_text()
    # the headroom: the day's peak at 1×, then 1.5× (the ceiling set) or lower; the verdict is
    # GO exactly when the multiple that held meets the 1.5× gate. (A district at scale 0.2 has
    # a handful of clerks: its user pool may run out first, said as the generator's limit.)
    capacity = json.loads((run / "capacity.json").read_text())
    steps = capacity["steps"]
    assert capacity["kind"] == "headroom" and steps[0]["multiple"] == 1.0
    assert max(s["multiple"] for s in steps) == 1.5
    gate = verdict["gates"]["capacity_headroom"]
    assert gate["measured"] == capacity["held"] and gate["passed"] is capacity["headroom_passed"]
    assert capacity["headroom_passed"] is (capacity["held"] is not None
                                           and capacity["held"] >= 1.5)
    # people readiness of the district's staff (a synthetic sandbox log): one decision
    people = json.loads((run / "readiness.json").read_text())
    ready = people["decision"]["passed"]
    assert verdict["gates"]["people_readiness"]["passed"] is ready
    assert sum(1 for _ in (run / "schools").iterdir()) == people["summary"]["schools"] > 0
    assert report["people"]["ready"] is ready
    assert (verdict["verdict"] == "GO") is (capacity["headroom_passed"] and ready)
    assert result.returncode == (0 if capacity["headroom_passed"] and ready else 3)
    assert f"headroom: {capacity['statement']}" in " ".join(output.split())
    if capacity["limited_by"] == "ceiling":
        assert capacity["statement"] == "at least 1.50×: it held every step up to the ceiling set"
    else:
        assert capacity["first_failure"]["resource"] and not capacity["headroom_passed"]
    assert all((run / s["run_dir"] / "verdict.json").is_file() for s in capacity["steps"])
    assert not (work / ".firstbell/staging.json").exists()  # the SIS and database stopped
    assert (work / ".firstbell/districts").is_dir()          # the cache stays
