"""`firstbell capacity --target URL` end to end against the real staging SIS whose capacity is
set by fault injection: a rate limit of 20 auth requests/s, and a student session costs exactly
two auth requests (login, logout), so the SIS sustains 10 student sessions/s and not more. The
search must find that within 10%; the closed-loop sweep must give its 6 points, a USL fit and
capacity.json the report reads."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.locust_run import ROOT, environment
from support.sis_server import serve
from support.sisdb import ADMIN_TOKEN, staging_settings

from staging.app import create_app

KNOWN_CAPACITY = 10.0  # student sessions/s: 20 auth requests/s ÷ 2 per session

STUDENTS_ONLY = """\
name: student-probe
title: Students only (capacity test)
rehearses: the capacity search against a target whose capacity is known
phase: steady_state
day: "07:00-09:00"
peak_rate: 2
personas:
  student: {think_scale: 0.1}
activities:
  - name: students
    persona: student
    population: students.high
    factors: [student.login_share]
    windows: [{from: "07:00", to: "09:00"}]
sweep:
  personas: {student: 1}
  users: [1, 2, 3, 4, 5, 6]
  seconds: 3
"""


def firstbell(*args: str, timeout: float = 600) -> tuple[int, str]:
    proc = subprocess.run([sys.executable, "-m", "firstbell.cli", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT, env=environment())
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "student-probe.yaml"
    path.write_text(STUDENTS_ONLY, encoding="utf-8")
    return path


def test_the_search_finds_a_capacity_set_by_fault_injection(
        seeded_url: str, userpool_dir: Path, scenario_file: Path) -> None:
    out = Path("/tmp") / f"firstbell-capacity-{uuid.uuid4().hex[:10]}"
    with serve(create_app(staging_settings(fault_rate_limit="auth=20"), seeded_url)) as url:
        try:
            code, output = firstbell(
                "capacity", "--target", url, "--profile", "small", "--userpool",
                str(userpool_dir), "--scenario", str(scenario_file), "--forecast", "smoke",
                "--start", "6", "--step-seconds", "20", "--out", str(out),
                "--exporter-port", "-1")
        finally:  # the switch lives in the shared database: later tests must not inherit it
            httpx.delete(f"{url}/admin/faults", headers={"X-Admin-Token": ADMIN_TOKEN})
    assert (out / "capacity.json").is_file(), output[-4000:]
    result: dict[str, Any] = json.loads((out / "capacity.json").read_text(encoding="utf-8"))
    steps = result["steps"]
    found = result["sustainable_rate"]
    assert abs(found - KNOWN_CAPACITY) <= 0.1 * KNOWN_CAPACITY, output[-4000:]
    # The search's own record: every step below the answer passed, the lowest failure is above
    # it and within the resolution, and the failing steps say why (auth errors: shed logins).
    failed = [s for s in steps if not s["passed"]]
    assert failed and min(s["rate"] for s in failed) > found
    assert min(s["rate"] for s in failed) - found <= 0.1 * found + 1e-9
    assert all(s["passed"] for s in steps if s["rate"] <= found)
    assert any("auth" in " ".join(s["reasons"]) for s in failed)
    assert all((out / "steps" / s["run_dir"] / "verdict.json").is_file() for s in steps)
    assert max(s["error_ratio"] for s in failed) > 0
    # Headroom against the smoke day's forecast peak (4 sessions/s) and the exit code from it.
    assert result["forecast"]["scenario"] == "smoke"
    assert result["headroom"] == pytest.approx(found / result["forecast_peak"], rel=1e-3)
    assert result["headroom_passed"] is (result["headroom"] >= result["headroom_required"])
    assert code == (0 if result["headroom_passed"] else 3), output[-3000:]
    # The sweep: six closed-loop levels, each holding exactly its sessions in flight.
    assert [p["users"] for p in result["sweep"]] == [1, 2, 3, 4, 5, 6]
    assert all(p["sessions_per_s"] > 0 for p in result["sweep"])
    assert result["points"] == [[p["users"], round(p["sessions_per_s"], 4)]
                                for p in result["sweep"]]
    assert result["usl"] is not None and 0 <= result["usl"]["sigma"] < 1
    assert len(result["fitted"]) == 40
    plans = [json.loads((d / "plan.json").read_text()) for d in sorted((out / "sweep").iterdir())]
    assert [sum(p["stages"][0]["users"].values()) for p in plans] == [1, 2, 3, 4, 5, 6]
    assert result["partial"] is False and result["data_exposure"] is False
    assert f"sustainable: {found:.3f} sessions/s" in output
    # Each step is a whole run directory: its report takes the search's capacity.json.
    first = out / "steps" / steps[0]["run_dir"]
    code, output = firstbell("report", str(first), "--capacity", str(out / "capacity.json"))
    assert code == 0, output
    report = json.loads((first / "report.json").read_text(encoding="utf-8"))
    assert report["capacity"]["sustainable_rate"] == found
    html = (first / "report.html").read_text(encoding="utf-8")
    assert f"Sustainable rate {found:.2f} sessions/s" in html and "USL fit" in html
    code, output = firstbell("report", str(first), "--capacity", str(out / "nope.json"))
    assert code == 2 and "option --capacity" in output


def test_bad_options_are_clear_errors(userpool_dir: Path, tmp_path: Path) -> None:
    code, output = firstbell("capacity", "--target", "http://example.com", "--profile", "small",
                             "--userpool", str(userpool_dir), "--out", str(tmp_path / "c"))
    assert code == 2 and "option --target" in output and "Traceback" not in output
    code, output = firstbell("capacity", "--target", "http://127.0.0.1:9", "--profile",
                             "small", "--userpool", str(userpool_dir), "--sweep-users", "1,2,3",
                             "--out", str(tmp_path / "c"))
    assert code == 2 and "--sweep-users" in output and "at least 6 distinct" in output
    code, output = firstbell("capacity", "--target", "http://127.0.0.1:9", "--profile",
                             "small", "--userpool", str(tmp_path / "nowhere"),
                             "--out", str(tmp_path / "c"))
    assert code == 2 and "nowhere" in output and "Traceback" not in output
    assert not (tmp_path / "c").exists()  # nothing written before the inputs are good
