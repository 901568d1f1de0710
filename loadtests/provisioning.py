"""How many Locust users an open-model run needs, as pure functions of what the hub knows.

Users are execution slots for sessions. Sessions in flight in an open model are Poisson with
mean L = arrival rate x session length (Little's law), so L + 3 sqrt(L) slots leave a free one
for 99.9% of arrivals even when L is small. Users busy now (x 1.25) cover sessions that run
longer than measured; arrivals already waiting add users, at most as many as are busy per tick,
so growth is geometric without a generator-made backlog flooding the process. Users are never
removed: stopping one stalls Locust's shape loop until its session ends, and an idle user costs a
parked greenlet.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from loadtests.arrivals import RateCurve

LOOKAHEAD = 10.0         # provision for the highest rate this far ahead
HEADROOM = 1.25          # users above those busy now
SPARE_USERS = 2          # per load process
GROW_STEP = 1.1          # grow by at least 10%, so Locust's dispatch is not redone every second
MIN_SPAWN_RATE = 100.0   # users per second per load process
SPAWN_SECONDS = 0.5      # a ramp-up finishes this fast: Locust's shape waits for it
USERS_PER_PROCESS = 700  # geventhttpclient checks pooled sockets with select(), which fails for
# file descriptors >= 1024: past ~1,000 users a process reconnects on every request


@dataclass(frozen=True)
class Demand:
    users: int      # what the arrivals need (before the cap)
    capped: int     # what may be provisioned


def users_needed(curve: RateCurve, t: float, session_seconds: Callable[[str], float],
                 busy: float, queued: float, workers: int, cap: int | None) -> Demand:
    """The users the next seconds need (`session_seconds(persona)`: measured or estimated)."""
    workers = max(workers, 1)
    little = sum(curve.peak(p, t, t + LOOKAHEAD) * session_seconds(p) for p in curve.personas)
    waiting = min(int(queued), int(busy) + SPARE_USERS * workers)
    wanted = (math.ceil(max(little + 3 * math.sqrt(little), busy * HEADROOM)) + waiting
              + SPARE_USERS * workers)
    limit = cap or USERS_PER_PROCESS * workers
    return Demand(wanted, min(limit, max(wanted, workers)))


def next_target(current: int, wanted: int, saturated: bool, workers: int,
                rate: float) -> tuple[int, float]:
    """The user count and spawn rate to ask Locust for: grow at once (by at least 10%), never
    shrink, and not at all while a load process is out of CPU (more users cannot help it)."""
    if current and saturated:
        wanted = min(wanted, current)
    if wanted <= current:
        return current, rate
    grow = max(wanted, math.ceil(current * GROW_STEP - 1e-9)) - current
    return current + grow, max(MIN_SPAWN_RATE * max(workers, 1), grow / SPAWN_SECONDS)


def session_estimate(measured: Mapping[str, float], declared: Mapping[str, float],
                     fallback: float, think_scale: Callable[[str], float],
                     request_seconds: float = 0.01) -> Callable[[str], float]:
    """Measured mean session seconds per persona; before any has ended, the target's declared
    think seconds (or `fallback`) x the persona's think scale, plus a little for the requests."""
    def seconds(persona: str) -> float:
        return measured.get(persona) or (declared.get(persona, fallback)
                                         * think_scale(persona) + request_seconds)
    return seconds
