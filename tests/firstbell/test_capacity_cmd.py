"""The pieces of `firstbell capacity` that need no load: the probe's mix from the built-in
capacity-probe day, the plans of one step and one sweep point, the sweep levels, reading a
measurement back from a run directory, and capacity.json as the report reads it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from firstbell.capacity import Step, fit_usl
from firstbell.capacity.measure import SweepPoint, dropped_share, error_ratio, step, sweep_point
from firstbell.capacity_cmd import (
    Search,
    parse_users,
    probe_of,
    step_plan,
    sweep_knee,
    sweep_plan,
)
from firstbell.plan_cmd import computed_plan
from kernel.errors import UserError


@pytest.fixture(scope="module")
def probe_day():  # type: ignore[no-untyped-def]
    return computed_plan("capacity-probe", "cps", None, 1.0, None, None, None, 42)


def test_probe_mix_is_the_days_peak_normalized(probe_day) -> None:  # type: ignore[no-untyped-def]
    probe = probe_of(probe_day)
    assert set(probe.mix) == {"teacher", "student", "guardian"}
    assert sum(probe.mix.values()) == pytest.approx(1.0)
    assert probe.start == pytest.approx(2.0)  # the scenario's peak_rate
    assert probe.step_seconds == 60 and probe.sweep_seconds == 45
    assert probe.sweep_users == (1, 2, 4, 8, 16, 32, 48)
    assert probe.sweep_personas == {"teacher": 0.4, "student": 0.2, "guardian": 0.4}


def test_step_and_sweep_plans(probe_day) -> None:  # type: ignore[no-untyped-def]
    probe = probe_of(probe_day)
    plan = step_plan(probe_day.plan, probe.mix, 7.0, 30, seed=5)
    assert len(plan.stages) == 1 and plan.stages[0].seconds == 30
    assert sum(plan.stages[0].rates.values()) == pytest.approx(7.0)
    assert plan.stages[0].rates["guardian"] == pytest.approx(7.0 * probe.mix["guardian"])
    assert plan.seed == 5 and plan.drain_seconds == 5.0
    assert plan.mix == probe_day.plan.mix  # the day's click-path mix travels with each step
    point = sweep_plan(probe_day.plan, probe.sweep_personas, 7, 10, seed=6)
    assert point.stages[0].rates == {} and sum(point.stages[0].users.values()) == 7
    assert point.closed_think_scale == probe_day.plan.closed_think_scale


@pytest.mark.parametrize("text, levels", [("1,2,4,8,16,32", (1, 2, 4, 8, 16, 32)),
                                          ("8, 1,2,3,4,5,5,6", (1, 2, 3, 4, 5, 6, 8))])
def test_sweep_levels(text: str, levels: tuple[int, ...]) -> None:
    assert parse_users(text) == levels


@pytest.mark.parametrize("text", ["1,2,3", "1,2,3,4,5,x", "0,1,2,3,4,5", "1,1,1,1,1,1"])
def test_bad_sweep_levels(text: str) -> None:
    with pytest.raises(UserError, match="--sweep-users"):
        parse_users(text)


def _run(folder: Path, verdict: str, counters: dict[str, int], arrivals: dict[str, dict[str, int]],
         duration: float = 20.0) -> Path:
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps({
        "duration": duration, "counters": counters, "arrivals": arrivals,
        "requests": sum(v for k, v in counters.items() if k.startswith("requests|")),
        "overall": {"corrected": {"p95": 0.25, "mean": 0.1}}}))
    (folder / "verdict.json").write_text(json.dumps({"verdict": verdict, "reasons": []}))
    return folder


def test_measurements_read_back(tmp_path: Path) -> None:
    counters = {"requests|student|auth.login|POST|2xx": 90,
                "requests|student|auth.login|POST|5xx": 6,
                "requests|student|portal.home|GET|error": 4,
                "requests|student|portal.home|GET|4xx": 100,
                "probes|foreign_student|denied": 3}
    arrivals = {"student": {"started": 180, "completed": 150}, "teacher": {"started": 20,
                                                                           "completed": 10}}
    assert error_ratio({"counters": counters}) == pytest.approx(10 / 200)
    measured = step(_run(tmp_path / "s", "NO-GO", counters, arrivals), 11.0)
    assert measured == Step(rate=11.0, achieved=10.0, p95=0.25, error_ratio=0.05, passed=False)
    point = sweep_point(_run(tmp_path / "p", "GO", counters, arrivals, duration=10.0), 4)
    assert point.sessions_per_s == 16.0 and point.requests_per_s == 20.0
    assert point.mean == 0.1 and point.users == 4
    assert dropped_share(tmp_path / "s") == 0.0
    crowded = {"student": {"started": 180, "dropped": 20}}
    assert dropped_share(_run(tmp_path / "d", "NO-GO", counters, crowded)) == 0.1


def test_capacity_json() -> None:
    """What capacity.json holds: the sustainable rate (highest pass below the lowest failure),
    headroom over the forecast peak, the sweep's points and the fitted curve over them."""
    search = Search(header={"target": "http://127.0.0.1:1"}, forecast_peak=4.0, required=1.5)
    search.steps = [Step(2, 2, 0.1, 0, True), Step(4, 4, 0.1, 0, True),
                    Step(8, 8, 3.0, 0.2, False), Step(6, 6, 0.2, 0, True)]
    search.step_info = [{"run_dir": f"{k}", "reasons": []} for k in range(4)]
    search.sweep = [SweepPoint(n, 5, x, 10 * x, 0.01 * n, 0.02 * n, 0)
                    for n, x in [(1, 1.0), (2, 1.9), (4, 3.5), (8, 5.6), (16, 7.0), (32, 6.9)]]
    search.fit = fit_usl([p.users for p in search.sweep], [p.sessions_per_s for p in search.sweep])
    data = search.as_json()
    assert data["sustainable_rate"] == 6 and data["headroom"] == 1.5
    assert data["headroom_passed"] is True
    assert data["points"][0] == [1, 1.0] and len(data["fitted"]) == 40
    assert data["fitted"][0][0] == 1 and data["fitted"][-1][0] == pytest.approx(40)
    assert data["usl"]["sigma"] == pytest.approx(search.fit.sigma)


def test_knee_of_a_doubling_sweep() -> None:
    """The staging SIS's own sweep on this machine (mean latency in ms at 1…48 in flight;
    throughput flat from 16): the elbow is at 16, where USL put N* (15.7)."""
    means = {1: 4, 2: 5, 4: 8, 8: 16, 16: 34, 32: 73, 48: 112}
    points = [SweepPoint(n, 20, 1.0, 10.0, ms / 1000, ms / 500, 0) for n, ms in means.items()]
    assert sweep_knee(points) == 16
    flat = [SweepPoint(n, 20, 1.0, 10.0, 0.01, 0.02, 0) for n in means]
    assert sweep_knee(flat) is None


def test_each_day_is_refused_only_the_drops_it_sends() -> None:
    # --drop-persona clerk is for the forecast (back-to-school sends clerks); the probe's day
    # (capacity-probe) sends none, so it is not told to drop one it does not have.
    from firstbell.capacity_cmd import _day_personas
    assert "clerk" in _day_personas("back-to-school")
    assert "clerk" not in _day_personas("capacity-probe")
    assert _day_personas("no-such-day") == []
