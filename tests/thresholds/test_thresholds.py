"""The launch thresholds file, and their live evaluation: windows, `for` durations, verdicts."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from kernel.durations import seconds
from kernel.errors import EXIT_EXPOSURE, EXIT_GO, EXIT_NO_GO
from loadtests.arrivals import RateCurve, RateStage
from loadtests.hdr import Timings
from loadtests.verdict import Evaluator, Interval
from thresholds import (
    ThresholdError,
    Thresholds,
    checks,
    latency_thresholds,
    load_thresholds,
)

SMALL = Thresholds.model_validate({
    "version": 1, "defaults": {"window": "20s", "for": "20s", "min_requests": 10},
    "objectives": {"auth": {"description": "logins", "p95": "1s", "error_ratio": 0.1,
                            "abortable": True},
                   "portal": {"description": "pages", "p99": "500ms"}},
    "arrivals": {"description": "rate kept", "min_ratio": 0.9, "window": "20s", "for": "10s"}})
CURVE = RateCurve([RateStage(600.0, {"guardian": 2.0})])


def test_the_shipped_file_is_valid_and_flattens_to_checks() -> None:
    t = load_thresholds()
    names = [c.name for c in checks(t)]
    assert "auth.p95" in names and "gradebook.error_ratio" in names
    assert names[-1] == "arrivals.min_ratio" and len(names) == len(set(names)) == 25
    assert latency_thresholds(t) == [0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0]
    assert t.gates.data_exposures == 0


@pytest.mark.parametrize(("text", "value"), [("300ms", 0.3), ("1.5s", 1.5), ("5m", 300.0),
                                             ("1h", 3600.0), (2, 2.0)])
def test_durations(text: object, value: float) -> None:
    assert seconds(text) == value


def interval(end: float, *, n: int = 20, latency: float = 0.1, errors: int = 0,
             group: str = "auth", started: int = 20, scheduled: int = 20) -> Interval:
    t = Timings()
    for _ in range(n):
        t.record(f"guardian|{group}.login", latency, latency)
    c: Counter[str] = Counter({f"requests|guardian|{group}.login|POST|2xx": n - errors,
                               f"requests|guardian|{group}.login|POST|5xx": errors,
                               "sessions|guardian|started": started,
                               "scheduled|guardian": scheduled})
    return Interval(end, 10.0, t, c)


def run(evaluator: Evaluator, slow_from: float, slow_to: float, until: float) -> list[str]:
    events = []
    t = 10.0
    while t <= until:
        evaluator.add(interval(t, latency=2.0 if slow_from < t <= slow_to else 0.1))
        for check, _, newly in evaluator.evaluate(t):
            if newly:
                events.append(f"{check.name}@{t:g}")
        t += 10.0
    return events


def test_a_breach_fails_only_after_lasting_for_its_duration() -> None:
    e = Evaluator(SMALL, CURVE)
    # slow from 20 s: the 20 s window breaches at 20, and the check fails 20 s later, at 40
    assert run(e, 10, 200, 60) == ["auth.p95@40"]
    assert e.states["auth.p95"].failed_at == 40 and e.abort_due() == ["auth.p95"]


def test_the_console_status_line() -> None:
    e = Evaluator(SMALL, CURVE)
    e.add(interval(10.0))
    e.evaluate(10.0)
    assert e.status_line() == "objectives: 3 ok, 0 breaching, 0 FAILED, 1 without traffic"
    for t in (20.0, 30.0):  # auth slow from 20: breaching at 20, 30; failed at 40
        e.add(interval(t, latency=2.0))
        e.evaluate(t)
    assert "1 breaching (auth.p95 2 s > 1 s)" in e.status_line()
    e.add(interval(40.0, latency=2.0))
    e.evaluate(40.0)
    assert "1 FAILED (auth.p95 2 s > 1 s)" in e.status_line()


def test_a_short_breach_passes() -> None:
    e = Evaluator(SMALL, CURVE)
    # slow only in the interval ending at 20: the window breaches at 20 and 30, clear at 40:
    # 10 s of breach, less than the 20 s `for`
    assert run(e, 10, 20, 80) == []
    assert e.states["auth.p95"].failed_at is None
    assert e.states["auth.p95"].worst == pytest.approx(2.0, rel=1e-3)


def test_too_little_traffic_is_no_evidence() -> None:
    e = Evaluator(SMALL, CURVE)
    for t in (10.0, 20.0, 30.0, 40.0):
        e.add(interval(t, n=3, latency=5.0))
        e.evaluate(t)
    assert e.states["auth.p95"].failed_at is None and e.states["auth.p95"].value is not None


def test_error_ratio_counts_5xx_and_failed_checks() -> None:
    e = Evaluator(SMALL, CURVE)
    i = interval(10.0, n=20, errors=1)
    i.counters["checks_failed|guardian|auth.login"] = 2
    e.add(i)
    auth = next(c for c in e.checks if c.name == "auth.error_ratio")
    assert e.measure(auth, 10.0) == (pytest.approx(3 / 20), 20)


def test_arrival_ratio_against_the_plan() -> None:
    e = Evaluator(SMALL, CURVE)
    for t in (10.0, 20.0, 30.0):  # 20 arrivals drawn per interval, 15 started = 0.75
        e.add(interval(t, started=15))
        e.evaluate(t)
    assert e.states["arrivals.min_ratio"].value == pytest.approx(0.75)
    # breached from the first evaluation (10), failing 10 s (its `for`) later
    assert e.states["arrivals.min_ratio"].failed_at == 20.0


def test_a_low_poisson_draw_is_not_a_shortfall() -> None:
    """The plan's mean is 40 per 20 s window; a draw of 30 (1.6 sd low) all started is the
    generator keeping up: ratio 1."""
    e = Evaluator(SMALL, CURVE)
    for t in (10.0, 20.0):
        e.add(interval(t, started=15, scheduled=15))
        e.evaluate(t)
    assert e.states["arrivals.min_ratio"].value == pytest.approx(1.0)


def test_a_lagging_scheduler_is_a_shortfall() -> None:
    """Only 5 arrivals drawn per 10 s where the plan's mean is 20: far more than 3 sd short.
    The ratio is judged against 40 - 3 x sqrt(40) = 21.03 per window: 10 / 21.03 = 0.48."""
    e = Evaluator(SMALL, CURVE)
    for t in (10.0, 20.0):
        e.add(interval(t, started=5, scheduled=5))
        e.evaluate(t)
    assert e.states["arrivals.min_ratio"].value == pytest.approx(10 / (40 - 3 * 40 ** 0.5))


def test_a_run_shorter_than_for_is_judged_on_the_whole_run() -> None:
    e = Evaluator(SMALL, CURVE)
    e.add(interval(10.0, latency=2.0))
    e.evaluate(10.0)
    whole = e.whole_run(e.intervals[0].timings, e.intervals[0].counters, 15.0)
    assert whole["auth.p95"] == pytest.approx(2.0, rel=1e-3)
    v = e.verdict(0, whole, duration=15.0)
    auth = next(o for o in v["objectives"] if o["name"] == "auth.p95")
    assert auth["judged"] == "whole run" and not auth["passed"]
    assert v["verdict"] == "NO-GO" and v["exit_code"] == EXIT_NO_GO
    assert "judged it for 5 s, shorter than its `for` (20 s)" in v["reasons"][0]
    # judged from 10 s on: a run of 40 s had 30 s to show a lasting breach: windows decide
    long = e.verdict(0, whole, duration=40.0)
    assert long["verdict"] == "GO"
    # 25 s: judged for 15 s only (< 20 s `for`): the whole-run value decides
    assert e.verdict(0, whole, duration=25.0)["verdict"] == "NO-GO"


def test_verdicts_and_exit_codes() -> None:
    e = Evaluator(SMALL, CURVE)
    run(e, 1000, 1000, 50)  # never slow
    good = e.verdict(0, {})
    assert (good["verdict"], good["exit_code"], good["reasons"]) == ("GO", EXIT_GO, [])
    assert e.verdict(2, {})["exit_code"] == EXIT_EXPOSURE
    bad = Evaluator(SMALL, CURVE)
    run(bad, 0, 500, 60)
    v = bad.verdict(0, {})
    assert v["verdict"] == "NO-GO" and v["exit_code"] == EXIT_NO_GO
    assert v["reasons"][0].startswith("auth.p95 breached its threshold (2 s > 1 s)")
    failed = [o["name"] for o in v["objectives"] if not o["passed"]]
    assert failed == ["auth.p95"]


BROKEN = {
    "empty.yaml": ("", "a mapping"),
    "list.yaml": ("- 1\n", "a mapping"),
    "syntax.yaml": ("objectives: [\n", "not YAML"),
    "version.yaml": ("version: 2\n", "field version"),
    "no-objectives.yaml": ("version: 1\narrivals: {description: a, min_ratio: 0.9}\n",
                           "field objectives"),
    "no-arrivals.yaml": ("version: 1\nobjectives: {auth: {description: a, p95: 1s}}\n",
                         "field arrivals"),
}
BASE = ("version: 1\narrivals: {description: a, min_ratio: 0.9}\n"
        "objectives:\n  auth: {description: a, p95: 1s}\n")
FIELD_CASES = [
    ("objectives:\n  auth: {description: a, p95: fast}\n", "objectives.auth.p95", "'fast'"),
    ("objectives:\n  auth: {description: a, p95: -1}\n", "objectives.auth.p95", "-1"),
    ("objectives:\n  auth: {description: a, p99: 1 minute}\n", "objectives.auth.p99",
     "1 minute"),
    ("objectives:\n  auth: {description: a, error_ratio: 1.5}\n",
     "objectives.auth.error_ratio", "1.5"),
    ("objectives:\n  auth: {description: a}\n", "objectives", "sets none of p95"),
    ("objectives:\n  Auth Group: {description: a, p95: 1s}\n", "objectives", "'Auth Group'"),
    ("objectives:\n  auth: {p95: 1s}\n", "objectives.auth.description", "Field required"),
    ("objectives:\n  auth: {description: a, p95: 1s, p90: 1s}\n", "objectives.auth.p90",
     "Extra inputs"),
    ("objectives:\n  auth: {description: a, p95: 1s, for: soon}\n", "objectives.auth.for",
     "'soon'"),
    ("objectives:\n  auth: {description: a, p95: 1s, window: 0.5d}\n",
     "objectives.auth.window", "0.5d"),
    ("objectives:\n  auth: {description: a, p95: 1s, abortable: maybe}\n",
     "objectives.auth.abortable", "maybe"),
    ("arrivals: {description: a, min_ratio: 1.2}\n", "arrivals.min_ratio", "1.2"),
    ("arrivals: {description: a, min_ratio: 0}\n", "arrivals.min_ratio", "0"),
    ("arrivals: {description: a, min_ratio: 0.9, for: -5}\n", "arrivals.for", "-5"),
    ("gates: {data_exposures: -1}\n", "gates.data_exposures", "-1"),
    ("gates: {capacity_headroom: 0.5}\n", "gates.capacity_headroom", "0.5"),
    ("gates: {exposures: 0}\n", "gates.exposures", "Extra inputs"),
    ("defaults: {min_requests: 0}\n", "defaults.min_requests", "0"),
    ("defaults: {window: forever}\n", "defaults.window", "forever"),
    ("thresholds: {}\n", "thresholds", "Extra inputs"),
]


def merged(extra: str) -> str:
    """BASE with the top-level keys of `extra` replacing BASE's."""
    keys = {line.split(":")[0] for line in extra.splitlines() if line and line[0] != " "}
    kept, skip = [], False
    for line in BASE.splitlines():
        if line and line[0] != " ":
            skip = line.split(":")[0] in keys
        if not skip:
            kept.append(line)
    return "\n".join(kept) + "\n" + extra


def test_broken_files_name_file_field_and_value(tmp_path: Path) -> None:
    cases = [(name, text, (hint,)) for name, (text, hint) in BROKEN.items()]
    cases += [(f"field-{i}.yaml", merged(extra), (field, value))
              for i, (extra, field, value) in enumerate(FIELD_CASES)]
    assert len(cases) >= 20
    for name, text, hints in cases:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ThresholdError) as err:
            load_thresholds(path)
        message = str(err.value)
        assert message.startswith(str(path)), (name, message)
        for hint in hints:
            assert hint in message, (name, hint, message)
