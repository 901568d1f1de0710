"""Poisson arrivals over piecewise-constant rates: counts, stage boundaries, splitting."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from loadtests.arrivals import RateCurve, RateStage, arrival_times, merged_arrivals

CURVE = RateCurve([RateStage(100.0, {"teacher": 10.0, "guardian": 1.0}),
                   RateStage(50.0, {"teacher": 40.0}),
                   RateStage(50.0, {"guardian": 4.0})])


def test_curve_reads_rates_peaks_and_integrals() -> None:
    assert CURVE.duration == 200.0
    assert CURVE.personas == ("teacher", "guardian")
    assert CURVE.rate("teacher", 99.9) == 10.0 and CURVE.rate("teacher", 100.0) == 40.0
    assert CURVE.rate("teacher", 200.0) == 0.0 and CURVE.rate("guardian", -1) == 0.0
    assert CURVE.peak("teacher", 90, 101) == 40.0 and CURVE.peak("guardian", 0, 10) == 1.0
    assert CURVE.peak("guardian", 190, 230) == 4.0 and CURVE.peak("guardian", 200, 210) == 0.0
    assert CURVE.expected("teacher", 0, 200) == pytest.approx(10 * 100 + 40 * 50)
    assert CURVE.expected("guardian", 50, 175) == pytest.approx(50 * 1 + 25 * 4)


def test_counts_per_stage_match_the_rates_within_poisson_noise() -> None:
    times = np.array(list(arrival_times(CURVE, "teacher", np.random.default_rng(7))))
    assert np.all(np.diff(times) > 0) and times.min() >= 0 and times.max() < 200
    for lo, hi in ((0, 100), (100, 150)):
        expected = CURVE.expected("teacher", lo, hi)
        got = np.count_nonzero((times >= lo) & (times < hi))
        assert abs(got - expected) < 4 * math.sqrt(expected), (lo, hi, got, expected)
    assert np.count_nonzero(times >= 150) == 0  # teacher's rate is 0 in the last stage


def test_gaps_are_exponential() -> None:
    """A Poisson process at 50/s: mean gap 20 ms and coefficient of variation 1."""
    curve = RateCurve([RateStage(400.0, {"student": 50.0})])
    gaps = np.diff(list(arrival_times(curve, "student", np.random.default_rng(3))))
    assert gaps.mean() == pytest.approx(0.02, rel=0.03)
    assert gaps.std() / gaps.mean() == pytest.approx(1.0, rel=0.05)


def test_splitting_across_workers_keeps_the_total_rate() -> None:
    """Four workers at a quarter of the rate each add up to the whole rate."""
    curve = RateCurve([RateStage(300.0, {"guardian": 20.0})])
    total = sum(len(list(arrival_times(curve, "guardian", np.random.default_rng([1, w]),
                                       share=0.25))) for w in range(4))
    assert abs(total - 6000) < 4 * math.sqrt(6000)


def test_same_seed_same_schedule_and_merge_is_ordered() -> None:
    a = list(merged_arrivals(CURVE, {"teacher": np.random.default_rng(1),
                                     "guardian": np.random.default_rng(2)}))
    b = list(merged_arrivals(CURVE, {"teacher": np.random.default_rng(1),
                                     "guardian": np.random.default_rng(2)}))
    assert a == b
    assert all(x[0] <= y[0] for x, y in itertools.pairwise(a))
    assert {p for _, p in a} == {"teacher", "guardian"}
    guardians = [t for t, p in a if p == "guardian"]
    assert not [t for t in guardians if 100 <= t < 150]  # guardian rate is 0 in stage 2
