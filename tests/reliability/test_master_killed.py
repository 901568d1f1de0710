"""The master SIGKILLed mid-run: what is on disk is a readable run directory that lost at most
the interval being measured (intervals.jsonl is appended and synced every 10 s), and
`firstbell report` reports it as partial, its summary and verdict rebuilt from run.json and the
intervals instead of failing for want of summary.json and verdict.json."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
from support.locust_run import ROOT, environment
from support.sis_server import serve
from support.sisdb import staging_settings

from loadtests.hub_loop import INTERVAL_SECONDS
from staging.app import create_app


def report(run: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "firstbell.cli", "report", str(run)], cwd=ROOT,
                          env=environment(), capture_output=True, text=True, timeout=60)


def test_the_master_killed_mid_run(seeded_url: str, userpool_dir: Path) -> None:
    run = Path("/tmp") / f"firstbell-mkill-{uuid.uuid4().hex[:10]}" / "run"
    with serve(create_app(staging_settings(), seeded_url)) as url:
        proc = subprocess.Popen(
            [sys.executable, "-m", "firstbell.cli", "run", "smoke", "--profile", "small",
             "--target", url, "--userpool", str(userpool_dir), "--out", str(run),
             "--exporter-port", "-1"], cwd=ROOT, env=environment(),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not (run / "run.json").is_file() and time.monotonic() < deadline:
            time.sleep(0.2)
        started = json.loads((run / "run.json").read_text())["started_at"]
        time.sleep(max(0.0, started + 25 - time.time()))
        # the Locust process holding the run (firstbell's child): no Ctrl-C, no goodbye
        locust = psutil.Process(proc.pid).children(recursive=True)[0]
        locust.send_signal(signal.SIGKILL)
        killed_t = time.time() - started
        proc.wait(timeout=30)
    assert not (run / "summary.json").exists() and not (run / "verdict.json").exists()
    lines = [json.loads(x) for x in (run / "intervals.jsonl").read_text().splitlines()]
    assert lines and killed_t - lines[-1]["t"] <= INTERVAL_SECONDS + 1  # at most one lost

    done = report(run)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "partial run: the run's master stopped at about" in done.stdout
    data = json.loads((run / "report.json").read_text())
    assert data["totals"]["partial"] is True and data["verdict"]["reconstructed"] is True
    on_disk = sum(v for x in lines for k, v in x["counters"].items() if k.startswith("requests|"))
    assert data["totals"]["requests"] == on_disk > 50
    assert data["rehearsed"]["duration"] == lines[-1]["t"]
    assert {o["name"] for o in data["verdict"]["objectives"]} >= {"auth.p95",
                                                                   "arrivals.min_ratio"}
    assert "\n\n**Partial run:** the run" in (run / "report.md").read_text()
    assert not (run / "summary.json").exists()  # the report rebuilt it, did not write it

    # A SIGKILL between two writes of a long interval line leaves half a line: it is dropped
    torn = run.parent / "torn"
    shutil.copytree(run, torn)
    with (torn / "intervals.jsonl").open("a") as f:
        f.write((run / "intervals.jsonl").read_text().splitlines()[0][:500])
    assert report(torn).returncode == 0
    assert json.loads((torn / "report.json").read_text())["totals"]["requests"] == on_disk
    print(f"MEASURED master killed at {killed_t:.1f} s: last interval on disk at"
          f" {lines[-1]['t']:.1f} s ({killed_t - lines[-1]['t']:.1f} s lost), {on_disk:.0f}"
          " requests reported")
