"""The headroom a rehearsal measures after its day: the day's peak persona mix offered at rising
multiples of its rate (1×, 1.5×, 2.25×, … as `firstbell capacity` steps: grow while every step
holds, then bisect between the highest multiple that held and the lowest that failed), until an
objective fails and the bisection closes, a ceiling is reached, or the time budget is spent.

It fills the capacity gate of the rehearsal's verdict with a measured number: the highest
multiple that held, what failed first above it (the objective and the saturated resource, from
`firstbell.capacity.resources`), and the USL curve when six or more steps ran. A limit the load
generator hit is never a pass of the server: the result then says "at least N×, limited by the
load generator". Everything lands in the run directory: `capacity.json` (the shape
`firstbell capacity` writes, with `kind: headroom`), one run directory per step under
`headroom/`, and the updated `verdict.json`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from firstbell.capacity import UslFit, fit_usl, next_rates, sustainable
from firstbell.capacity.measure import dropped_share, reasons, step
from firstbell.capacity.resources import DROPPED, Usage, sampled, saturated
from firstbell.capacity.usl import MIN_POINTS
from firstbell.capacity_cmd import FITTED_POINTS, Runner, Search, probe_of, step_plan
from kernel.errors import EXIT_EXPOSURE, EXIT_GO, EXIT_INTERRUPTED, EXIT_NO_GO
from loadtests.run_options import RunOptions
from loadtests.rundir import read_jsonl, write_json
from scenarios.compute import ComputedPlan

# Locust's start, the drain and the verdict around each step's load, before one was timed.
STEP_OVERHEAD = 10.0


@dataclass(frozen=True)
class HeadroomSettings:
    """How far and how long the headroom search goes: the highest multiple of the forecast
    peak to offer, the time it may take (seconds), each step's length, the growth factor and
    the resolution of the bisection (a share of the multiple that held)."""

    ceiling: float = 4.0
    budget: float = 180.0
    step_seconds: float = 20.0
    factor: float = 1.5
    resolution: float = 0.15

    def as_json(self) -> dict[str, float]:
        return dataclasses.asdict(self)


def _concurrency(run_dir: Path) -> float:
    """Mean sessions in flight over a step (the intervals' busy gauges)."""
    path = run_dir / "intervals.jsonl"
    lines = read_jsonl(path) if path.is_file() else []
    levels = [sum(x.get("busy", {}).values()) for x in lines if x.get("busy")]
    return sum(levels) / len(levels) if levels else 0.0


def _completed_rate(run_dir: Path) -> float:
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    duration = float(summary.get("duration") or 0.0)
    done = sum(int(a.get("completed", 0)) for a in summary.get("arrivals", {}).values())
    return done / duration if duration else 0.0


@dataclass
class Headroom:
    """A headroom search in progress: the capacity search record it shares with
    `firstbell capacity`, and what the rehearsal adds (multiples, resources, the outcome)."""

    search: Search
    settings: HeadroomSettings
    usage: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    points: list[tuple[float, float]] = dataclasses.field(default_factory=list)
    fit: UslFit | None = None
    limited_by: str = "server"
    first_failure: dict[str, Any] | None = None

    @property
    def peak(self) -> float:
        return self.search.forecast_peak

    @property
    def held(self) -> float | None:
        best = sustainable(self.search.steps)
        return round(best.rate / self.peak, 4) if best else None

    @property
    def passed(self) -> bool:
        return self.held is not None and self.held >= self.search.required

    def statement(self) -> str:
        held = self.held
        shown = f"{held:.2f}×" if held is not None else "none"
        if self.search.exposure:
            return "not measured: a probe read data it must not during the headroom steps"
        if held is None and self.first_failure is not None:
            return (f"the forecast peak itself did not hold: {self.first_failure['multiple']:.2f}×"
                    f" broke {self.first_failure['objective'] or 'the thresholds'}"
                    f" ({self.first_failure['resource']})")
        if self.limited_by == "generator":
            resource = (self.first_failure or {}).get("resource") or "load generator"
            return f"at least {shown}, limited by the {resource}"
        if self.limited_by == "ceiling":
            return f"at least {shown}: it held every step up to the ceiling set"
        if self.limited_by == "budget" and self.first_failure is not None:
            failure = self.first_failure
            return (f"held {shown} the forecast peak; {failure['multiple']:.2f}× broke"
                    f" {failure['objective'] or 'the thresholds'} ({failure['resource']}); the"
                    " time budget ended the search before it narrowed the gap")
        if self.limited_by == "budget":
            return f"at least {shown}: the time budget ended the search"
        failure = self.first_failure or {}
        return (f"held {shown} the forecast peak; {failure.get('multiple', 0):.2f}× broke"
                f" {failure.get('objective') or 'the thresholds'} ({failure.get('resource')})")

    def as_json(self) -> dict[str, Any]:
        data = self.search.as_json()
        for s in data["steps"]:
            s["multiple"] = round(s["rate"] / self.peak, 4)
        for s, u in zip(data["steps"], self.usage, strict=False):
            s["resources"] = u
        if self.fit is not None:
            top = max(n for n, _ in self.points) * 1.25
            data["usl"] = {"sigma": self.fit.sigma, "kappa": self.fit.kappa,
                           "lambda": self.fit.lam, "r2": self.fit.r2,
                           "peak_concurrency": _finite(self.fit.peak_concurrency),
                           "max_throughput": _finite(self.fit.max_throughput)}
            data["fitted"] = [[round(n, 3), round(self.fit.throughput(n), 4)]
                              for n in (1 + (top - 1) * k / (FITTED_POINTS - 1)
                                        for k in range(FITTED_POINTS))]
        data["points"] = [[round(n, 3), round(x, 4)] for n, x in self.points]
        data.update(kind="headroom", held=self.held, limited_by=self.limited_by,
                    first_failure=self.first_failure, statement=self.statement(),
                    headroom=self.held if self.held is not None else 0.0,
                    headroom_passed=self.passed, settings=self.settings.as_json())
        return data


def _failed_objective(run_dir: Path) -> str | None:
    try:
        verdict = json.loads((run_dir / "verdict.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    failed = [o["name"] for o in verdict.get("objectives", []) if not o.get("passed")]
    return failed[0] if failed else ("arrivals" if verdict.get("reasons") else None)


def measure(computed: ComputedPlan, options: RunOptions, run_dir: Path, required: float,
            settings: HeadroomSettings, console: Console) -> tuple[dict[str, Any], int | None]:
    """Run the headroom steps after a day in `run_dir`; capacity.json's content and an exit
    code when a step must stop the rehearsal (a data exposure, Ctrl-C), else None."""
    probe = probe_of(computed)
    peak = computed.total_peak
    search = Search(header={"target": options.target, "scenario": computed.scenario.name,
                            "mix": probe.mix, "forecast": {"scenario": computed.scenario.name,
                                                           "peak_rate": peak}},
                    forecast_peak=peak, required=required)
    found = Headroom(search, settings)
    runner = Runner(options, run_dir / "headroom")
    started = time.monotonic()
    longest = settings.step_seconds + STEP_OVERHEAD
    rates = [peak]
    code: int | None = None
    console.print(f"      headroom: the peak mix ({peak:.2f} sessions/s) at rising multiples,"
                  f" up to {settings.ceiling:g}× within {settings.budget:.0f} s", highlight=False)
    while rates:
        if time.monotonic() - started + longest > settings.budget:
            found.limited_by = "budget"
            break
        rate = rates[0]
        k = len(search.steps) + 1
        t0 = time.monotonic()
        with sampled(options.target) as usage:
            step_dir, code = runner(step_plan(computed.plan, probe.mix, rate,
                                              settings.step_seconds, computed.plan.seed + k),
                                    f"{k:02d}-{rate / peak:.2f}x")
        longest = max(longest, time.monotonic() - t0)
        _record(found, step_dir, rate, usage, console)
        code = code if code in (EXIT_EXPOSURE, EXIT_INTERRUPTED) else None
        if code is not None:
            search.exposure = code == EXIT_EXPOSURE
            break
        if found.limited_by == "generator":
            break
        rates = next_rates(search.steps, settings.factor, settings.resolution,
                           max_rate=peak * settings.ceiling)
        if not rates and all(s.passed for s in search.steps):
            found.limited_by = "ceiling"
    _fit(found, runner.root)
    search.partial = code == EXIT_INTERRUPTED
    return found.as_json(), code


def _record(found: Headroom, step_dir: Path, rate: float, usage: Usage,
            console: Console) -> None:
    """One step read back: its result, its resources, and what it says of the limit."""
    measured = step(step_dir, rate)
    why = reasons(step_dir)
    dropped = dropped_share(step_dir)
    found.search.steps.append(measured)
    found.search.step_info.append({"run_dir": f"headroom/{step_dir.name}", "reasons": why,
                                   "dropped_share": round(dropped, 4)})
    summary = json.loads((step_dir / "summary.json").read_text(encoding="utf-8"))
    short_of = tuple(p for p, a in sorted(summary.get("arrivals", {}).items())
                     if a.get("dropped", 0) > DROPPED * max(a.get("scheduled", 0), 1))
    resource = None if measured.passed else saturated(
        why, dropped, float(summary.get("max_cpu", 0.0)), measured.error_ratio, usage,
        short_of)
    found.usage.append({**usage.as_json(), "saturated": resource})
    multiple = rate / found.peak
    if not measured.passed:
        if resource and resource.startswith("load generator"):
            found.limited_by = "generator"
        if found.first_failure is None or multiple < found.first_failure["multiple"]:
            found.first_failure = {"multiple": round(multiple, 4),
                                   "objective": _failed_objective(step_dir),
                                   "reason": why[0] if why else "", "resource": resource}
    console.print(f"      headroom {multiple:5.2f}×: {rate:8.2f} sessions/s offered,"
                  f" {measured.achieved:7.2f} started/s, p95 {measured.p95 * 1000:6.0f} ms,"
                  f" errors {measured.error_ratio:6.2%} →"
                  f" {'held' if measured.passed else 'FAILED'}"
                  + (f" ({why[0]}; {resource})" if why and not measured.passed else ""),
                  highlight=False)


def _fit(found: Headroom, root: Path) -> None:
    """The USL through the steps (mean sessions in flight, sessions completed per second)
    when six or more distinct levels ran."""
    points = []
    for info in found.search.step_info:
        step_dir = root / Path(info["run_dir"]).name
        n, x = _concurrency(step_dir), _completed_rate(step_dir)
        if n > 0 and x > 0:
            points.append((n, x))
    found.points = points
    if len({round(n, 1) for n, _ in points}) < MIN_POINTS:
        return
    try:
        found.fit = fit_usl([n for n, _ in points], [x for _, x in points])
    except (ValueError, ArithmeticError):  # too flat or too noisy to fit: the points stay
        found.fit = None


def judge(run_dir: Path, result: dict[str, Any], code: int) -> int:
    """verdict.json with the capacity gate filled from `result`: a headroom below the
    requirement (or not demonstrated) adds a reason and makes a GO a NO-GO. The new exit
    code."""
    path = run_dir / "verdict.json"
    verdict = json.loads(path.read_text(encoding="utf-8"))
    gate = verdict["gates"]["capacity_headroom"]
    held, passed = result["held"], bool(result["headroom_passed"])
    gate.update(measured=held, passed=passed, limited_by=result["limited_by"],
                statement=result["statement"], note="measured by the rehearsal's headroom"
                                                    " steps (capacity.json)")
    if not passed and not result.get("data_exposure"):
        verdict["reasons"].append(
            f"headroom {result['statement']}; required {gate['required']:g}× the forecast"
            " peak" + (" (not demonstrated: add load processes with --workers)"
                       if result["limited_by"] == "generator" else ""))
        if verdict["verdict"] == "GO":
            verdict["verdict"], verdict["exit_code"] = "NO-GO", EXIT_NO_GO
    write_json(path, verdict)
    return int(verdict["exit_code"]) if code in (EXIT_GO, EXIT_NO_GO) else code


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
