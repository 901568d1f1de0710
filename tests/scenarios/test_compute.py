"""The plan computation against worked examples done by hand, and invariants of every built-in
day (sessions add up, speed keeps rates, scale multiplies, windows crop, overrides land in the
ledger)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from fake_data.profile import load_profile
from scenarios.compute import ComputedPlan, compute
from scenarios.ledger import LedgerError, load_overrides, parse_assume
from scenarios.model import Scenario, ScenarioError, builtin_scenarios, load_scenario
from scenarios.shapes import Spread

CPS = load_profile("cps")

MORNING = {
    "name": "worked-example", "title": "Worked example",
    "rehearses": "one teacher login storm, to check the arithmetic by hand",
    "day": "07:00-09:00", "resolution": "15m", "speed": 60,
    "activities": [{
        "name": "storm", "persona": "teacher", "population": "teachers",
        "factors": ["teacher.login_share"],
        "windows": [{"from": "07:30", "to": "08:30", "shape": "peak", "peak": "08:00"}]}],
}


def computed(raw: dict[str, Any], **kw: Any) -> ComputedPlan:
    return compute(Scenario.model_validate(raw), CPS, source="example.yaml", **kw)


def test_worked_example_by_hand() -> None:
    """cps has 21,334 teachers ([S] Stats & Facts); 95% log in (teacher.login_share):
    21,334 x 0.95 = 20,267.3 sessions, spread as a triangle over 07:30-08:30 with its apex at
    08:00 (width 3,600 s). The cumulative share reached at 07:45 is 900^2 / (3,600 x 1,800)
    = 0.125, at 08:00 0.5; so the 15-minute slots get 0.125, 0.375, 0.375, 0.125 of the
    sessions: 2,533.41, 7,600.24, 7,600.24, 2,533.41 sessions, i.e. 2.8149, 8.4447, 8.4447,
    2.8149 sessions/s (divided by 900 s). Peak 8.4447/s from 07:45; with the teacher path's
    50 s session, Little's law gives 8.4447 x 50 = 422.2 sessions in flight. At speed 60 a
    15-minute slot lasts 15 real seconds: the run takes 120 s and sends 20,267.3 / 60 = 337.8
    sessions."""
    c = computed(MORNING)
    rates = [round(s.rates.get("teacher", 0.0), 4) for s in c.slots]
    assert rates == [0.0, 0.0, 2.8149, 8.4447, 8.4447, 2.8149, 0.0, 0.0]
    assert c.activities["storm"] == pytest.approx(20_267.3)
    p = c.personas["teacher"]
    assert p.peak_rate == pytest.approx(8.4447, abs=1e-4) and p.peak_at == 7 * 3600 + 45 * 60
    assert p.session_seconds == 50 and p.peak_concurrency == pytest.approx(422.2, abs=0.1)
    assert c.duration == 120
    assert sum(s.rates["teacher"] * s.real_seconds for s in c.slots) == pytest.approx(337.8,
                                                                                     abs=0.1)
    # the load plan: equal neighbouring slots merge; rates are real, durations compressed
    assert [(st.seconds, round(st.rates.get("teacher", 0.0), 4), st.label)
            for st in c.plan.stages] == [(30, 0.0, "quiet"), (15, 2.8149, "storm"),
                                         (30, 8.4447, "storm"), (15, 2.8149, "storm"),
                                         (30, 0.0, "quiet")]
    assert c.plan.clock_start == "07:00" and c.plan.speed == 60
    ledger = {a.name: a for a in c.ledger}
    assert ledger["teachers"].value == 21_334 and ledger["teachers"].basis == "S"
    assert ledger["teacher.login_share"].value == 0.95
    assert c.plan.assumptions == [a.as_json() for a in c.ledger]


def test_logged_in_at_most_by_hand() -> None:
    """The worked example's two middle slots each send 7,600.24 teacher logins in 15 minutes.
    With a 15-minute session lifetime, at most one slot's worth are logged in at once
    (7,600.2); with 30 minutes, both (15,200.5); with an hour, every login (20,267.3). Little's
    law's 422 sessions in flight is a different number, and both are reported."""
    for minutes, expected in ((15, 7_600.24), (30, 15_200.48), (60, 20_267.3)):
        c = computed(MORNING, overrides=[
            (parse_assume([f"session.lifetime_seconds={minutes * 60}"]), "--assume")])
        assert c.personas["teacher"].peak_logged_in == pytest.approx(expected, rel=1e-4)
        assert c.peak_logged_in == pytest.approx(expected, rel=1e-4)
        assert c.session_lifetime == minutes * 60
        assert c.personas["teacher"].peak_concurrency == pytest.approx(422.2, abs=0.1)
    assert computed(MORNING).as_json()["peak_logged_in"] == pytest.approx(7_600.24, rel=1e-4)


def test_logged_in_counts_logins_before_the_window() -> None:
    """People who logged in just before a --window starts are still logged in at its start."""
    whole = computed(MORNING)
    late = computed(MORNING, window="08:15-08:30")
    assert late.peak_logged_in == pytest.approx(whole.peak_logged_in, rel=1e-4)


def test_every_period_by_hand() -> None:
    """cps high schools: 8 periods of 50 min + 5 min passing from each school's first bell;
    the bells ring in tiers (profile bell_schedule.tiers): 20% of high schools at 07:45, 50%
    at 08:00, 30% at 09:00, so periods start 07:45, 08:40, ...; 08:00, 08:55, ...; 09:00,
    09:55, ... High-school teachers = 21,334 x 105,867 / 361,314 students = 6,250.9 -> 6,251;
    5 sections each: 31,255 class-attendance sessions (unchanged), 1/8 per period = 3,906.875,
    of which a tier's share over the period's first 10 minutes: 07:45 tier 781.375 / 600 s =
    1.3023/s, 08:00 tier 1,953.4375 / 600 = 3.2557/s, 09:00 tier 1,172.0625 / 600 = 1.9534/s.
    Where windows meet in a 5-minute slot the rates add: the 08:00 tier's period k (08:00 +
    55k) and the 09:00 tier's period k - 1 (08:05 + 55k) share 08:05 + 55k for k = 1..7:
    3.2557 + 1.9534 = 5.2092/s (the 07:45 tier's windows meet no other). The busiest slot is
    5.2092/s, 20% below the 6.5115/s of one 08:00 bell for every school."""
    raw = {**MORNING, "day": "07:00-16:00", "resolution": "5m", "activities": [{
        "name": "periods", "persona": "teacher", "population": "teachers.high",
        "factors": ["sections_per_teacher.high"],
        "windows": [{"every": "high.period_start", "from": "+0m", "to": "+10m"}]}]}
    c = computed(raw)
    busy = {s.start: round(s.rates["teacher"], 4) for s in c.slots if s.rates["teacher"]}
    tiers = {7 * 3600 + 45 * 60: 1.3023, 8 * 3600: 3.2557, 9 * 3600: 1.9534}
    expected: dict[float, float] = {}
    for first, rate in tiers.items():
        for k in range(8):
            for d in (0, 300):
                t = first + k * 55 * 60 + d
                expected[t] = round(expected.get(t, 0.0) + rate, 4)
    assert busy == pytest.approx(expected, abs=2e-4)
    assert busy[8 * 3600 + 55 * 60 + 300] == pytest.approx(5.2092, abs=1e-4)  # 09:00
    assert max(busy.values()) == pytest.approx(5.2092, abs=1e-4)
    assert c.activities["periods"] == pytest.approx(31_255)


def test_speed_keeps_rates_scale_multiplies_window_crops() -> None:
    base = computed(MORNING)
    slow = computed(MORNING, speed=10)
    assert [s.rates for s in slow.slots] == [s.rates for s in base.slots]
    assert slow.duration == 720 and base.duration == 120
    double = computed(MORNING, scale=2.0)
    assert double.total_peak == pytest.approx(2 * base.total_peak)
    part = computed(MORNING, window="07:45-08:15")
    assert part.plan.clock_start == "07:45" and part.duration == 30
    assert part.activities["storm"] == pytest.approx(20_267.3 * 0.75)
    with pytest.raises(ScenarioError, match="outside the scenario's day"):
        computed(MORNING, window="06:00-08:00")


def test_overrides_from_the_cli_and_a_file_land_in_the_ledger(tmp_path: Path) -> None:
    file = tmp_path / "overrides.yaml"
    file.write_text("teacher.login_share: {value: 0.5, source: '[S] our pilot'}\n")
    c = computed(MORNING, overrides=[(load_overrides(file), str(file))])
    entry = next(a for a in c.ledger if a.name == "teacher.login_share")
    assert entry.value == 0.5 and entry.origin == str(file) and entry.basis == "S"
    assert c.activities["storm"] == pytest.approx(21_334 * 0.5)
    c = computed(MORNING, overrides=[(parse_assume(["teacher.login_share=0.8"]), "--assume")])
    entry = next(a for a in c.ledger if a.name == "teacher.login_share")
    assert entry.origin == "--assume" and entry.source.startswith("[E] override (was 0.95")
    with pytest.raises(LedgerError, match=r"no assumption 'teacher\.login_shar'"):
        computed(MORNING, overrides=[(parse_assume(["teacher.login_shar=0.8"]), "--assume")])


def test_cdf_of_a_triangle_and_a_flat_window() -> None:
    tri = Spread(0, 100, 1.0, 25)
    assert tri.cdf(25) == pytest.approx(0.25) and tri.cdf(100) == 1 and tri.cdf(-1) == 0
    assert tri.between(0, 50) + tri.between(50, 100) == pytest.approx(1.0)
    assert Spread(0, 100, 0.5).between(10, 30) == pytest.approx(0.1)


@pytest.mark.parametrize("name", builtin_scenarios())
@pytest.mark.parametrize("profile", ["cps", "small"])
def test_every_built_in_day_computes_and_adds_up(name: str, profile: str) -> None:
    day, path = load_scenario(name)
    c = compute(day, load_profile(profile), source=str(path))
    assert len(day.rehearses) > 80  # the header says what it rehearses
    assert c.total_peak > 0 and c.duration > 0
    assert c.plan.curve.duration == pytest.approx(c.duration)
    ledger = {a.name: a for a in c.ledger}
    for a in day.activities:  # every number the rates rest on is in the ledger
        assert a.population in ledger and all(f in ledger for f in a.factors)
    assert all(a.source[:3] in ("[S]", "[D]", "[E]") for a in c.ledger)
    if not (day.steps or day.sweep or day.peak_rate):
        # windows lie inside the day: the curve carries every session of every activity
        sim = sum(sum(s.rates.values()) * (s.end - s.start) for s in c.slots)
        assert sim == pytest.approx(sum(c.activities.values()), rel=1e-9)


def test_built_in_days_have_their_shapes() -> None:
    smoke = compute(load_scenario("smoke")[0], CPS)
    assert smoke.duration == 30 and smoke.total_peak == pytest.approx(4.0)
    soak = compute(load_scenario("soak")[0], CPS)
    assert soak.duration == pytest.approx(7200)
    spike = compute(load_scenario("attendance-spike")[0], CPS)
    # 07:00-09:30: the earliest elementary tier's homerooms open at 07:00, the 09:00 high
    # schools' first period closes at 09:15 (profile bell_schedule.tiers)
    assert spike.plan.clock_start == "07:00" and spike.span == (25200, 34200)
    probe = compute(load_scenario("capacity-probe")[0], CPS)
    closed = [st for st in probe.plan.stages if st.users]
    assert [sum(st.users.values()) for st in closed] == [1, 2, 4, 8, 16, 32, 48]
    assert closed[-1].users == {"teacher": 19, "student": 10, "guardian": 19}  # 0.4/0.2/0.4
    steps = [sum(st.rates.values()) for st in probe.plan.stages if not st.users]
    assert steps == pytest.approx([2, 4, 8, 16, 24, 32])
    back = compute(load_scenario("back-to-school")[0], CPS)
    teacher_peak = back.personas["teacher"].peak_at
    assert 7 * 3600 + 30 * 60 <= teacher_peak <= 8 * 3600 + 10 * 60  # the morning storm
    assert 19 * 3600 <= back.personas["guardian"].peak_at < 21 * 3600  # evening parents
    nightly = compute(load_scenario("nightly-sync")[0], CPS)
    assert set(nightly.personas) == {"integration"}


def test_a_scenario_round_trips_through_yaml(tmp_path: Path) -> None:
    path = tmp_path / "day.yaml"
    path.write_text(yaml.safe_dump(MORNING))
    day, _ = load_scenario(str(path))
    assert compute(day, CPS).total_peak == pytest.approx(computed(MORNING).total_peak)


def test_normalizing_to_a_peak_does_not_depend_on_the_window() -> None:
    raw = {**MORNING, "peak_rate": 4}
    whole = computed(raw)
    part = computed(raw, window="07:30-07:45")
    assert whole.slots[2].rates == part.slots[0].rates  # the 07:30 slot, same rate
    assert whole.total_peak == pytest.approx(4.0)


def test_a_soak_window_keeps_the_whole_days_speed() -> None:
    soak, _ = load_scenario("soak")
    whole = compute(soak, CPS)
    part = compute(soak, CPS, window="12:00-13:00")
    assert part.speed == whole.speed == pytest.approx(57_600 / 7_200)
    assert part.duration == pytest.approx(3_600 / whole.speed)


def test_littles_law_uses_every_think_scale() -> None:
    """smoke thinks at 0.2 (think.scale): a teacher session is 50 s x 0.2 = 10 s long."""
    smoke = compute(load_scenario("smoke")[0], CPS)
    teacher = smoke.personas["teacher"]
    assert teacher.session_seconds == pytest.approx(10.0)
    assert teacher.peak_concurrency == pytest.approx(teacher.peak_rate * 10.0)
    assert smoke.peak_concurrency < 40


def test_a_flat_day_is_one_stage() -> None:
    """Float noise must not cut a flat curve into stages that differ in the last bit."""
    smoke = compute(load_scenario("smoke")[0], CPS)
    assert len(smoke.plan.stages) == 1 and smoke.plan.stages[0].seconds == pytest.approx(30)


def test_the_days_come_from_the_calendar() -> None:
    """cps 2018-19: school starts Tuesday 2018-09-04, the SIS went live Monday 2019-04-22
    (after spring break), Quarter 2 ends Friday 2019-01-25."""
    dates = {name: compute(load_scenario(name)[0], CPS).plan.date
             for name in ("back-to-school", "cutover-day", "grade-deadline", "soak")}
    assert dates == {"back-to-school": "2018-09-04", "cutover-day": "2019-04-22",
                     "grade-deadline": "2019-01-25", "soak": ""}
