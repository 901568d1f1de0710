"""A run whose master died before its end (SIGKILL, the machine lost): its summary and verdict
rebuilt from what the run directory holds — ``run.json`` and the ``intervals.jsonl`` lines synced
as the run went (`loadtests.rundir`) — through the same merge (`Hub`) and the same evaluator as
the live run. At most the last interval is missing; the result is marked partial and
reconstructed, and nothing is written back to the run directory."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

from kernel.errors import UserError
from loadtests.exporter import Live
from loadtests.hdr import Timings
from loadtests.hub_loop import HubLoop, LoadHooks, RunSetup
from loadtests.plan import PlanError, build_plan
from loadtests.stats import Delta
from loadtests.verdict import Interval
from thresholds import load_thresholds


def reconstruct(run_dir: Path, run: dict[str, Any], intervals: list[dict[str, Any]],
                exposures: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(summary, verdict) of the run in `run_dir` from run.json's content, its interval lines
    and its exposures; a UserError when run.json's plan cannot be read back."""
    try:
        plan = build_plan(run.get("plan") or {}, source=f"{run_dir / 'run.json'} plan")
    except PlanError as exc:
        raise UserError(str(exc)) from None
    path = (run.get("options") or {}).get("firstbell_thresholds")
    thresholds = load_thresholds(Path(path)) if path else load_thresholds()
    last = float(intervals[-1]["t"]) if intervals else 0.0

    def live() -> Live:
        return Live(run_id=str(run.get("run_id", run_dir.name)), scenario=plan.scenario,
                    target=str(run.get("target") or ""), personas=plan.personas,
                    probes=(), elapsed=last, planned=plan.duration,
                    clock_seconds=plan.clock_seconds(last), target_rate={}, achieved_rate={},
                    workers=0, stage="")

    loop = HubLoop(RunSetup(plan, thresholds, run_dir, str(run.get("run_id", run_dir.name)),
                            "recovered", str(run.get("paths", "")), {}),
                   LoadHooks(elapsed=lambda: last, live=live, host=lambda: run.get("target"),
                             take_own=lambda: None, final_own=lambda: None))
    loop.workers = int(run.get("workers") or 1)
    for line in intervals:
        timings = Timings.from_encoded({k: {kind: v["hdr"] for kind, v in pair.items()}
                                        for k, pair in line.get("histograms", {}).items()})
        counters: Counter[str] = Counter(line.get("counters", {}))
        loop.hub.absorb(Delta(0, counters, timings))
        loop.evaluator.add(Interval(float(line["t"]), float(line["seconds"]), timings, counters))
        loop.evaluator.evaluate(float(line["t"]))
    loop.hub.exposures = list(exposures)
    loop.hub.gauges = {int(w): {"cpu": float(c)} for w, c in
                       (intervals[-1].get("cpu", {}) if intervals else {}).items()}
    for index in (intervals[-1].get("lost_workers", []) if intervals else []):
        loop.lost[int(index)] = {"worker": int(index)}
    summary = loop.summary()
    summary["lost_workers"] = []  # what was known of them died with the master
    summary["partial"] = True
    summary["reconstructed"] = {
        "intervals": len(intervals), "last_interval_at": last,
        "last_interval_time": intervals[-1].get("time") if intervals else None,
        "rebuilt_at": time.time(),
        "note": f"the run's master stopped at about {last:.0f} s of {plan.duration:.0f} s"
                " without writing its summary and verdict (killed, or its machine lost):"
                f" rebuilt from the {len(intervals)} interval(s) on disk; what happened after"
                " the last of them is not counted"}
    verdict = loop.judge(summary)
    verdict["reconstructed"] = True
    return summary, verdict
