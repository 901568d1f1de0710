"""The headroom every rehearsal measures, against a staging SIS whose capacity a rate-limit fault
sets to a known multiple of the day's forecast peak (a student session costs exactly two auth
requests: login and logout). At 1.2× the rehearsal must end NO-GO on headroom (required 1.5×)
naming the saturated resource; at 3× it must pass with a measured headroom between 2.5 and
3.5 — and verdict.json, capacity.json and the report must say the same number."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.locust_run import environment
from support.sis_server import serve
from support.sisdb import ADMIN_TOKEN, staging_settings

from firstbell.plan_cmd import PlanRequest
from staging.app import create_app

AUTH_PER_SESSION = 2
DAY = """\
name: students-day
title: Students only (headroom test)
rehearses: the rehearsal's headroom against a target whose capacity is known
phase: steady_state
day: "07:00-08:00"
peak_rate: 5
personas:
  student: {think_scale: 0.1}
activities:
  - name: students
    persona: student
    population: students.high
    factors: [student.login_share]
    windows: [{from: "07:00", to: "08:00"}]
"""
SPEED = 240.0  # the simulated hour in 15 s of load


@pytest.fixture(scope="module")
def day_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("headroom") / "students-day.yaml"
    path.write_text(DAY, encoding="utf-8")
    return path


def _rehearse(url: str, userpool: Path, day: Path, out: Path) -> tuple[int, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "firstbell.cli", "rehearse", "--target", url, "--userpool",
         str(userpool), "--profile", "small", "--scenario", str(day), "--speed", str(SPEED),
         "--no-monitor", "--headroom-ceiling", "4", "--headroom-step-seconds", "15",
         "--headroom-budget", "400", "--out", str(out)],
        capture_output=True, text=True, timeout=600, cwd=out.parent, env=environment())
    return proc.returncode, proc.stdout + proc.stderr


def _rehearsal_at(multiple: float, seeded_url: str, userpool: Path, day: Path,
                  out: Path) -> tuple[int, str, dict[str, Any], dict[str, Any]]:
    peak = PlanRequest(str(day), "small", SPEED, 1.0, None).compute().total_peak
    limit = f"auth={multiple * peak * AUTH_PER_SESSION:.3f}"
    with serve(create_app(staging_settings(fault_rate_limit=limit), seeded_url)) as url:
        try:
            code, output = _rehearse(url, userpool, day, out)
        finally:  # the switch lives in the shared database: later tests must not inherit it
            httpx.delete(f"{url}/admin/faults", headers={"X-Admin-Token": ADMIN_TOKEN})
    assert (out / "capacity.json").is_file(), output[-4000:]
    capacity = json.loads((out / "capacity.json").read_text(encoding="utf-8"))
    verdict = json.loads((out / "verdict.json").read_text(encoding="utf-8"))
    assert capacity["forecast_peak"] == pytest.approx(peak)
    return code, output, capacity, verdict


def _same_number_everywhere(out: Path, capacity: dict[str, Any],
                            verdict: dict[str, Any]) -> None:
    gate = verdict["gates"]["capacity_headroom"]
    assert gate["measured"] == capacity["held"] and gate["statement"] == capacity["statement"]
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["verdict"]["gates"]["capacity_headroom"]["measured"] == capacity["held"]
    steps = capacity["steps"]
    assert all((out / s["run_dir"] / "verdict.json").is_file() for s in steps)
    assert steps[0]["multiple"] == 1.0  # it starts at the forecast peak
    # the search's own record: everything at or below the multiple that held passed
    held = capacity["held"]
    assert all(s["passed"] for s in steps if s["multiple"] <= held)
    assert all(s["resources"]["saturated"] == "rate limit (an injected fault)"
               for s in steps if not s["passed"])


def test_a_capacity_of_1_2x_the_peak_is_no_go_on_headroom(
        seeded_url: str, userpool_dir: Path, day_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "run-1.2x"
    code, output, capacity, verdict = _rehearsal_at(1.2, seeded_url, userpool_dir, day_file, out)
    assert code == 3 and verdict["verdict"] == "NO-GO", output[-4000:]
    assert capacity["limited_by"] == "server" and capacity["headroom_passed"] is False
    assert 1.0 <= capacity["held"] < 1.5, capacity["statement"]
    assert capacity["first_failure"]["resource"] == "rate limit (an injected fault)"
    assert capacity["first_failure"]["multiple"] <= 1.5 + 1e-9
    assert any(r.startswith("headroom held") and "required 1.5×" in r
               for r in verdict["reasons"]), verdict["reasons"]
    assert verdict["gates"]["capacity_headroom"]["passed"] is False
    _same_number_everywhere(out, capacity, verdict)


def test_a_capacity_of_3x_the_peak_passes_with_headroom_near_3(
        seeded_url: str, userpool_dir: Path, day_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "run-3x"
    code, output, capacity, verdict = _rehearsal_at(3.0, seeded_url, userpool_dir, day_file, out)
    assert code == 0 and verdict["verdict"] == "GO", output[-4000:]
    assert 2.5 <= capacity["held"] <= 3.5, capacity["statement"]
    assert capacity["limited_by"] == "server" and capacity["headroom_passed"] is True
    assert verdict["gates"]["capacity_headroom"]["passed"] is True
    assert f"headroom: held {capacity['held']:.2f}×" in output
    _same_number_everywhere(out, capacity, verdict)
