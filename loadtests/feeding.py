"""What feeds an engine's queue of sessions: the open-model schedule (Poisson arrivals at
the plan's rates, each ticket queued when it is due), the closed-loop refill of capacity
sweeps (a new session the moment one ends), and the drain at the end of the plan.

It sees its load process through a `Feed`: the plan and this process's share of it, where the
tickets go, and whom to tell that the sessions have drained."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import gevent
import numpy as np
from gevent.queue import Queue

from loadtests.arrivals import merged_arrivals
from loadtests.plan import LoadPlan
from loadtests.stats import key

log = logging.getLogger("firstbell")

SCHEDULE_RESOLUTION = 0.001  # arrivals due this close together are queued in one wake-up
CLOSED_BACKOFF = 0.5  # seconds a closed-loop slot waits when no identity is free
CLOSED_TICK = 0.02    # how often the closed loop tops its stages up


class Ticket(NamedTuple):
    persona: str
    intended: float   # perf_counter time the session was meant to start
    closed: bool = False  # a closed-loop session: the next one starts when it ends
    row: int = -1         # a return: the person's identity (held for them meanwhile)
    returns: int = 0      # a return: which one (1, 2, …); 0 for a first arrival


@dataclass(frozen=True)
class Feed:
    """One load process's share of the plan, the queue and counts it shares with the sessions,
    and whom it tells when they have drained."""

    plan: LoadPlan
    index: int                     # this load process, of `count`
    count: int
    t0_perf: float                 # perf_counter time of the plan's second 0
    target: str                    # the click paths' target, for warnings
    runnable: frozenset[str]       # personas with a click path on the target
    identities: Mapping[str, int]  # free identities per pooled persona (no pool: anonymous)
    queue: Queue[Ticket]
    record: Callable[[str], None]  # counts one on the process's recorder
    closed_live: dict[str, int]    # closed-loop sessions queued or running; sessions decrement
    busy: Mapping[str, int]        # sessions running per persona, kept by the sessions
    drained: Callable[[], None]    # the plan is over, its sessions ended (or the drain time)


def stream(seed: int, index: int, persona: str) -> Any:
    return np.random.default_rng([seed, index, *persona.encode()])


def _warn_unrunnable(feed: Feed) -> None:
    for persona in feed.plan.personas:
        if persona not in feed.runnable:
            log.warning("persona %r has no click path on target %r; its sessions are"
                        " ignored", persona, feed.target)
        elif persona in feed.identities and not feed.identities[persona]:
            log.warning("persona %r has no identity in this process's share of the user"
                        " pool (integration clients come from --oneroster-client): every"
                        " session will be dropped", persona)


def schedule(feed: Feed) -> None:
    """Queue every arrival of this process's share when it is due, then drain."""
    plan, curve = feed.plan, feed.plan.curve
    _warn_unrunnable(feed)
    streams = {p: stream(plan.seed, feed.index, p) for p in curve.personas
               if p in feed.runnable}
    scheduled = {p: key("scheduled", p) for p in streams}
    for t, persona in merged_arrivals(curve, streams, share=1.0 / feed.count):
        due = feed.t0_perf + t
        delay = due - time.perf_counter()
        if delay > SCHEDULE_RESOLUTION:  # a wake-up per arrival would cost more than a ms
            gevent.sleep(delay)
        feed.record(scheduled[persona])
        feed.queue.put(Ticket(persona, due))
    # The plan may end with closed-loop stages, or simply after its last arrival.
    gevent.sleep(max(0.0, feed.t0_perf + curve.duration - time.perf_counter()))
    gevent.spawn(drain, feed)


def closed_loop(feed: Feed) -> None:
    """Closed-loop stages (capacity sweeps): keep this process's share of each stage's users
    in sessions, a new one queued the moment one ends; none between such stages."""
    plan = feed.plan
    while True:
        elapsed = time.perf_counter() - feed.t0_perf
        if elapsed >= plan.duration:
            return
        wanted = plan.stages[plan.curve.stage_at(max(elapsed, 0.0))].users \
            if elapsed >= 0 else {}
        for persona, total in wanted.items():
            if persona not in feed.runnable:
                continue  # _warn_unrunnable said so
            mine = total // feed.count + (1 if feed.index < total % feed.count else 0)
            while feed.closed_live.get(persona, 0) < mine:
                feed.closed_live[persona] = feed.closed_live.get(persona, 0) + 1
                feed.queue.put(Ticket(persona, time.perf_counter(), closed=True))
        gevent.sleep(CLOSED_TICK)


def drain(feed: Feed) -> None:
    """The plan is over: arrivals still waiting for a user once they are late are dropped
    (the run has ended for them), sessions in flight may finish."""
    gevent.sleep(feed.plan.late_after_seconds)
    while not feed.queue.empty():
        ticket = feed.queue.get_nowait()
        # a return still waiting is counted apart: arrivals are judged on first arrivals
        feed.record(key("returns", ticket.persona, "dropped") if ticket.returns
                    else key("sessions", ticket.persona, "dropped"))
    deadline = time.perf_counter() + feed.plan.drain_seconds
    while time.perf_counter() < deadline and any(feed.busy.values()):
        gevent.sleep(0.2)
    feed.drained()
