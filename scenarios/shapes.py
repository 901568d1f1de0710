"""How a window spreads its sessions over time: the cumulative share of a flat or a triangular
(peak) window reached by a clock time. Slots integrate these exactly, so a curve's sessions add
up to population x factors whatever the resolution."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Spread:
    """`share` of an activity over [lo, hi) (clock seconds); a triangle when `apex` is set."""

    lo: float
    hi: float
    share: float
    apex: float | None = None

    def cdf(self, x: float) -> float:
        """The part of this window's share reached by clock time `x`, 0..1."""
        lo, hi, c = self.lo, self.hi, self.apex
        if x <= lo:
            return 0.0
        if x >= hi:
            return 1.0
        if c is None:
            return (x - lo) / (hi - lo)
        if x <= c:
            return (x - lo) ** 2 / ((hi - lo) * (c - lo))
        return 1.0 - (hi - x) ** 2 / ((hi - lo) * (hi - c))

    def between(self, a: float, b: float) -> float:
        """The share of the activity falling in [a, b)."""
        return self.share * (self.cdf(b) - self.cdf(a))
