"""How many users the engine asks Locust for."""

from __future__ import annotations

import math

from loadtests.arrivals import RateCurve, RateStage
from loadtests.provisioning import (
    MIN_SPAWN_RATE,
    USERS_PER_PROCESS,
    next_target,
    session_estimate,
    users_needed,
)

CURVE = RateCurve([RateStage(60.0, {"teacher": 2.0, "guardian": 8.0}),
                   RateStage(60.0, {"teacher": 20.0})])


def test_little_law_plus_three_sigma() -> None:
    # at t=0 (next 10 s in stage 1): L = 2 x 30 + 8 x 10 = 140 -> 140 + 3 sqrt(140) + 2 spare
    demand = users_needed(CURVE, 0.0, lambda p: {"teacher": 30.0, "guardian": 10.0}[p],
                          busy=0, queued=0, workers=1, cap=None)
    assert demand.users == math.ceil(140 + 3 * math.sqrt(140)) + 2 == 178
    assert demand.capped == 178


def test_provisions_ahead_of_a_rising_rate() -> None:
    # at t=55 the next 10 s reach stage 2: teacher's peak 20/s and guardian's 8/s, x 30 s:
    # L = 840 -> 840 + 3 sqrt(840) + 2
    demand = users_needed(CURVE, 55.0, lambda p: 30.0, busy=0, queued=0, workers=1, cap=None)
    assert demand.users == math.ceil(840 + 3 * math.sqrt(840)) + 2 == 929


def test_busy_users_and_waiting_arrivals_grow_it() -> None:
    # sessions longer than measured: 100 busy -> 125, plus waiting arrivals capped by busy + spare
    demand = users_needed(CURVE, 0.0, lambda p: 1.0, busy=100, queued=5000, workers=2, cap=None)
    assert demand.users == 125 + (100 + 4) + 4


def test_capped_per_process_or_by_max_users() -> None:
    big = users_needed(CURVE, 70.0, lambda p: 600.0, busy=0, queued=0, workers=3, cap=None)
    assert big.users > big.capped == 3 * USERS_PER_PROCESS
    assert users_needed(CURVE, 70.0, lambda p: 600.0, busy=0, queued=0, workers=3,
                        cap=50).capped == 50
    # a plan past its end needs only the spare users, and at least one per process
    assert users_needed(CURVE, 500.0, lambda p: 1.0, busy=0, queued=0, workers=4,
                        cap=None).capped == 8


def test_grow_in_steps_never_shrink_and_not_while_out_of_cpu() -> None:
    assert next_target(0, 40, saturated=False, workers=1, rate=1.0) == (40, MIN_SPAWN_RATE)
    assert next_target(0, 400, saturated=False, workers=1, rate=1.0) == (400, 800.0)  # in 0.5 s
    assert next_target(100, 103, saturated=False, workers=1, rate=5.0)[0] == 110  # >= 10%
    assert next_target(100, 60, saturated=False, workers=1, rate=5.0) == (100, 5.0)
    assert next_target(100, 500, saturated=True, workers=1, rate=5.0) == (100, 5.0)
    assert next_target(0, 10, saturated=True, workers=2, rate=1.0) == (10, 2 * MIN_SPAWN_RATE)


def test_session_estimates() -> None:
    seconds = session_estimate({"teacher": 12.0}, {"guardian": 40.0}, 30.0,
                               think_scale=lambda p: 0.5)
    assert seconds("teacher") == 12.0                 # measured
    assert seconds("guardian") == 40.0 * 0.5 + 0.01   # declared by the target
    assert seconds("clerk") == 30.0 * 0.5 + 0.01      # the plan's fallback
