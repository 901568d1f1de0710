"""`firstbell prometheus up|down` end to end: a real local Prometheus with the generated rules,
its state under .firstbell/, stopped again; a clear error without the binary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from support.locust_run import ROOT
from support.sis_server import free_port


def cli(cwd: Path, *args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    if path is not None:
        env["PATH"] = path
    return subprocess.run([sys.executable, "-m", "firstbell.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def test_up_serves_the_rules_and_down_stops_it(tmp_path: Path) -> None:
    port = free_port()
    up = cli(tmp_path, "monitor", "up", "--port", str(port), "--sis", "127.0.0.1:1")
    assert up.returncode == 0, up.stdout + up.stderr
    state = json.loads((tmp_path / ".firstbell/monitor.json").read_text())
    try:
        assert state["url"] == f"http://127.0.0.1:{port}" in up.stdout
        groups = httpx.get(f"{state['url']}/api/v1/rules", timeout=5).json()["data"]["groups"]
        assert {g["name"] for g in groups} == {"firstbell-recording", "firstbell-objectives",
                                               "firstbell-run", "firstbell-burn-rate"}
        jobs: dict[str, str] = {}
        deadline = time.monotonic() + 15  # targets appear after the first discovery round
        while "sis" not in jobs and time.monotonic() < deadline:
            targets = httpx.get(f"{state['url']}/api/v1/targets", timeout=5).json()["data"]
            jobs = {t["labels"]["job"]: t["scrapeUrl"] for t in targets["activeTargets"]}
            time.sleep(0.3)
        assert jobs["sis"] == "http://127.0.0.1:1/metrics"
        again = cli(tmp_path, "monitor", "up", "--port", str(port))
        assert again.returncode == 0 and "Already running" in again.stdout
    finally:
        down = cli(tmp_path, "monitor", "down")
    assert down.returncode == 0 and f"pid {state['pid']}" in down.stdout
    assert not (tmp_path / ".firstbell/monitor.json").exists()
    try:
        os.kill(state["pid"], 0)
        raise AssertionError("prometheus still running")
    except ProcessLookupError:
        pass
    assert "Not running" in cli(tmp_path, "monitor", "down").stdout


def test_without_prometheus_it_says_how_to_get_it(tmp_path: Path) -> None:
    result = cli(tmp_path, "monitor", "up", "--port", str(free_port()), path="/nonexistent")
    assert result.returncode == 2 and "apt-get install prometheus" in result.stderr
    assert "Traceback" not in result.stderr
