"""Re-arrival, unit by unit (issue 18): the return delays follow the ledger's lognormal in
simulated minutes, a person comes back at most `max_returns` times and never after the plan's
end, and the plan's expected amplification is what the docs say."""

from __future__ import annotations

import json
import math
import random
import statistics
import time
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from loadtests.feeding import Ticket
from loadtests.plan import build_plan
from loadtests.returns import (
    MAX_TYPOS,
    measured,
    planned,
    return_delay_seconds,
    send_back,
    typo_password,
)
from loadtests.stats import Recorder
from scenarios.compute import PLAN_ASSUMPTIONS
from scenarios.model import DEFAULTS_FILE

STAGES = [{"seconds": 600, "rates": {"student": 1}}]


def plan(**knobs: Any) -> Any:
    return build_plan({"stages": STAGES, **knobs})


def test_return_delays_follow_the_ledgers_lognormal_in_simulated_minutes() -> None:
    p = plan(speed=60, return_delay_median_minutes=3, return_delay_sigma=0.8)
    rng = random.Random(7)
    draws = [return_delay_seconds(rng, p) for _ in range(20000)]
    # 3 simulated minutes at speed 60 are 3 real seconds: the median, within sampling error
    assert statistics.median(draws) == pytest_approx(3.0, 0.05)
    logs = [math.log(d) for d in draws]
    assert statistics.mean(logs) == pytest_approx(math.log(3.0), 0.02)
    assert statistics.stdev(logs) == pytest_approx(0.8, 0.02)
    # seeded: the same stream draws the same delays
    assert return_delay_seconds(random.Random(1), p) == return_delay_seconds(random.Random(1), p)


def pytest_approx(value: float, rel: float) -> Any:
    import pytest
    return pytest.approx(value, rel=rel)


class _Engine:
    """What `send_back` needs of a load process: its plan, counts and queue (returns come
    back at once here, their delay kept with them)."""

    def __init__(self, p: Any, t0: float) -> None:
        self.plan, self.t0_perf, self.recorder = p, t0, Recorder()
        self.queue: list[tuple[float, Ticket]] = []

    def back(self, ticket: Ticket, row: int, browser: Any) -> bool:
        return send_back(self.plan, ticket, row, browser.login_failed, browser.rng,
                         now=time.perf_counter(), t0_perf=self.t0_perf,
                         record=self.recorder.count,
                         later=lambda delay, t: self.queue.append((delay, t)))


def _engine(p: Any, t0: float) -> _Engine:
    return _Engine(p, t0)


def _browser(outcome: str | None, seed: int = 1) -> Any:
    return SimpleNamespace(login_failed=outcome, rng=random.Random(seed))


def test_a_failed_person_comes_back_as_the_same_identity_at_most_max_returns_times() -> None:
    # 1 simulated minute at speed 600 is 0.1 s: every return is due within the test
    p = plan(speed=600, max_returns=2, return_delay_median_minutes=1, return_delay_sigma=0.5)
    engine = _engine(p, time.perf_counter())
    sessions: dict[int, int] = {}
    for row in range(20):
        ticket: Ticket | None = Ticket("student", time.perf_counter(), row=row)
        while ticket is not None:  # every login fails: the person asks to come back
            assert ticket.row == row and ticket.returns == sessions.get(row, 0)
            sessions[row] = sessions.get(row, 0) + 1
            sent = engine.back(ticket, row, _browser("gave_up", row * 10 + 1))
            ticket = engine.queue.pop()[1] if sent else None
    assert sessions == dict.fromkeys(range(20), 3)  # the first visit and 2 returns, no more
    assert engine.recorder.delta.counters == {"returns|student|scheduled": 40}


def test_no_return_for_a_success_a_refusal_a_closed_loop_session_or_after_the_end() -> None:
    p = plan(speed=60, max_returns=2)
    engine = _engine(p, time.perf_counter())
    ticket = Ticket("student", time.perf_counter(), row=3)
    assert not engine.back(ticket, 3, _browser(None))
    assert not engine.back(ticket, 3, _browser("refused"))
    assert not engine.back(ticket._replace(closed=True), 3, _browser("locked"))
    assert not engine.back(ticket._replace(returns=2), 3, _browser("locked"))
    assert engine.recorder.delta.counters == {}
    # the plan ends in 600 s; a return 3 simulated minutes (180 s) later is past it: dropped
    late = _engine(p, time.perf_counter() - 599)
    assert not late.back(ticket, 3, _browser("gave_up"))
    assert late.recorder.delta.counters == {"returns|student|dropped": 1}
    assert not late.queue
    for outcome in ("gave_up", "locked", "typo"):
        assert _engine(p, time.perf_counter()).back(ticket, 3, _browser(outcome))


def test_a_return_is_the_same_person_with_the_next_count() -> None:
    p = plan(speed=6000, max_returns=3, return_delay_median_minutes=1, return_delay_sigma=0)
    engine = _engine(p, time.perf_counter())
    assert engine.back(Ticket("student", 0.0, row=9, returns=1), 9,
                             _browser("locked"))
    delay, back = engine.queue.pop()
    assert delay == pytest.approx(60 / 6000)  # sigma 0: exactly the median, 1 simulated min
    assert (back.persona, back.row, back.returns, back.closed) == ("student", 9, 2, False)


def test_the_plans_expected_amplification() -> None:
    none = planned(plan())
    assert none["typo"] == {"sessions_per_person": 1.0, "attempts_per_person": 1.0}
    assert none["bound"] == {"sessions_per_person": 1.0, "attempts_per_person": 3.0}
    p = 0.1
    a = planned(plan(max_returns=2, typo_rate=p, login_attempts=3))
    typed = 1 + p + p * p
    assert a["typo"]["attempts_per_person"] == round((1 + p**3 + p**6) * typed, 4)
    assert a["bound"] == {"sessions_per_person": 3.0, "attempts_per_person": round(9 * typed, 4)}
    assert planned(plan(max_returns=2, typo_rate=1.0))["typo"]["sessions_per_person"] == 3.0
    assert MAX_TYPOS == 3 and typo_password("s3cret") != "s3cret"


def test_measured_amplification_from_the_counters() -> None:
    m = measured({("student", "started"): 6, ("student", "scheduled"): 7,
                  ("student", "dropped"): 2},
                 {("student", "typo"): 1, ("student", "locked"): 1},
                 {("student",): 30}, ("student", "teacher"), {("student",): 10},
                 {("student", "started"): 10})
    assert m["people"] == 10 and m["returns"] == 6 and m["returns_dropped"] == 2
    assert m["sessions_per_person"] == 1.6 and m["attempts_per_person"] == 3.0
    assert list(m["personas"]) == ["student"]  # nobody of a persona: no row


def test_the_ledger_lines_become_plan_knobs() -> None:
    ledger = yaml.safe_load(DEFAULTS_FILE.read_text(encoding="utf-8"))
    for name, knob in (("login.max_returns", "max_returns"),
                       ("login.return_delay_median_minutes", "return_delay_median_minutes"),
                       ("login.return_delay_sigma", "return_delay_sigma"),
                       ("login.typo_rate", "typo_rate")):
        assert PLAN_ASSUMPTIONS[name][0] == knob
        assert ledger[name]["source"].startswith(("[S]", "[E]")), name


def test_firstbell_plan_shows_the_demand_with_and_without_retries() -> None:
    from typer.testing import CliRunner

    from firstbell.cli import app
    args = ["plan", "attendance-spike", "--scale", "0.1", "--assume", "login.typo_rate=0.5"]
    shown = CliRunner().invoke(app, args, terminal_width=200)
    assert shown.exit_code == 0, shown.output
    assert "Demand with and without retries" in shown.output
    assert "without retries (each person once)" in shown.output
    assert "if every login fails (the most)" in shown.output
    as_json = CliRunner().invoke(app, [*args, "--json"])
    retries = json.loads(as_json.output)["retries"]
    rows = retries["rows"]
    assert retries["typo_rate"] == 0.5 and retries["max_returns"] == 2
    first = rows["without_retries"]
    assert first["sessions"] == first["login_attempts"]
    # typed passwords: 1 + p + p² per attempt; the bound: 3 sessions of 3 attempts each
    assert rows["typos"]["attempts_per_person"] > 1.75
    assert rows["every_login_fails"]["login_attempts"] == pytest.approx(
        first["sessions"] * 3 * 3 * 1.75, rel=1e-3)
