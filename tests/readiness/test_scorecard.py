"""The scorecard of a hand-made roster and log, value by value as computed by hand (the
comments show the arithmetic), and the combine rules."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from conftest import COLUMNS

from firstbell.cli import main
from readiness import (
    Decision,
    decision,
    evaluate,
    load_activity,
    load_csv,
    load_metrics,
    parse_columns,
)

GO_LIVE = dt.date(2019, 4, 22)


def scorecard(hand: dict[str, Path], as_of: dt.date | None = None):
    metrics = load_metrics(hand["metrics"])
    roster = load_csv(hand["roster"], parse_columns(COLUMNS))
    log = load_activity(hand["log"], roster, metrics)
    return evaluate(roster, log, metrics, GO_LIVE, as_of), metrics, log


def cells(result) -> dict[tuple[str, str, str], object]:
    return {(s.id, c.metric, c.role): c for s in result.schools for c in s.cells}


def test_values_per_school_and_role(hand: dict[str, Path]) -> None:
    result, _, log = scorecard(hand)
    c = cells(result)
    assert result.as_of == GO_LIVE  # the log's last day
    # S1 teachers t1..t4 (x1 inactive): login before go-live t1, t2 (t3 on the day is late)
    assert (c["S1", "login", "teacher"].staff, c["S1", "login", "teacher"].done) == (4, 2)
    assert c["S1", "login", "teacher"].value == 0.5 and not c["S1", "login", "teacher"].passed
    assert c["S1", "login", "office"].value == 1.0 and c["S1", "login", "office"].passed
    # two modules: only t1
    assert c["S1", "training", "teacher"].value == 0.25
    # days before go-live of the first login: t1 21, t2 12, t3 0 (on the day), t4 0 -> 6
    assert c["S1", "lead", "teacher"].value == 6.0 and not c["S1", "lead", "teacher"].passed
    # S2: t5 and t6 logged in and did two modules; the clerk did nothing
    assert c["S2", "login", "teacher"].value == 1.0
    assert c["S2", "training", "teacher"].value == 1.0
    assert c["S2", "login", "office"].value == 0.0
    # t5 28 days, t6 10 days -> 19
    assert c["S2", "lead", "teacher"].value == 19.0
    assert all(cell.final and cell.projected is None for cell in c.values())
    # the ranking: gap x students. S1: (1/3 + 0 + 1/2 + 4/10) / 4 = 0.30833 x 100 = 30.8;
    # S2: (0 + 1 + 0 + 0) / 4 = 0.25 x 300 = 75 -> S2 first
    assert [s.id for s in result.schools] == ["S2", "S1"]
    assert result.schools[0].gap == pytest.approx(0.25)
    assert result.schools[1].gap == pytest.approx((1 / 3 + 0.5 + 0.4) / 4)
    assert result.schools[1].priority == pytest.approx(100 * (1 / 3 + 0.5 + 0.4) / 4)
    assert result.staff_out_of_scope == {"inactive": 1, "not at a school": 1,
                                         "role not in the metrics": 0}
    district = {(d.metric, d.role): d for d in result.district}
    assert district["login", "teacher"].value == pytest.approx(4 / 6)
    assert district["login", "office"].value == 0.5
    assert log.ignored_actions == {"coffee": 1}
    assert log.unmatched == ["ghost"] and log.unmatched_people == 1


def test_weekly_trend(hand: dict[str, Path]) -> None:
    result, _, _ = scorecard(hand)
    # week ends back from the as-of date to the first event (2019-03-25)
    assert result.week_ends == [dt.date(2019, 3, 25), dt.date(2019, 4, 1), dt.date(2019, 4, 8),
                                dt.date(2019, 4, 15), dt.date(2019, 4, 22)]
    c = cells(result)
    assert c["S2", "login", "teacher"].weekly == [0.5, 0.5, 0.5, 1.0, 1.0]
    assert c["S1", "login", "teacher"].weekly == [0.0, 0.25, 0.25, 0.5, 0.5]
    assert c["S2", "training", "teacher"].weekly == [0.0, 0.5, 0.5, 0.5, 1.0]
    assert result.weekly_at_target() == [0, 0, 0, 0, 0]


def test_decision_rules(hand: dict[str, Path]) -> None:
    result, metrics, _ = scorecard(hand)
    passed, reasons = decision(result, metrics.decision)
    assert not passed
    assert reasons == ["0 of 2 schools (0.0%) at every target by 2019-04-22; the rule asks "
                       "50%: NOT met"]
    ok, why = decision(result, Decision(schools_at_target=0.0, students_at_target=0.0,
                                        max_schools_far_behind=1, far_behind_gap=0.3))
    # S1's gap 0.308 is far behind at 0.3; one allowed
    assert ok and why[-1] == "1 schools far behind (gap 30% or more); the rule allows 1: met"
    ok, why = decision(result, Decision(schools_at_target=0.0, max_schools_far_behind=0,
                                        far_behind_gap=0.25))
    assert not ok and why[-1].endswith("the rule allows 0: NOT met")


def test_before_go_live_cells_are_projected(hand: dict[str, Path]) -> None:
    result, _, _ = scorecard(hand, as_of=dt.date(2019, 4, 12))
    c = cells(result)
    cell = c["S2", "login", "teacher"]
    assert not cell.final and cell.value == 1.0
    # a share cannot fall: the projection is at least the value so far
    assert cell.projected == 1.0 and cell.passed
    lead = c["S2", "lead", "teacher"]
    # as of 04-12: t5 28 days, t6 10 -> 19; not projected
    assert lead.projected is None and lead.value == 19.0
    s1 = c["S1", "login", "teacher"]
    assert s1.low is not None and s1.low <= s1.projected <= s1.high
    assert 0 <= result.projection.low <= result.projection.high <= len(result.schools)


@pytest.mark.parametrize(("rule", "code"), [("0.5", 3), ("0.0", 0)])
def test_exit_code_follows_the_combine_rule(hand: dict[str, Path], rule: str, code: int,
                                            monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    text = hand["metrics"].read_text().replace("schools_at_target: 0.5",
                                               f"schools_at_target: {rule}")
    hand["metrics"].write_text(text)
    monkeypatch.chdir(hand["metrics"].parent)
    assert main(["readiness", "--roster", "staff.csv", "--columns", COLUMNS, "--activity",
                 "log.csv", "--metrics", "readiness.yaml", "--go-live", "2019-04-22",
                 "--out", "out"]) == code
    shown = capsys.readouterr().out
    assert ("People readiness: READY" in shown) == (code == 0)
    assert "1 of 9 people in the log (1 events) are not in the roster: ghost" in shown
