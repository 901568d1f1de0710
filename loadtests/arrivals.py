"""Open-model arrivals: sessions of each persona arrive as a Poisson process whose rate follows
the plan's stages, whatever the target's speed.

The rate is piecewise constant (one value per persona per stage), so the schedule is exact: each
gap is an Exp(1) draw spent against the integral of the rate, carried across stage boundaries.
A worker that carries 1/n of the load draws its own process at rate/n from its own stream; the
sum of n independent Poisson processes of rate r/n is a Poisson process of rate r, so splitting
across workers changes nothing about the arrivals the target sees.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RateStage:
    """`rates` (sessions per second, per persona) held for `seconds`."""

    seconds: float
    rates: Mapping[str, float]


class RateCurve:
    """Piecewise-constant arrival rates over run time (seconds from the start)."""

    def __init__(self, stages: Sequence[RateStage]) -> None:
        self.stages = tuple(stages)
        self.ends = np.cumsum([s.seconds for s in self.stages]) if self.stages else np.zeros(0)

    @property
    def duration(self) -> float:
        return float(self.ends[-1]) if len(self.ends) else 0.0

    @property
    def personas(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for stage in self.stages:
            seen.update(dict.fromkeys(p for p, r in stage.rates.items() if r > 0))
        return tuple(seen)

    def stage_at(self, t: float) -> int:
        """Index of the stage running at `t` (the last one after the end)."""
        return min(int(np.searchsorted(self.ends, t, side="right")), len(self.stages) - 1)

    def rate(self, persona: str, t: float) -> float:
        if t < 0 or t >= self.duration:
            return 0.0
        return float(self.stages[self.stage_at(t)].rates.get(persona, 0.0))

    def peak(self, persona: str, start: float, end: float) -> float:
        """The highest rate of `persona` during [start, end) (0 after the curve's end)."""
        if start >= self.duration or end <= 0:
            return 0.0
        lo, hi = self.stage_at(max(start, 0.0)), self.stage_at(min(max(end, 0.0),
                                                                     self.duration - 1e-9))
        return max((float(self.stages[i].rates.get(persona, 0.0)) for i in range(lo, hi + 1)),
                   default=0.0)

    def expected(self, persona: str, start: float, end: float) -> float:
        """Expected arrivals of `persona` in [start, end): the integral of its rate."""
        total, begin = 0.0, 0.0
        for stage, stop in zip(self.stages, self.ends, strict=True):
            lo, hi = max(begin, start), min(float(stop), end)
            if hi > lo:
                total += (hi - lo) * float(stage.rates.get(persona, 0.0))
            begin = float(stop)
        return total


def arrival_times(curve: RateCurve, persona: str, rng: np.random.Generator, *,
                  share: float = 1.0, start: float = 0.0) -> Iterator[float]:
    """The arrival times (run seconds) of `persona` from `start` to the curve's end, at
    `share` of its rate."""
    draws = _exponentials(rng)
    t, index = start, curve.stage_at(start)
    budget = next(draws)
    while index < len(curve.stages):
        rate = float(curve.stages[index].rates.get(persona, 0.0)) * share
        stage_end = float(curve.ends[index])
        if rate > 0 and t + budget / rate < stage_end:
            t += budget / rate
            budget = next(draws)
            yield t
            continue
        budget -= (stage_end - t) * rate
        t, index = stage_end, index + 1


def _exponentials(rng: np.random.Generator, batch: int = 4096) -> Iterator[float]:
    """Exp(1) draws, taken from numpy in batches (one draw per call costs ~1 µs more)."""
    while True:
        yield from rng.exponential(size=batch).tolist()


def merged_arrivals(curve: RateCurve, streams: Mapping[str, np.random.Generator], *,
                    share: float = 1.0) -> Iterator[tuple[float, str]]:
    """Every persona's arrivals in time order, as (run seconds, persona)."""
    heads: list[tuple[float, str, Iterator[float]]] = []
    for persona, rng in streams.items():
        times = arrival_times(curve, persona, rng, share=share)
        first = next(times, None)
        if first is not None:
            heads.append((first, persona, times))
    heapq.heapify(heads)
    while heads:
        t, persona, times = heads[0]
        yield t, persona
        following = next(times, None)
        if following is None:
            heapq.heappop(heads)
        else:
            heapq.heapreplace(heads, (following, persona, times))
