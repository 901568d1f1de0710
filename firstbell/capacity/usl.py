"""The Universal Scalability Law fitted to a concurrency sweep, and the latency knee.

This module owns the capacity arithmetic only: given (concurrency, throughput) pairs measured
by a sweep it fits Gunther's USL,

    X(N) = λN / (1 + σ(N−1) + κN(N−1))

(σ: contention, the serialised fraction; κ: coherency, the pairwise cross-talk cost; λ: the
throughput of one client), and given (concurrency, latency) pairs it finds where latency turns
sharply upward. No I/O: the callers read run directories and print.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
# Measurements arrive as lists from run records or as arrays from other analysis; both work.
Values = Sequence[float] | npt.NDArray[np.floating[Any]]

# Three parameters and noisy points: with fewer than six distinct levels the fit can bend
# through every point and σ/κ mean nothing.
MIN_POINTS = 6
# σ is a fraction of the work that is serialised; σ = 1 is "no parallelism at all" and makes the
# peak formula degenerate, so a physical fit keeps it strictly below one.
SIGMA_MAX = 1.0 - 1e-9
# A coefficient whose whole contribution to the denominator, at the largest measured N, is below
# one part in a billion is indistinguishable from zero in this data; snapping it to zero keeps
# a perfectly linear sweep from reporting a finite peak at N = 10⁹ made of rounding error.
NEGLIGIBLE = 1e-9
MAX_ITERATIONS = 100


@dataclass(frozen=True)
class UslFit:
    """A fitted USL curve. `points` are the (N, X) pairs it was fitted to, sorted by N."""

    sigma: float
    kappa: float
    lam: float
    r2: float
    points: tuple[tuple[float, float], ...]

    @property
    def peak_concurrency(self) -> float:
        """N* = sqrt((1−σ)/κ), where throughput peaks; inf when κ ≤ 0 (no retrograde region)."""
        if self.kappa <= 0:
            return math.inf
        return math.sqrt((1.0 - self.sigma) / self.kappa)

    @property
    def max_throughput(self) -> float:
        """X(N*); with κ ≤ 0 the curve only approaches λ/σ (inf when σ is zero too)."""
        if self.kappa > 0:
            return self.throughput(self.peak_concurrency)
        if self.sigma > 0:
            return self.lam / self.sigma
        return math.inf

    def throughput(self, n: float) -> float:
        """The fitted X(n)."""
        return float(_model(np.asarray([n], dtype=float), self.sigma, self.kappa, self.lam)[0])


def _model(n: FloatArray, sigma: float, kappa: float, lam: float) -> FloatArray:
    return lam * n / (1.0 + sigma * (n - 1.0) + kappa * n * (n - 1.0))


def _jacobian(n: FloatArray, sigma: float, kappa: float, lam: float) -> FloatArray:
    """∂X/∂(σ, κ, λ) at each N."""
    denom = 1.0 + sigma * (n - 1.0) + kappa * n * (n - 1.0)
    d_sigma = -lam * n * (n - 1.0) / denom**2
    d_kappa = -lam * n * n * (n - 1.0) / denom**2
    d_lam = n / denom
    return np.column_stack([d_sigma, d_kappa, d_lam])


def _project(p: FloatArray) -> FloatArray:
    """Clamp to a physical USL: 0 ≤ σ < 1, κ ≥ 0, λ > 0."""
    sigma = min(max(float(p[0]), 0.0), SIGMA_MAX)
    kappa = max(float(p[1]), 0.0)
    lam = max(float(p[2]), 1e-300)
    return np.array([sigma, kappa, lam])


def _relative_residual(n: FloatArray, x: FloatArray, p: FloatArray) -> FloatArray:
    return (x - _model(n, float(p[0]), float(p[1]), float(p[2]))) / x


def _sse(n: FloatArray, x: FloatArray, p: FloatArray) -> float:
    r = _relative_residual(n, x, p)
    return float(r @ r)


def _as_arrays(a: Values, b: Values, names: tuple[str, str]) -> tuple[
        FloatArray, FloatArray]:
    xa = np.asarray(a, dtype=float)
    xb = np.asarray(b, dtype=float)
    if xa.ndim != 1 or xb.ndim != 1 or xa.shape != xb.shape:
        raise ValueError(f"{names[0]} and {names[1]} must be flat sequences of the same length;"
                         f" got {xa.shape} and {xb.shape}")
    if not (np.all(np.isfinite(xa)) and np.all(np.isfinite(xb))):
        raise ValueError(f"{names[0]} and {names[1]} must be finite numbers")
    return xa, xb


def _linear_start(n: FloatArray, x: FloatArray) -> FloatArray:
    """σ, κ, λ from the linearised USL  N/X = a + b(N−1) + cN(N−1),  a=1/λ, b=σ/λ, c=κ/λ.

    Ordinary least squares on N/X is exact for noise-free data but weights the points badly
    under noise (the error in N/X grows with N/X), so it is only the starting point.
    """
    design = np.column_stack([np.ones_like(n), n - 1.0, n * (n - 1.0)])
    (a, b, c), *_ = np.linalg.lstsq(design, n / x, rcond=None)
    if a > 0 and math.isfinite(a):
        return _project(np.array([b / a, c / a, 1.0 / a]))
    # A non-positive intercept means the lowest levels are too noisy to pin λ; start from the
    # per-client throughput at the lowest measured concurrency and a linear curve instead.
    lowest = int(np.argmin(n))
    return np.array([0.0, 0.0, float(x[lowest] / n[lowest])])


def _refine(n: FloatArray, x: FloatArray, p: FloatArray) -> FloatArray:
    """Levenberg–Marquardt on the throughput residuals, projected onto the physical region.

    Residuals are relative, (X − X̂)/X: load-test throughput noise scales with throughput (a
    2% wobble at 40 req/s and at 4000 req/s), and with equal absolute weights the high plateau
    would drown out the low-N points that pin λ and σ. For multiplicative noise this is the
    maximum-likelihood fit.

    The columns of the Jacobian differ by orders of magnitude (κ multiplies N², λ is ~100), so
    each step is solved on unit-norm columns as the damped least-squares problem
    [J; √μ·I]·δ = [r; 0], which avoids squaring the condition number in JᵀJ.
    """
    mu = 1e-3
    sse = _sse(n, x, p)
    for _ in range(MAX_ITERATIONS):
        residual = _relative_residual(n, x, p)
        jac = _jacobian(n, float(p[0]), float(p[1]), float(p[2])) / x[:, None]
        scale = np.linalg.norm(jac, axis=0)
        scale[scale == 0] = 1.0
        jac_s = jac / scale
        improved = done = False
        for _ in range(12):
            lhs = np.vstack([jac_s, math.sqrt(mu) * np.eye(3)])
            rhs = np.concatenate([residual, np.zeros(3)])
            step_s, *_ = np.linalg.lstsq(lhs, rhs, rcond=None)
            candidate = _project(p + step_s / scale)
            candidate_sse = _sse(n, x, candidate)
            if candidate_sse < sse:
                improved = True
                # Converged when a successful step no longer buys a meaningful reduction.
                done = sse - candidate_sse <= 1e-12 * max(sse, 1e-300)
                p, sse = candidate, candidate_sse
                mu = max(mu / 10.0, 1e-12)
                break
            mu *= 10.0
        if not improved or done:
            break
    return p


def fit_usl(concurrency: Values, throughput: Values) -> UslFit:
    """Fit the USL to a sweep: X measured at each concurrency N (repeats of an N are allowed).

    Needs at least six distinct N ≥ 1 and positive throughputs. σ is clamped to [0, 1) and κ to
    ≥ 0: a sweep that looks superlinear (σ < 0) is usually a warm-up artefact, not capacity.
    r2 is the coefficient of determination of the fitted curve on the throughputs.
    """
    n, x = _as_arrays(concurrency, throughput, ("concurrency", "throughput"))
    distinct = int(np.unique(n).size)
    if distinct < MIN_POINTS:
        raise ValueError(f"fit_usl needs at least {MIN_POINTS} points with distinct concurrency;"
                         f" got {n.size} point(s) with {distinct} distinct level(s)")
    if np.any(n < 1):
        raise ValueError("concurrency must be ≥ 1 at every point")
    if np.any(x <= 0):
        raise ValueError("throughput must be > 0 at every point")

    p = _refine(n, x, _linear_start(n, x))
    sigma, kappa, lam = (float(v) for v in p)
    n_max = float(n.max())
    if kappa * n_max * (n_max - 1.0) < NEGLIGIBLE:
        kappa = 0.0
    if sigma * (n_max - 1.0) < NEGLIGIBLE:
        sigma = 0.0

    residual = x - _model(n, sigma, kappa, lam)
    sse = float(residual @ residual)
    sst = float(((x - x.mean()) ** 2).sum())
    r2 = 1.0 - sse / sst if sst > 0 else (1.0 if sse == 0 else 0.0)
    order = np.argsort(n, kind="stable")
    points = tuple((float(n[i]), float(x[i])) for i in order)
    return UslFit(sigma=sigma, kappa=kappa, lam=lam, r2=r2, points=points)


def latency_knee(concurrency: Values, latency: Values, *,
                 min_gap: float = 0.05) -> float | None:
    """The concurrency where latency starts to rise sharply (the elbow), or None.

    Kneedle-style (Satopää et al., 2011): average repeated levels, sort by N, rescale both axes
    to [0, 1], draw the chord from the first to the last point and return the N whose latency
    lies furthest below it. For a convex "hockey stick" that is the last level before the climb;
    for a piecewise-linear curve it is exactly the break.

    None when there is no elbow to speak of: fewer than three levels, latency that does not end
    higher than it starts, or a curve that never sags more than `min_gap` (in the rescaled
    units, i.e. a fraction of the latency range) below its chord — a straight or concave line.
    """
    n, y = _as_arrays(concurrency, latency, ("concurrency", "latency"))
    levels, inverse = np.unique(n, return_inverse=True)
    if levels.size < 3:
        return None
    # Repeats at one level are averaged: the elbow is a property of the curve, not of a sample.
    mean_latency = np.bincount(inverse, weights=y) / np.bincount(inverse)

    span_n = float(levels[-1] - levels[0])
    span_y = float(mean_latency.max() - mean_latency.min())
    if span_y <= 0 or mean_latency[-1] <= mean_latency[0]:
        return None
    xn = (levels - levels[0]) / span_n
    yn = (mean_latency - mean_latency.min()) / span_y
    chord = yn[0] + (yn[-1] - yn[0]) * xn
    # The chord's slope is fixed, so the vertical gap is proportional to the perpendicular one.
    gap = chord - yn
    best = int(np.argmax(gap))
    if gap[best] <= min_gap:
        return None
    return float(levels[best])
