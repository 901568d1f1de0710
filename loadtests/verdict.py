"""Live evaluation of the launch thresholds and the run's verdict.

Every interval the hub hands over what it merged; each check (``auth.p95``, ``arrivals.min_ratio``
…) is measured over its own window of recent intervals. A breach must last the check's ``for``
before the check *fails* (as a Prometheus alert goes from pending to firing); a check that failed
at any time fails the run. Too little traffic in a window (``min_requests``) is no evidence either
way. The verdict: GO when no check failed and no data was exposed; NO-GO otherwise.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from kernel.errors import EXIT_EXPOSURE, EXIT_GO, EXIT_NO_GO
from loadtests.arrivals import RateCurve
from loadtests.hdr import Timings, new_histogram, percentile_value
from thresholds import Check, Thresholds, checks

GO, NO_GO = "GO", "NO-GO"


@dataclass
class Interval:
    end: float          # run seconds
    seconds: float
    timings: Timings
    counters: Counter[str]


@dataclass
class State:
    value: float | None = None      # the last windowed measurement
    breached_since: float | None = None
    failing: bool = False           # breached for at least `for`
    failed_at: float | None = None  # first time it failed
    worst: float | None = None      # the worst windowed value seen
    judged_since: float | None = None  # first evaluation with enough traffic to judge

    def as_json(self) -> dict[str, Any]:
        return {"value": self.value, "failing": self.failing, "failed_at": self.failed_at,
                "worst": self.worst}


def _group(endpoint: str) -> str:
    return endpoint.split(".", 1)[0]


@dataclass
class Evaluator:
    thresholds: Thresholds
    curve: RateCurve
    intervals: deque[Interval] = field(default_factory=deque)
    states: dict[str, State] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.checks = checks(self.thresholds)
        self.states = {c.name: State() for c in self.checks}
        self.horizon = max(c.window for c in self.checks)

    def add(self, interval: Interval) -> None:
        self.intervals.append(interval)
        while self.intervals and self.intervals[0].end < interval.end - self.horizon - 1e-9:
            self.intervals.popleft()

    def _window(self, check: Check, now: float) -> list[Interval]:
        return [i for i in self.intervals if i.end > now - check.window + 1e-9]

    def measure(self, check: Check, now: float) -> tuple[float | None, int]:
        """The check's measure over its window, and how many requests (or expected arrivals)
        it rests on; None when there is nothing to measure."""
        window = self._window(check, now)
        if check.measure == "arrival_ratio":
            start = min((i.end - i.seconds for i in window), default=now)
            planned = sum(self.curve.expected(p, start, now) for p in self.curve.personas)
            started = sum(v for i in window for k, v in i.counters.items()
                          if k.startswith("sessions|") and k.endswith("|started")) \
                - sum(v for i in window for k, v in i.counters.items()
                      if k.startswith("sessions|") and k.endswith("|closed"))
            scheduled = sum(v for i in window for k, v in i.counters.items()
                            if k.startswith("scheduled|"))
            # Arrivals are Poisson: a window may hold fewer than the plan's mean by chance.
            # The generator is judged against the arrivals it drew, unless those fall more
            # than 3 standard deviations short of the plan (the scheduler itself lagging).
            expected = max(scheduled, planned - 3 * math.sqrt(planned))
            return (started / expected if expected > 0 else None), int(planned)
        total = errors = 0
        hist = new_histogram()
        for i in window:
            for k, v in i.counters.items():
                family, _, rest = k.partition("|")
                if family == "requests":
                    _, endpoint, _, status = rest.split("|")
                    if check.group in ("*", _group(endpoint)):
                        total += int(v)
                        errors += int(v) if status in ("5xx", "error") else 0
                elif family == "checks_failed" and check.group in (
                        "*", _group(rest.split("|")[1])):
                    errors += int(v)
            if check.measure in ("p95", "p99"):
                for key, pair in i.timings.histograms.items():
                    if check.group in ("*", _group(key.split("|", 1)[1])):
                        hist.add(pair["corrected"])
        if not total:
            return None, 0
        if check.measure == "error_ratio":
            return errors / total, total
        return percentile_value(hist, 95.0 if check.measure == "p95" else 99.0), total

    def evaluate(self, now: float) -> list[tuple[Check, State, bool]]:
        """Measure every check at run time `now`; returns (check, state, newly failed)."""
        out = []
        for check in self.checks:
            state = self.states[check.name]
            value, n = self.measure(check, now)
            state.value = value
            newly = False
            if value is None or n < check.min_requests:
                state.breached_since = None
                state.failing = False
            elif check.breached(value):
                if state.breached_since is None:
                    state.breached_since = now
                if not state.failing and now - state.breached_since >= check.for_:
                    state.failing, newly = True, state.failed_at is None
                    state.failed_at = state.failed_at if state.failed_at is not None else now
            else:
                state.breached_since, state.failing = None, False
            if value is not None and n >= check.min_requests:
                if state.judged_since is None:
                    state.judged_since = now
                worse = state.worst is None or (value > state.worst if check.upper
                                                else value < state.worst)
                state.worst = value if worse else state.worst
            out.append((check, state, newly))
        return out

    def status_line(self) -> str:
        """The objectives now, in one console line: how many are ok, breaching (not yet for
        their `for`), failing, or without enough traffic to judge, naming the bad ones."""
        ok, breaching, failing, quiet = [], [], [], []
        for c in self.checks:
            st = self.states[c.name]
            if st.failing:
                failing.append(c)
            elif st.breached_since is not None:
                breaching.append(c)
            elif st.value is None:
                quiet.append(c)
            else:
                ok.append(c)

        def named(cs: list[Check]) -> str:
            """ `` (portal.p95 1.52 s > 1 s, …)`` for the first three, or nothing."""
            if not cs:
                return ""
            shown = [f"{c.name} " + _fmt({"measure": c.measure, "threshold": c.threshold,
                                          "worst": self.states[c.name].value})
                     for c in cs[:3]]
            return " (" + ", ".join(shown) + (", …" if len(cs) > 3 else "") + ")"

        return (f"objectives: {len(ok)} ok, {len(breaching)} breaching{named(breaching)},"
                f" {len(failing)} FAILED{named(failing)}, {len(quiet)} without traffic")

    def abort_due(self) -> list[str]:
        """Abortable checks failing now (for --abort-on-fail)."""
        return [c.name for c in self.checks if c.abortable and self.states[c.name].failing]

    def verdict(self, exposures: int, whole_run: dict[str, float | None],
                aborted: list[str] | None = None,
                duration: float | None = None) -> dict[str, Any]:
        """GO or NO-GO. An objective fails when a breach lasted its `for` during the run. When
        the part of the run with enough traffic to judge it was shorter than its `for` (a
        smoke, a run stopped early) no breach could have lasted that long, so there the
        objective is judged on its whole-run value instead (``judged: "whole run"``)."""
        objectives = []
        reasons = []
        for c in self.checks:
            st = self.states[c.name]
            whole = whole_run.get(c.name)
            since = st.judged_since if st.judged_since is not None else duration
            short = duration is not None and since is not None and duration - since < c.for_
            failed_whole = short and st.failed_at is None and whole is not None \
                and c.breached(whole)
            o = {"name": c.name, "group": c.group, "measure": c.measure,
                 "threshold": c.threshold, "window_seconds": c.window, "for_seconds": c.for_,
                 "passed": st.failed_at is None and not failed_whole,
                 "failed_at": st.failed_at, "worst": st.worst, "whole_run": whole,
                 "judged": "whole run" if short else "windows", "description": c.description}
            objectives.append(o)
            if st.failed_at is not None:
                reasons.append(f"{c.name} breached its threshold ({_fmt(o)}) for {c.for_:g} s"
                               f" from {st.failed_at:.0f} s into the run")
            elif failed_whole:
                reasons.append(f"{c.name} breached its threshold over the whole run"
                               f" ({_fmt({**o, 'worst': whole})}); the run judged it for"
                               f" {(duration or 0) - (since or 0):g} s, shorter than its `for`"
                               f" ({c.for_:g} s)")
        gate = self.thresholds.gates.data_exposures
        if exposures > gate:
            reasons.insert(0, f"{exposures} data exposure(s): a probe read data it must not")
        if aborted:
            reasons.append(f"aborted early on {', '.join(aborted)} (--abort-on-fail)")
        verdict = GO if not reasons else NO_GO
        code = EXIT_EXPOSURE if exposures > gate else EXIT_GO if verdict == GO else EXIT_NO_GO
        return {"verdict": verdict, "exit_code": code, "reasons": reasons,
                "objectives": objectives, "gates": {
                    "data_exposures": {"allowed": gate, "measured": exposures,
                                       "passed": exposures <= gate},
                    "capacity_headroom": {"required": self.thresholds.gates.capacity_headroom,
                                          "measured": None, "passed": None,
                                          "note": "measured by `firstbell capacity`"}},
                "aborted": bool(aborted)}

    def whole_run(self, timings: Timings, counters: Counter[str],
                  duration: float) -> dict[str, float | None]:
        """Each check's measure over the whole run (reported beside the windowed verdict)."""
        everything = Evaluator(self.thresholds, self.curve)
        everything.horizon = float("inf")
        everything.add(Interval(duration, duration, timings, counters))
        out: dict[str, float | None] = {}
        for c in self.checks:
            wide = Check(c.name, c.group, c.measure, c.threshold, float("inf"), c.for_,
                         c.abortable, c.description, c.min_requests)
            value, n = everything.measure(wide, duration)
            out[c.name] = value if n >= c.min_requests else None
        return out


def _fmt(o: dict[str, Any]) -> str:
    unit = " s" if o["measure"] in ("p95", "p99") else ""
    op = ">" if o["measure"] != "arrival_ratio" else "<"
    worst = o["worst"]
    return f"{worst:.3g}{unit} {op} {o['threshold']:g}{unit}" if worst is not None else "n/a"
