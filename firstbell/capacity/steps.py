"""Reading a stepped arrival-rate search: which offered rate the target sustained, which rate to
try next, and the headroom over a forecast peak.

This module owns the search policy and its verdicts only. Running a step (offering `rate`
sessions/s and judging it against thresholds) is the caller's business; everything here is a
pure function of the steps run so far, so a search can be resumed or replayed from its record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    """One step of the search: `rate` offered sessions/s, `achieved` sessions/s actually started,
    `p95` latency in seconds, `error_ratio` in [0, 1], and whether it met its thresholds."""

    rate: float
    achieved: float
    p95: float
    error_ratio: float
    passed: bool


def _lowest_failure(steps: Sequence[Step]) -> float | None:
    failed = [s.rate for s in steps if not s.passed]
    return min(failed) if failed else None


def sustainable(steps: Sequence[Step]) -> Step | None:
    """The highest-rate step that passed with every lower-rate step passing too, or None.

    Order is by rate, not by when a step ran: a bisection step run after the first failure but
    below it counts. A pass at or above the lowest failing rate does not — a target that failed
    at 40/s and then passed at 50/s got lucky (a warm cache, a quiet neighbour), and capacity
    is the rate below which it has never failed.
    """
    ceiling = _lowest_failure(steps)
    below = [s for s in steps if s.passed and (ceiling is None or s.rate < ceiling)]
    if not below:
        return None
    best = max(s.rate for s in below)
    # A rate run twice: report the latest measurement of it.
    return [s for s in below if s.rate == best][-1]


def next_rates(steps: Sequence[Step], factor: float = 2.0, resolution: float = 0.1, *,
               min_rate: float = 0.1, max_rate: float | None = None) -> list[float]:
    """The next offered rate(s) to try, or [] when the search is done.

    The policy: while every step passes, multiply the highest rate by `factor` (capacity is
    unknown, so find an upper bound in logarithmically many steps). After the first failure,
    bisect between the highest passing rate below it and the lowest failing rate until their
    gap is below `resolution` × the passing rate — so the answer is within that fraction of the
    true capacity. If nothing has passed yet (the start rate was already too much), divide the
    lowest failing rate by `factor` until something passes.

    Two stops keep a broken or unbounded target from running the search forever: it gives up
    when a rate of `min_rate` (sessions/s) or less has already failed, and with `max_rate` set
    it stops growing there — a target that sustains `max_rate` has all the capacity asked of it.

    `steps` must hold at least the start step: the policy needs a rate to scale from.
    """
    if not steps:
        raise ValueError("next_rates needs at least one step; run the start rate first")
    if factor <= 1:
        raise ValueError(f"factor must be > 1; got {factor}")
    if resolution <= 0:
        raise ValueError(f"resolution must be > 0; got {resolution}")

    fail = _lowest_failure(steps)
    best = sustainable(steps)
    if fail is None:
        assert best is not None  # every step passed and there is at least one
        top = best.rate
        if max_rate is not None and top >= max_rate:
            return []
        grown = top * factor
        return [min(grown, max_rate) if max_rate is not None else grown]
    if best is None:
        if fail <= min_rate:
            return []
        return [max(fail / factor, min_rate)]
    if fail - best.rate < resolution * best.rate:
        return []
    return [(best.rate + fail) / 2.0]


def headroom(sustainable_rate: float, forecast_peak: float) -> float:
    """How many times the forecast peak the target sustains: 1.5 means 50% to spare, below 1
    means the forecast day would overrun it."""
    if forecast_peak <= 0:
        raise ValueError(f"forecast_peak must be > 0; got {forecast_peak}")
    if sustainable_rate < 0:
        raise ValueError(f"sustainable_rate must be ≥ 0; got {sustainable_rate}")
    return sustainable_rate / forecast_peak
