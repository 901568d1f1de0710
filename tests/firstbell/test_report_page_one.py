"""Page one's arithmetic on hand-made inputs with known answers: the forecast's busiest hour, the
logins a run achieved in it (counts × speed, prorated by overlap), the headroom read from the
verdict, a rehearsal's capacity.json or an old capacity search (and "at least N×" when the load
generator limited it), what saturates first, the two sentences and the three actions; and the
charts' round HH:MM ticks and millisecond labels."""

from __future__ import annotations

from typing import Any

import pytest

from firstbell.report import charts, page_one
from firstbell.report.moment import busiest_hour, worst_moment


def slot(start: str, end: str, rate: float) -> dict[str, Any]:
    return {"start": start, "end": end, "rates": {"teacher": rate * 0.75, "student": rate * 0.25}}


def test_the_busiest_hour_is_found_between_slot_boundaries() -> None:
    # 06:00-07:00 at 1/s, 07:00-07:30 at 10/s, 07:30-09:00 at 0.5/s: the best hour is
    # 06:30-07:30 (1·1800 + 10·1800 = 19,800), not the clock hour 07:00-08:00 (18,900)
    scenario = {"slots": [slot("06:00", "07:00", 1), slot("07:00", "07:30", 10),
                          slot("07:30", "09:00", 0.5)]}
    assert busiest_hour(scenario) == pytest.approx((6 * 3600 + 1800, 7 * 3600 + 1800,
                                                    1800 + 18000))
    # a window shorter than an hour is the whole window
    assert busiest_hour({"slots": [slot("07:45", "08:15", 4)]}) == \
        pytest.approx((27900, 29700, 7200))


def interval(clock: float, seconds: float, logins: int, busy: float, requests: int
             ) -> dict[str, Any]:
    return {"clock": clock, "seconds": seconds, "achieved_rate": {"teacher": logins / seconds},
            "busy": {"teacher": busy},
            "counters": {"logins|teacher|ok": logins, "logins|teacher|typo": 3,
                         "requests|teacher|auth.login|POST|2xx": requests}, "histograms": {}}


def test_logins_achieved_are_counts_times_speed_prorated_to_the_hour() -> None:
    """At speed 60 a 10 s interval is 10 simulated minutes; its 20 logins stand for 1,200."""
    scenario = {"slots": [slot("07:00", "08:00", 2), slot("08:00", "09:00", 1)],
                "total_peak_rate": 2.0, "total_peak_at": "07:00", "peak_concurrency": 30.0,
                "peak_logged_in": 1800.0}
    lines = [interval(7 * 3600 + 600 * k, 10.0, 20, 5 + k, 100) for k in range(1, 13)]
    m = worst_moment(scenario, lines, 60.0, {}, [])
    assert m["hour"] == ["07:00", "08:00"] and m["logins"]["forecast"] == 7200
    # intervals ending 07:10 … 08:00 lie inside: 6 × 20 × 60
    assert m["logins"]["achieved"] == 7200
    assert m["in_flight"] == {"forecast": 30.0, "achieved": 11}
    assert m["requests_per_second"]["achieved"] == 10.0
    assert m["arrival_rate"]["achieved"] == 2.0 and m["intervals"] == 6
    half = worst_moment(scenario, [interval(7 * 3600 + 300, 10.0, 20, 1, 10)], 60.0, {}, [])
    assert half["logins"]["achieved"] == 600  # half of its span is before 07:00


def gate(**kw: Any) -> dict[str, Any]:
    objectives = [{"name": "portal.p95", "passed": kw.pop("portal_passed", True)}]
    return {"verdict": kw.pop("verdict", "GO"), "reasons": [], "objectives": objectives,
            "gates": {"data_exposures": {"allowed": 0, "measured": kw.pop("exposures", 0)},
                      "capacity_headroom": {"required": 1.5, "measured": None, "passed": None,
                                            **kw}}}


def test_the_headroom_comes_from_the_verdict_then_capacity_json() -> None:
    statement = "held 2.75× the forecast peak; 3× broke api.p95 (CPU saturated)"
    room = page_one.headroom(gate(measured=2.75, passed=True, limited_by="server",
                                  statement=statement), None, None)
    assert (room["measured"], room["statement"], room["source"]) == (2.75, statement, "verdict")
    cap = {"kind": "headroom", "held": 4.0, "limited_by": "generator", "headroom_passed": None,
           "statement": "at least 4×, limited by the load generator",
           "first_failure": {"multiple": 4.5, "objective": None, "reason": "could not offer it",
                             "resource": "load generator"}}
    room = page_one.headroom(gate(), cap, None)
    assert room["measured"] == 4.0 and room["limited_by"] == "generator"
    assert room["passed"] is None  # never a pass of the server
    actions = page_one.top_actions(gate(), [], room, "RosarioSIS 12.0", [])
    assert actions[0]["runbook"] == page_one.GENERATOR_RUNBOOK
    old = page_one.headroom(gate(), {"sustainable_rate": 9.75, "steps": []}, 2.4375)
    assert old["source"] == "capacity search" and old["passed"] is True
    # a step of the search reported on its own (no scenario.json): the search's own figure
    alone = page_one.headroom(gate(), {"sustainable_rate": 9.75, "forecast_peak": 4.0,
                                       "headroom": 2.4375, "steps": []}, None)
    assert alone["measured"] == 2.44 and alone["source"] == "capacity search"
    assert page_one.headroom(gate(), None, None)["statement"] == "not measured"


def test_a_headroom_below_the_requirement_is_said_first() -> None:
    verdict = gate(verdict="NO-GO", measured=1.2, passed=False, limited_by="server",
                   statement="held 1.2× the forecast peak; 1.5× broke auth.p95 (rate limit)")
    room = page_one.headroom(verdict, None, None)
    first, second = page_one.sentences(verdict, room, "target file district_sis", ["clerk"])
    assert first == "NO-GO: the headroom, 1.2×, is below the 1.5× required."
    assert second == ("Headroom: held 1.2× the forecast peak; 1.5× broke auth.p95 (rate limit);"
                      " the system rehearsed was target file district_sis, without clerk.")
    room["first_failure"] = {"resource": "rate limit"}
    actions = page_one.top_actions(verdict, [], room, "target file district_sis", ["clerk"])
    assert [a["runbook"] for a in actions] == [page_one.CAPACITY_RUNBOOK, page_one.TARGETS_DOC,
                                              page_one.EVIDENCE_RUNBOOK]
    assert "rate limit" in actions[0]["action"]
    broke = {"kind": "headroom", "held": None, "headroom_passed": False, "limited_by": "server",
             "statement": "the forecast peak itself did not hold: 1.00× broke auth.p95 (CPU)"}
    none_held = page_one.headroom(gate(verdict="NO-GO"), broke, None)
    assert page_one.sentences(gate(verdict="NO-GO"), none_held, "x", [])[0] == (
        "NO-GO: the headroom was not demonstrated (the forecast peak itself did not hold:"
        " 1.00× broke auth.p95 (CPU)).")
    exposed = gate(verdict="NO-GO", exposures=2, portal_passed=False)
    assert page_one.decision(exposed) == "DATA EXPOSURE"
    assert page_one.sentences(exposed, page_one.headroom(exposed, None, None), "x", [])[0] == (
        "DATA EXPOSURE: a security probe read data it must not (2 exposure(s)); 1 launch"
        " objective(s) failed (portal.p95).")


def test_what_saturates_first() -> None:
    room = {"first_failure": {"resource": "login KDF", "reason": "auth.p95 2.1 s"}}
    full = {"db_pool_in_use": 20.0, "db_pool_max": 20.0, "db_pool_waiting": 7.0, "sis_cpu": 1.1,
            "sis_in_flight": 40.0}
    assert page_one.saturates_first(full, room)["resource"] == "database pool"
    calm = {**full, "db_pool_in_use": 3.0, "db_pool_waiting": 0.0}
    assert page_one.saturates_first(calm, room) == {
        "resource": "login KDF", "source": "headroom", "detail": "auth.p95 2.1 s"}
    quiet = page_one.saturates_first(calm, {})
    assert quiet["resource"] is None and quiet["detail"].startswith("nothing ran out")
    assert page_one.saturates_first(None, {})["resource"] is None


def test_time_ticks_are_round_and_few() -> None:
    day = charts.time_ticks(6 * 3600, 23 * 3600)  # back-to-school's 17 hours
    assert [charts.clock_label(t) for t in day] == [
        "06:00", "08:00", "10:00", "12:00", "14:00", "16:00", "18:00", "20:00", "22:00"]
    smoke = [charts.clock_label(t) for t in charts.time_ticks(27900, 30600)]
    assert smoke == ["07:45", "07:50", "07:55", "08:00", "08:05", "08:10", "08:15", "08:20",
                     "08:25", "08:30"]
    for lo, hi in ((0, 600), (3600, 3 * 3600), (0, 86400)):
        assert 6 <= len(charts.time_ticks(lo, hi)) <= 10


def test_latency_labels_in_milliseconds_below_a_second() -> None:
    assert [charts.seconds_label(v) for v in (0, 0.0123, 0.5, 1.0, 2.5)] == [
        "0", "12.3 ms", "500 ms", "1 s", "2.5 s"]
    assert charts.nice_top(0.0104) == 0.012 and charts.nice_top(2.2) == 2.5
