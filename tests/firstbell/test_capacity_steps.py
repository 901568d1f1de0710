"""The stepped arrival-rate search: it converges on a known capacity; its verdicts."""

from __future__ import annotations

import math

import pytest

from firstbell.capacity.steps import Step, headroom, next_rates, sustainable


def step(rate: float, passed: bool) -> Step:
    return Step(rate=rate, achieved=rate if passed else rate * 0.8, p95=0.2 if passed else 3.0,
                error_ratio=0.0 if passed else 0.05, passed=passed)


def search(capacity: float, start: float, factor: float = 2.0, resolution: float = 0.1,
           budget: int = 60) -> list[Step]:
    """Drive the policy against a target that passes exactly when rate ≤ capacity."""
    steps = [step(start, start <= capacity)]
    while len(steps) < budget:
        rates = next_rates(steps, factor=factor, resolution=resolution)
        if not rates:
            return steps
        steps.extend(step(r, r <= capacity) for r in rates)
    raise AssertionError(f"no convergence in {budget} steps: {[s.rate for s in steps]}")


@pytest.mark.parametrize("capacity", [0.7, 3.0, 12.5, 40.0, 97.0, 1234.0])
@pytest.mark.parametrize("start", [0.5, 1.0, 5.0, 50.0, 5000.0])
def test_search_converges_within_ten_percent_of_capacity(capacity: float, start: float) -> None:
    steps = search(capacity, start)
    best = sustainable(steps)
    assert best is not None
    assert 0.9 * capacity <= best.rate <= capacity
    # Bounded: the doubling (or halving) phase takes about log2(C/start) steps, and bisection
    # from a factor-of-two bracket to a 10% one about log2(1/0.1) ≈ 4 more.
    bound = math.ceil(abs(math.log2(capacity / start))) + 6
    assert len(steps) <= bound, [s.rate for s in steps]


@pytest.mark.parametrize(("factor", "resolution"), [(1.5, 0.05), (3.0, 0.1), (4.0, 0.02)])
def test_search_resolution_sets_the_precision(factor: float, resolution: float) -> None:
    capacity = 37.0
    best = sustainable(search(capacity, 1.0, factor=factor, resolution=resolution))
    assert best is not None
    assert (1 - resolution) * capacity <= best.rate <= capacity


def test_policy_grows_then_bisects_then_stops() -> None:
    steps = [step(10, True)]
    assert next_rates(steps) == [20.0]
    steps.append(step(20, True))
    assert next_rates(steps) == [40.0]
    steps.append(step(40, False))
    assert next_rates(steps) == [30.0]
    steps.append(step(30, True))
    assert next_rates(steps) == [35.0]
    steps.append(step(35, False))
    assert next_rates(steps) == [32.5]
    steps.append(step(32.5, False))
    # 30 passes, 32.5 fails: a gap of 2.5 < 0.1 × 30.
    assert next_rates(steps) == []
    assert sustainable(steps) == step(30, True)


def test_policy_is_a_function_of_the_steps_not_their_order() -> None:
    steps = [step(10, True), step(40, False), step(20, True), step(30, True)]
    assert next_rates(steps) == next_rates(list(reversed(steps))) == [35.0]


def test_a_failing_start_is_searched_downward() -> None:
    assert next_rates([step(100, False)]) == [50.0]
    assert next_rates([step(100, False), step(50, False)]) == [25.0]
    assert next_rates([step(100, False), step(50, True)]) == [75.0]


def test_a_target_that_fails_a_trickle_ends_the_search() -> None:
    steps = [step(0.1, False)]
    assert next_rates(steps, min_rate=0.1) == []
    assert next_rates([step(0.3, False)], min_rate=0.1) == [0.15]
    assert next_rates([step(0.15, False)], min_rate=0.1) == [0.1]


def test_max_rate_caps_the_growth() -> None:
    assert next_rates([step(40, True)], max_rate=60) == [60]
    assert next_rates([step(40, True), step(60, True)], max_rate=60) == []
    # A failure at the cap is bisected as usual.
    assert next_rates([step(40, True), step(60, False)], max_rate=60) == [50.0]


def test_next_rates_needs_a_start_step_and_sane_parameters() -> None:
    with pytest.raises(ValueError, match="at least one step"):
        next_rates([])
    with pytest.raises(ValueError, match="factor"):
        next_rates([step(1, True)], factor=1.0)
    with pytest.raises(ValueError, match="resolution"):
        next_rates([step(1, True)], resolution=0)


def test_sustainable_ignores_a_pass_above_a_failure() -> None:
    steps = [step(10, True), step(20, True), step(40, False), step(80, True)]
    assert sustainable(steps) == step(20, True)
    # The lucky pass does not steer the search either: it bisects 20..40.
    assert next_rates(steps) == [30.0]


def test_sustainable_counts_bisection_steps_run_after_the_failure() -> None:
    steps = [step(10, True), step(20, True), step(40, False), step(30, True), step(35, False)]
    assert sustainable(steps) == step(30, True)


def test_sustainable_with_a_retried_rate_needs_it_to_pass_every_time() -> None:
    assert sustainable([step(10, True), step(20, True), step(20, False)]) == step(10, True)


def test_sustainable_is_none_when_nothing_passed() -> None:
    assert sustainable([]) is None
    assert sustainable([step(5, False), step(2.5, False)]) is None
    assert sustainable([step(5, False), step(10, True)]) is None


def test_headroom() -> None:
    assert headroom(30.0, 20.0) == pytest.approx(1.5)
    assert headroom(15.0, 20.0) == pytest.approx(0.75)
    assert headroom(0.0, 20.0) == 0.0
    with pytest.raises(ValueError, match="forecast_peak"):
        headroom(30.0, 0.0)
    with pytest.raises(ValueError, match="forecast_peak"):
        headroom(30.0, -5.0)
    with pytest.raises(ValueError, match="sustainable_rate"):
        headroom(-1.0, 20.0)
