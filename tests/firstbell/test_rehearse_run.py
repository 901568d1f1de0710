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
         "--headroom-ceiling", "1.5"],
        cwd=work, capture_output=True, text=True, timeout=420, env=env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    for phase in ("[1/5] district: generating 'small'", "[2/5] staging SIS",
                  "[3/5] monitoring", "[4/5] run: Smoke test", "[5/5] report:"):
        assert phase in output, phase
    run = work / "runs/rehearsal"
    verdict = json.loads((run / "verdict.json").read_text())
    summary = json.loads((run / "summary.json").read_text())
    report = json.loads((run / "report.json").read_text())
    assert report["verdict"] == verdict and verdict["verdict"] == "GO"
    assert report["totals"]["requests"] == summary["requests"] > 100
    assert report["rehearsed"]["profile"] == "small" and (run / "report.html").is_file()
    # the local Prometheus scraped the SIS under load: its peaks are in the report
    saturation = json.loads((run / "saturation.json").read_text())
    assert saturation["sis_requests_per_second"] > 0 and saturation["db_pool_max"] >= 1
    assert report["saturation"] == saturation
    assert "requests waiting for a database connection" in (run / "report.html").read_text()
    # the headroom: the day's peak at 1× and 1.5× (the ceiling set), both held → the gate passes
    capacity = json.loads((run / "capacity.json").read_text())
    assert capacity["kind"] == "headroom" and capacity["limited_by"] == "ceiling"
    assert [s["multiple"] for s in capacity["steps"]] == [1.0, 1.5]
    assert capacity["held"] == 1.5 and capacity["headroom_passed"] is True
    gate = verdict["gates"]["capacity_headroom"]
    assert gate["measured"] == 1.5 and gate["passed"] is True
    assert "headroom: at least 1.50×: it held every step up to the ceiling set" in output
    assert all((run / s["run_dir"] / "verdict.json").is_file() for s in capacity["steps"])
    assert not (work / ".firstbell/staging.json").exists()  # the SIS and database stopped
    assert (work / ".firstbell/districts").is_dir()          # the cache stays
