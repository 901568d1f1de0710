"""What feeds an engine's queue of sessions: the open-model schedule (Poisson arrivals at
the plan's rates, each ticket queued when it is due), the closed-loop refill of capacity
sweeps (a new session the moment one ends), and the drain at the end of the plan."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, NamedTuple

import gevent
import numpy as np

from loadtests.arrivals import merged_arrivals
from loadtests.stats import key

if TYPE_CHECKING:
    from loadtests.engine import Engine

log = logging.getLogger("firstbell")

SCHEDULE_RESOLUTION = 0.001  # arrivals due this close together are queued in one wake-up
CLOSED_BACKOFF = 0.5  # seconds a closed-loop slot waits when no identity is free
CLOSED_TICK = 0.02    # how often the closed loop tops its stages up


class Ticket(NamedTuple):
    persona: str
    intended: float   # perf_counter time the session was meant to start
    closed: bool = False  # a closed-loop session: the next one starts when it ends


def stream(seed: int, index: int, persona: str) -> Any:
    return np.random.default_rng([seed, index, *persona.encode()])


def _warn_unrunnable(engine: Engine) -> None:
    for persona in engine.plan.personas:
        if persona not in engine.target.click_paths:
            log.warning("persona %r has no click path on target %r; its sessions are"
                        " ignored", persona, engine.target.name)
        elif engine.pool is not None and persona in engine.pool.free \
                and not engine.pool.size(persona):
            log.warning("persona %r has no identity in this process's share of the user"
                        " pool (integration clients come from --oneroster-client): every"
                        " session will be dropped", persona)


def schedule(engine: Engine) -> None:
    """Queue every arrival of this process's share when it is due, then drain."""
    plan, curve = engine.plan, engine.plan.curve
    _warn_unrunnable(engine)
    streams = {p: stream(plan.seed, engine.index, p) for p in curve.personas
               if p in engine.target.click_paths}
    scheduled = {p: key("scheduled", p) for p in streams}
    for t, persona in merged_arrivals(curve, streams, share=1.0 / engine.count):
        due = engine.t0_perf + t
        delay = due - time.perf_counter()
        if delay > SCHEDULE_RESOLUTION:  # a wake-up per arrival would cost more than a ms
            gevent.sleep(delay)
        engine.recorder.count(scheduled[persona])
        engine.queue.put(Ticket(persona, due))
    # The plan may end with closed-loop stages, or simply after its last arrival.
    gevent.sleep(max(0.0, engine.t0_perf + curve.duration - time.perf_counter()))
    engine.schedule_done = True
    gevent.spawn(drain, engine)


def closed_loop(engine: Engine) -> None:
    """Closed-loop stages (capacity sweeps): keep this process's share of each stage's users
    in sessions, a new one queued the moment one ends; none between such stages."""
    plan = engine.plan
    while True:
        elapsed = time.perf_counter() - engine.t0_perf
        if elapsed >= plan.duration:
            return
        wanted = plan.stages[plan.curve.stage_at(max(elapsed, 0.0))].users \
            if elapsed >= 0 else {}
        for persona, total in wanted.items():
            if persona not in engine.target.click_paths:
                continue  # _warn_unrunnable said so
            mine = total // engine.count + (1 if engine.index < total % engine.count else 0)
            while engine.closed_live.get(persona, 0) < mine:
                engine.closed_live[persona] = engine.closed_live.get(persona, 0) + 1
                engine.queue.put(Ticket(persona, time.perf_counter(), closed=True))
        gevent.sleep(CLOSED_TICK)


def drain(engine: Engine) -> None:
    """The plan is over: arrivals still waiting for a user once they are late are dropped
    (the run has ended for them), sessions in flight may finish."""
    gevent.sleep(engine.plan.late_after_seconds)
    while not engine.queue.empty():
        ticket = engine.queue.get_nowait()
        engine.recorder.count(key("sessions", ticket.persona, "dropped"))
    deadline = time.perf_counter() + engine.plan.drain_seconds
    while time.perf_counter() < deadline and any(engine.busy.values()):
        gevent.sleep(0.2)
    engine.send_final()
