"""A load worker SIGKILLed mid-run: the master notices within Locust's heartbeat timeout (3 missed
1-second heartbeats), goes on with the other worker, and the summary, the verdict (NO-GO: the
plan's load was not all sent) and the report say which load process was lost, when, and how
much of the load went with it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
from support.locust_run import ROOT, environment
from support.sis_server import free_port, serve
from support.sisdb import staging_settings

from staging.app import create_app

# Locust gives a worker up after HEARTBEAT_LIVENESS 3 + 1 missed beats of HEARTBEAT_INTERVAL 1 s;
# the master's watcher looks every 0.5 s; 3.5 s more for a 2-core machine under other load
# (4.1 s measured alone, 6.3 s with the rest of the suite running).
HEARTBEAT_TIMEOUT = 4.0 + 0.5 + 3.5


def firstbell(*args: str, log: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "firstbell.cli", *args], cwd=ROOT,
                            env=environment(), stdout=log.open("w"),
                            stderr=subprocess.STDOUT, text=True)


def lines(run: Path) -> list[dict]:
    return [json.loads(x) for x in (run / "intervals.jsonl").read_text().splitlines() if x]


def test_a_worker_killed_mid_run(seeded_url: str, userpool_dir: Path) -> None:
    root = Path("/tmp") / f"firstbell-wkill-{uuid.uuid4().hex[:10]}"
    root.mkdir()
    run, port = root / "run", free_port()
    with serve(create_app(staging_settings(), seeded_url)) as url:
        master = firstbell("run", "smoke", "--profile", "small", "--target", url,
                           "--expect-workers", "2", "--master-port", str(port),
                           "--exporter-port", "-1", "--out", str(run), log=root / "master.txt")
        workers = [firstbell("worker", "--master", "127.0.0.1", "--master-port", str(port),
                             "--userpool", str(userpool_dir), log=root / f"worker{i}.txt")
                   for i in range(2)]
        try:
            deadline = time.monotonic() + 90
            while not (run / "run.json").is_file() and time.monotonic() < deadline:
                time.sleep(0.2)
            started = json.loads((run / "run.json").read_text())["started_at"]
            time.sleep(max(0.0, started + 10 - time.time()))
            # the Locust process itself (the `firstbell worker` wrapper's child), no goodbye
            victim = psutil.Process(workers[1].pid).children(recursive=True)[-1]
            assert "locust" in " ".join(victim.cmdline())
            victim.send_signal(signal.SIGKILL)
            killed_at = time.time()
            master.wait(timeout=120)
        finally:
            for w in workers:
                try:
                    w.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    w.kill()
    output = (root / "master.txt").read_text()
    assert master.returncode == 3, output[-3000:]
    summary = json.loads((run / "summary.json").read_text())
    verdict = json.loads((run / "verdict.json").read_text())
    (lost,) = summary["lost_workers"]
    noticed_after = lost["time"] - killed_at
    assert 0 < noticed_after <= HEARTBEAT_TIMEOUT, noticed_after
    killed_t = killed_at - started
    # workers report every 3 s (a little later on a loaded machine)
    assert killed_t - 6 <= lost["last_report_at"] <= killed_t + 0.5
    assert lost["share_after"] == 0.5
    assert 0.2 <= lost["share_of_run"] <= 0.45  # half the arrivals of the last ~20 of 30 s
    assert summary["partial"] is False and summary["duration"] >= 29
    # the other worker went on: requests in every interval after the loss, and its final came
    assert summary["finals"] == [1 - lost["worker"]]
    after = [x for x in lines(run) if x["time"] > lost["time"] + 1 and x["t"] < 30]
    assert after and all(x["lost_workers"] == [lost["worker"]] for x in after)
    assert all(sum(v for k, v in x["counters"].items() if k.startswith("requests|")) > 0
               for x in after)
    assert verdict["verdict"] == "NO-GO"
    assert any(r.startswith(f"load process {lost['worker'] + 1} of 2 lost at") for r in
               verdict["reasons"]), verdict["reasons"]
    assert "LOST load process" in output
    report = subprocess.run([sys.executable, "-m", "firstbell.cli", "report", str(run)],
                            cwd=ROOT, env=environment(), capture_output=True, text=True,
                            timeout=60)
    assert report.returncode == 0, report.stderr
    md = (run / "report.md").read_text()
    assert f"load process {lost['worker'] + 1} of 2 lost" in md
    data = json.loads((run / "report.json").read_text())
    assert data["lost_workers"] == summary["lost_workers"]
    print(f"MEASURED worker killed at {killed_t:.1f} s: master noticed after"
          f" {noticed_after:.1f} s, lost {lost['share_after']:.0%} of the arrivals from"
          f" {lost['last_report_at']:.0f} s ({lost['share_of_run']:.0%} of the run's sessions)")
