"""A distributed run on localhost as it runs across machines: `firstbell run smoke
--expect-workers 2` is only the master, and two `firstbell worker --master 127.0.0.1` processes
join it over Locust's protocol. The merged counts are the sum of the workers', the merged
histograms count every request once, no account is used by two sessions at once (the pool is
partitioned between the workers), and the verdict is judged as a single process judges it."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from support.locust_run import ROOT, environment
from support.sis_server import free_port
from support.sisdb import query

from thresholds import load_thresholds


def firstbell(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "firstbell.cli", *args], cwd=ROOT,
                            env=environment(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def read(run: Path, name: str) -> Any:
    return json.loads((run / name).read_text(encoding="utf-8"))


def test_a_master_and_two_workers_that_join_it(staging_url: str, seeded_url: str,
                                               userpool_dir: Path) -> None:
    since = query(seeded_url, "SELECT now()")[0][0]
    port = free_port()
    run = Path("/tmp") / f"firstbell-distributed-{uuid.uuid4().hex[:10]}" / "run"
    master = firstbell("run", "smoke", "--profile", "small", "--target", staging_url,
                       "--expect-workers", "2", "--master-port", str(port), "--exporter-port",
                       "-1", "--speed", "120", "--out", str(run))
    workers = [firstbell("worker", "--master", "127.0.0.1", "--master-port", str(port),
                         "--userpool", str(userpool_dir)) for _ in range(2)]
    try:
        output, _ = master.communicate(timeout=240)
    finally:
        for w in workers:
            try:
                w.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                w.kill()
    assert master.returncode == 0, output[-3000:]
    assert "waiting for 2 workers on port" in output
    assert [w.returncode for w in workers] == [0, 0]

    per_worker = [read(run, f"worker-{i}.json") for i in (0, 1)]
    summary = read(run, "summary.json")
    assert summary["workers"] == [0, 1] and summary["finals"] == [0, 1]
    assert summary["requests"] == sum(w["requests"] for w in per_worker) > 100
    assert all(w["requests"] > 0 for w in per_worker)  # both sent load
    merged: dict[str, int] = {}
    for w in per_worker:
        for key, count in w["counters"].items():
            merged[key] = merged.get(key, 0) + count
    assert merged == summary["counters"]
    assert summary["overall"]["corrected"]["count"] == summary["requests"]

    # No account in two sessions at once, across both machines (the SIS's own record).
    rows = query(seeded_url, "SELECT user_id, created_at, coalesce(ended_at, last_seen_at)"
                             " FROM sis.sessions WHERE created_at >= %s ORDER BY 1, 2", [since])
    assert len(rows) >= 30  # about 60 sessions in 15 s
    assert [(a, b) for a, b in itertools.pairwise(rows) if a[0] == b[0] and b[1] < a[2]] == []

    # The verdict: every objective of the launch thresholds judged, as a single process does.
    verdict = read(run, "verdict.json")
    assert verdict["verdict"] == "GO" and verdict["reasons"] == []
    expected = {f"{group}.{measure}" for group, objective in load_thresholds().objectives.items()
                for measure in ("p95", "p99", "error_ratio")
                if getattr(objective, measure, None) is not None}
    judged = {o["name"] for o in verdict["objectives"]}
    assert expected <= judged and "arrivals.min_ratio" in judged
    assert all(o["judged"] == "whole run" for o in verdict["objectives"]
               if o["name"] in expected and o["passed"])


def test_a_worker_without_its_pool_is_a_clear_error(tmp_path: Path) -> None:
    proc = firstbell("worker", "--master", "127.0.0.1", "--userpool", str(tmp_path / "none"))
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "none" in output and "Traceback" not in output


def test_local_and_remote_workers_are_exclusive(userpool_dir: Path, tmp_path: Path) -> None:
    proc = firstbell("run", "smoke", "--profile", "small", "--target", "http://127.0.0.1:9",
                     "--userpool", str(userpool_dir), "--workers", "2", "--expect-workers", "2",
                     "--out", str(tmp_path / "r"))
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "choose one" in output
    assert not (tmp_path / "r").exists()
