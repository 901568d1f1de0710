"""Feeding on its own, through its `Feed` (no engine, no Locust): the schedule queues this
process's share of the arrivals and counts each, the drain drops what no user took and says so,
the closed loop keeps its share of a stage's sessions queued, and the warnings about personas
that cannot run."""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any

import gevent
import pytest
from gevent.queue import Queue

from loadtests import feeding
from loadtests.feeding import Feed, Ticket
from loadtests.plan import build_plan, constant_plan


def feed(plan: Any, *, index: int = 0, count: int = 1, runnable: tuple[str, ...] = ("teacher",),
         identities: dict[str, int] | None = None) -> tuple[Feed, Counter[str], list[str]]:
    counts: Counter[str] = Counter()
    told: list[str] = []
    return Feed(plan=plan, index=index, count=count, t0_perf=time.perf_counter(),
                target="staging", runnable=frozenset(runnable),
                identities={"teacher": 10} if identities is None else identities,
                queue=Queue(), record=lambda name: counts.update([name]), closed_live={},
                busy={}, drained=lambda: told.append("drained")), counts, told


def test_the_schedule_queues_and_counts_each_arrival_then_the_drain_drops_the_rest() -> None:
    plan = constant_plan({"teacher": 40.0}, 1.0, {"late_after_seconds": 0.05})
    f, counts, told = feed(plan)
    queued: list[Ticket] = []

    def take() -> None:  # a user slot that takes tickets until the plan has ended
        while time.perf_counter() < f.t0_perf + 0.5:
            queued.append(f.queue.get())

    taker = gevent.spawn(take)
    gevent.spawn(feeding.schedule, f)
    with gevent.Timeout(10):
        while not told:
            gevent.sleep(0.05)
    taker.kill()
    scheduled = counts["scheduled|teacher"]
    assert 10 <= scheduled <= 80  # 40 per second for 1 s
    assert all(t.persona == "teacher" and not t.closed for t in queued)
    assert [t.intended for t in queued] == sorted(t.intended for t in queued)
    assert counts["sessions|teacher|dropped"] == scheduled - len(queued) > 0
    assert f.queue.empty() and told == ["drained"]


def test_each_process_schedules_its_own_share() -> None:
    plan = constant_plan({"teacher": 40.0}, 0.5, {"late_after_seconds": 0.0})
    totals = []
    for index in range(2):
        f, counts, told = feed(plan, index=index, count=2)
        with gevent.Timeout(10):
            feeding.schedule(f)
            while not told:
                gevent.sleep(0.02)
        totals.append(counts["scheduled|teacher"])
    alone, counts, told = feed(plan, count=1)
    with gevent.Timeout(10):
        feeding.schedule(alone)
        while not told:
            gevent.sleep(0.02)
    assert all(0 < t < counts["scheduled|teacher"] for t in totals)


def test_the_drain_waits_for_sessions_in_flight() -> None:
    plan = constant_plan({"teacher": 1.0}, 1.0, {"late_after_seconds": 0.0,
                                                 "drain_seconds": 5.0})
    f, _, told = feed(plan)
    busy = f.busy
    assert isinstance(busy, dict)
    busy["teacher"] = 1
    gevent.spawn(feeding.drain, f)
    gevent.sleep(0.3)
    assert told == []
    busy["teacher"] = 0
    gevent.sleep(0.3)
    assert told == ["drained"]


def test_the_closed_loop_keeps_its_share_of_a_stage_queued() -> None:
    plan = build_plan({"stages": [{"seconds": 0.3, "users": {"teacher": 5, "clerk": 2}}]},
                      None, source="test")
    f, _, _ = feed(plan, index=1, count=2)
    with gevent.Timeout(10):
        feeding.closed_loop(f)  # returns when the plan has
    tickets = [f.queue.get_nowait() for _ in range(f.queue.qsize())]
    # process 1 of 2: two of the five teachers; clerk has no click path here
    assert [t.persona for t in tickets] == ["teacher", "teacher"]
    assert all(t.closed for t in tickets) and f.closed_live == {"teacher": 2}


def test_personas_that_cannot_run_are_named(caplog: pytest.LogCaptureFixture) -> None:
    plan = constant_plan({"teacher": 1.0, "clerk": 1.0, "visitor": 1.0}, 0.1)
    f, _, _ = feed(plan, runnable=("teacher", "visitor"), identities={"teacher": 0})
    with caplog.at_level(logging.WARNING, logger="firstbell"):
        feeding._warn_unrunnable(f)
    messages = [r.getMessage() for r in caplog.records]
    assert any("'clerk' has no click path on target 'staging'" in m for m in messages)
    assert any("'teacher' has no identity" in m for m in messages)
    assert not any("visitor" in m for m in messages)  # anonymous: needs no identity
