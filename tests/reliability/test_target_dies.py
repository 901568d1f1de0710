"""The target dies mid-run: the run goes on to its end, counts every request that got no answer,
ends NO-GO naming the error objectives, writes its whole run directory, and `firstbell report`
reports it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

from support.locust_run import ROOT, environment
from support.sis_server import serve
from support.sisdb import staging_settings

from staging.app import create_app


def test_the_target_dies_mid_run(seeded_url: str, userpool_dir: Path) -> None:
    out = Path("/tmp") / f"firstbell-dies-{uuid.uuid4().hex[:10]}" / "run"
    with serve(create_app(staging_settings(), seeded_url)) as url:
        proc = subprocess.Popen(
            [sys.executable, "-m", "firstbell.cli", "run", "smoke", "--profile", "small",
             "--target", url, "--userpool", str(userpool_dir), "--out", str(out),
             "--exporter-port", "-1", "--speed", "120"],
            cwd=ROOT, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True)
        deadline = time.monotonic() + 60
        while not (out / "run.json").is_file() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(5)
        killed_at = time.time()
    # the server is gone: every request from here on is refused
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 3, output[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    verdict = json.loads((out / "verdict.json").read_text())
    assert summary["partial"] is False and summary["duration"] >= 14  # ran to its end
    refused = sum(v for k, v in summary["counters"].items()
                  if k.startswith("requests|") and k.endswith("|error"))
    answered = sum(v for k, v in summary["counters"].items()
                   if k.startswith("requests|") and not k.endswith("|error"))
    assert refused > 20 and answered > 20, summary["counters"]
    assert verdict["verdict"] == "NO-GO"
    assert any("error_ratio" in r for r in verdict["reasons"]), verdict["reasons"]
    # intervals after the kill show the errors
    lines = [json.loads(x) for x in (out / "intervals.jsonl").read_text().splitlines()]
    after = [x for x in lines if x["time"] > killed_at + 1]
    assert after and all(
        sum(v for k, v in x["counters"].items() if k.endswith("|error")) > 0 for x in after
        if any(k.startswith("requests|") for k in x["counters"]))
    report = subprocess.run([sys.executable, "-m", "firstbell.cli", "report", str(out)],
                            cwd=ROOT, env=environment(), capture_output=True, text=True,
                            timeout=60)
    assert report.returncode == 0, report.stderr
    assert report.stdout.startswith("NO-GO")
    assert "NO-GO" in (out / "report.md").read_text()
    started = json.loads((out / "run.json").read_text())["started_at"]
    print(f"MEASURED target killed at {killed_at - started:.1f} s of {summary['duration']} s:"
          f" {refused:.0f} of {refused + answered:.0f} requests refused")
