"""Re-arrival and typed passwords: what makes a login storm bigger than the people in it.

A person whose session failed at login (gave up after timeouts or no answer, 429/5xx on every
attempt, locked out, or mistyped the password too often) comes back: after a lognormal delay
whose median is in simulated minutes (``return_delay_median_minutes``, converted to real
seconds by the plan's ``speed``), as the same identity, up to ``max_returns`` times. Every
typed password is wrong with probability ``typo_rate``; the person retypes, up to
`MAX_TYPOS` wrong passwords in one login, then gives up for this visit — so repeated typos
(and returns) reach the SIS's lockout.

Mid-session errors (a 5xx on a page after the login) send nobody back: the click path goes on
past them, so the person got most of what they came for. Only a failed login does.

`planned` is what the plan expects of it, for `firstbell plan`, summary.json and the report.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

from loadtests.feeding import Ticket
from loadtests.plan import LoadPlan
from loadtests.stats import key

MAX_TYPOS = 3  # wrong passwords a person types in one login before giving up this visit
# How a failed login ends the session in a way that sends the person back later
RETURN_OUTCOMES = frozenset({"gave_up", "locked", "typo"})


def return_delay_seconds(rng: random.Random, plan: LoadPlan) -> float:
    """Real seconds until a person comes back: lognormal, median in simulated minutes."""
    simulated = rng.lognormvariate(math.log(plan.return_delay_median_minutes * 60.0),
                                   plan.return_delay_sigma)
    return simulated / plan.speed


def send_back(plan: LoadPlan, ticket: Ticket, row: int, failed: str | None,
              rng: random.Random, *, now: float, t0_perf: float,
              record: Callable[[str], None],
              later: Callable[[float, Ticket], None]) -> bool:
    """After a session: if its login failed in a way that sends the person back, and they
    have returns left, queue their return (`later(delay, ticket)`, the same identity `row`)
    and say True; a return due after the plan's end is dropped and counted instead."""
    if ticket.closed or failed not in RETURN_OUTCOMES or ticket.returns >= plan.max_returns:
        return False
    delay = return_delay_seconds(rng, plan)
    due = now + delay
    if due > t0_perf + plan.duration:  # after the plan's end: the run is over for them
        record(key("returns", ticket.persona, "dropped"))
        return False
    record(key("returns", ticket.persona, "scheduled"))
    later(delay, Ticket(ticket.persona, due, row=row, returns=ticket.returns + 1))
    return True


def typo_password(password: str) -> str:
    """A password as mistyped: never the right one."""
    return f"{password}~"


def planned(plan: LoadPlan) -> dict[str, Any]:
    """The plan's expected amplification under its knobs, per person (first visit).

    - ``typo``: no failures but typos — attempts per person 1 + p + p² (each typed password
      wrong with p, at most `MAX_TYPOS`), sessions per person 1 + q + q² … with q = p³ the
      chance a visit ends in typos alone (up to ``max_returns`` returns).
    - ``bound``: every session fails at login — 1 + ``max_returns`` sessions, each with
      ``login_attempts`` attempts (and its typos): the most a person can cost.
    """
    p, returns, attempts = plan.typo_rate, plan.max_returns, plan.login_attempts
    typed = sum(p ** k for k in range(MAX_TYPOS))        # passwords typed per attempt
    fail = p ** MAX_TYPOS                                # a visit lost to typos alone
    sessions = sum(fail ** k for k in range(returns + 1))
    return {
        "max_returns": returns, "login_attempts": attempts, "typo_rate": p,
        "return_delay_median_minutes": plan.return_delay_median_minutes,
        "return_delay_sigma": plan.return_delay_sigma,
        "typo": {"sessions_per_person": round(sessions, 4),
                 "attempts_per_person": round(sessions * typed, 4)},
        "bound": {"sessions_per_person": float(1 + returns),
                  "attempts_per_person": round((1 + returns) * attempts * typed, 4)},
    }


def measured(counters: dict[tuple[str, ...], float], logins: dict[tuple[str, ...], float],
             attempts: dict[tuple[str, ...], float], personas: tuple[str, ...],
             people: dict[tuple[str, ...], float], sessions: dict[tuple[str, ...], float]
             ) -> dict[str, Any]:
    """The run's amplification from its counters (families ``returns``, ``logins``,
    ``login_attempts``, ``people``, ``sessions``): per persona that logs in people, and in
    all. People are distinct identities that started a session."""
    rows: dict[str, dict[str, Any]] = {}
    for persona in personas:
        n = people.get((persona,), 0)
        if not n:
            continue
        first = sessions.get((persona, "started"), 0) - sessions.get((persona, "closed"), 0)
        back = counters.get((persona, "started"), 0)
        tried = attempts.get((persona,), 0)
        rows[persona] = {
            "people": int(n), "first_sessions": int(first), "returns": int(back),
            "returns_scheduled": int(counters.get((persona, "scheduled"), 0)),
            "returns_dropped": int(counters.get((persona, "dropped"), 0)),
            "login_attempts": int(tried), "typos": int(logins.get((persona, "typo"), 0)),
            "locked": int(logins.get((persona, "locked"), 0))}
    total: dict[str, Any] = {k: sum(r[k] for r in rows.values()) for k in (
        "people", "first_sessions", "returns", "returns_scheduled", "returns_dropped",
        "login_attempts", "typos", "locked")}
    for row in (*rows.values(), total):
        n = row["people"]
        row["sessions_per_person"] = round((row["first_sessions"] + row["returns"]) / n, 4) \
            if n else None
        row["attempts_per_person"] = round(row["login_attempts"] / n, 4) if n else None
    return {**total, "personas": rows}
