"""The projection recovers a known adoption curve within its stated error: people adopt at
times drawn from a logistic curve (ceiling, rate, midpoint known), the scorecard sees only the
weeks before its as-of date, and the true share at the date must fall inside the 90% interval
in about 90% of trials (at least 80% of 40 here) with a small bias."""

from __future__ import annotations

import numpy as np
import pytest

from readiness import projection

CURVES = [  # ceiling, rate per week, midpoint (weeks from the date), people, last week seen
    (0.9, 0.6, -5.0, 300, -3),
    (0.97, 0.4, -8.0, 60, -2),
    (0.8, 0.8, -3.0, 150, -2),
]
TRIALS, REPLICATES = 40, 30


def trial(rng: np.random.Generator, k: float, r: float, t0: float, n: int,
          t: np.ndarray) -> np.ndarray:
    """Weekly shares of one sample of `n` people, first row as seen, then the replicates
    (Poisson(1) weights, as the scorecard draws them)."""
    u = rng.random(n)
    when = np.where(rng.random(n) < k, t0 + np.log(u / (1 - u)) / r, np.inf)
    done = (when[:, None] <= t[None, :]).astype(float)
    w = np.c_[np.ones(n), rng.poisson(1.0, (n, REPLICATES))]
    return (w.T @ done) / w.sum(axis=0)[:, None]


@pytest.mark.parametrize(("k", "r", "t0", "n", "last"), CURVES)
def test_the_interval_covers_the_true_share(k: float, r: float, t0: float, n: int,
                                            last: int) -> None:
    rng = np.random.default_rng(2026)
    t = np.arange(-14.0, last + 1)
    true = k / (1 + np.exp(-r * (0 - t0)))
    errors, covered = [], 0
    for _ in range(TRIALS):
        y = trial(rng, k, r, t0, n, t)
        fitted = projection.project(t, y, 0.0)
        low, high = projection.interval(fitted[:1], fitted[None, 1:])
        errors.append(fitted[0] - true)
        covered += bool(low[0] <= true <= high[0])
    assert covered / TRIALS >= 0.8, (covered, TRIALS)
    assert abs(np.mean(errors)) < 0.03
    assert np.std(errors) < 0.09


def test_an_exact_curve_is_fitted_exactly() -> None:
    t = np.arange(-12.0, -2.0)
    y = 0.92 / (1 + np.exp(-0.7 * (t + 6.0)))
    k, r, t0 = projection.fit(t, y[None, :], 0.0)
    assert (k[0], r[0], t0[0]) == pytest.approx((0.92, 0.7, -6.0), abs=0.01)
    assert projection.project(t, y[None, :], 0.0)[0] == pytest.approx(
        0.92 / (1 + np.exp(-0.7 * 6.0)), abs=0.005)


def test_a_projection_never_falls_below_the_share_reached() -> None:
    t = np.arange(-6.0, 0.0)
    flat = np.array([[0.0, 0.0, 0.0, 0.0, 0.0, 0.4]])  # a jump in the last week
    assert projection.project(t, flat, 2.0)[0] >= 0.4
    assert projection.project(t, np.zeros((1, 6)), 2.0)[0] == 0.0
