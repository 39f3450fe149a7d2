"""The statistics of a diff: exact McNemar, the paired bootstrap, the verdict rule."""

from __future__ import annotations

from fractions import Fraction
from math import comb

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaltui.diff import Verdict
from evaltui.diff.stats import (
    EXACT_UP_TO,
    bootstrap_mean_ci,
    mcnemar_p,
    overall_verdict,
    scorer_verdict,
    sequential_mean,
)


def exact_p(b: int, c: int) -> float:
    """McNemar's exact p with fractions, straight from the definition."""
    n, k = b + c, min(b, c)
    if n == 0:
        return 1.0
    tail = Fraction(sum(comb(n, i) for i in range(k + 1)), 2**n)
    return float(min(Fraction(1), 2 * tail))


@pytest.mark.parametrize(
    ("b", "c", "expected"),
    [
        (0, 0, 1.0),
        (1, 0, 1.0),  # 2 * 1/2
        (3, 0, 0.25),  # 2 * 1/8
        (5, 0, 0.0625),  # 2 * 1/32
        (10, 0, 2 / 1024),
        (6, 3, 260 / 512),  # 2 * (1 + 9 + 36 + 84) / 2^9
        (7, 2, 92 / 512),  # 2 * (1 + 9 + 36) / 2^9
        (4, 4, 1.0),
        (12, 2, 2 * (1 + 14 + 91) / 2**14),
    ],
)
def test_mcnemar_known_values(b: int, c: int, expected: float) -> None:
    assert mcnemar_p(b, c) == pytest.approx(expected, rel=1e-12)
    assert mcnemar_p(c, b) == pytest.approx(expected, rel=1e-12)


@given(st.integers(0, 400), st.integers(0, 400))
def test_mcnemar_is_a_symmetric_probability(b: int, c: int) -> None:
    p = mcnemar_p(b, c)
    assert 0.0 <= p <= 1.0
    assert p == mcnemar_p(c, b)
    assert p == pytest.approx(exact_p(b, c), rel=1e-9)
    if b == c:
        assert p == 1.0


@given(st.integers(0, 3000))
def test_mcnemar_equal_counts_give_one(k: int) -> None:
    assert mcnemar_p(k, k) == 1.0


@pytest.mark.parametrize(("b", "c"), [(2600, 2450), (3213, 2253), (2501, 2500), (6000, 10)])
def test_mcnemar_log_space_branch_agrees_with_exact(b: int, c: int) -> None:
    assert b + c > EXACT_UP_TO
    assert mcnemar_p(b, c) == pytest.approx(exact_p(b, c), rel=1e-8, abs=1e-300)


def test_mcnemar_monotone_in_imbalance() -> None:
    values = [mcnemar_p(20 - k, k) for k in range(11)]
    assert values == sorted(values) and values[-1] == 1.0


def test_sequential_mean_adds_left_to_right() -> None:
    values = np.array([0.1] * 10 + [1e16, -1e16, 0.3])
    total = 0.0
    for value in values:
        total += float(value)
    assert sequential_mean(values) == total / len(values)
    assert sequential_mean(np.array([])) == 0.0
    assert str(sequential_mean(np.array([-0.0]))) == "0.0"  # JS: 0 + -0 = 0


finite = st.floats(-1, 1, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(finite, min_size=2, max_size=60), st.integers(0, 2**32 - 1))
def test_bootstrap_interval_contains_the_mean(values: list[float], seed: int) -> None:
    deltas = np.array(values)
    low, high = bootstrap_mean_ci(deltas, resamples=300, seed=seed)
    mean = sequential_mean(deltas)
    assert low[0] <= high[0]
    assert low[0] - 1e-9 <= mean <= high[0] + 1e-9
    assert deltas.min() - 1e-9 <= low[0] and high[0] <= deltas.max() + 1e-9


@settings(max_examples=30, deadline=None)
@given(st.lists(finite, min_size=1, max_size=40), st.integers(0, 1000))
def test_bootstrap_is_seeded(values: list[float], seed: int) -> None:
    deltas = np.array([values, [-v for v in values]])
    first = bootstrap_mean_ci(deltas, resamples=200, seed=seed)
    second = bootstrap_mean_ci(deltas.copy(), resamples=200, seed=seed)
    assert np.array_equal(first[0], second[0]) and np.array_equal(first[1], second[1])
    # the same draws for every scorer: a negated scorer gets the mirrored interval
    assert first[0][1] == pytest.approx(-first[1][0], abs=1e-9)


def test_bootstrap_degenerate_and_empty() -> None:
    low, high = bootstrap_mean_ci(np.full((2, 7), 0.25))
    assert list(low) == list(high) == [0.25, 0.25]
    low, high = bootstrap_mean_ci(np.zeros((3, 0)))
    assert np.isnan(low).all() and np.isnan(high).all()
    low, high = bootstrap_mean_ci(np.zeros((1, 50)))
    assert (low[0], high[0]) == (0.0, 0.0)


def test_bootstrap_matches_a_plain_resampling() -> None:
    """The sparse draw (only nonzero deltas) has the distribution of plain resampling."""
    rng = np.random.default_rng(5)
    deltas = np.where(rng.random(2000) < 0.2, rng.normal(-0.1, 0.3, 2000), 0.0)
    low, high = bootstrap_mean_ci(deltas, resamples=4000, seed=1)
    plain = rng.choice(deltas, size=(4000, deltas.size)).mean(axis=1)
    plain_low, plain_high = np.quantile(plain, [0.025, 0.975])
    width = plain_high - plain_low
    assert low[0] == pytest.approx(plain_low, abs=0.05 * width)
    assert high[0] == pytest.approx(plain_high, abs=0.05 * width)
    standard_error = deltas.std() / np.sqrt(deltas.size)
    assert width == pytest.approx(2 * 1.96 * standard_error, rel=0.06)


def test_bootstrap_of_100k_cases_is_fast() -> None:
    import time

    rng = np.random.default_rng(0)
    deltas = np.where(rng.random((3, 100_000)) < 0.5, rng.normal(0, 0.2, (3, 100_000)), 0.0)
    start = time.perf_counter()
    low, high = bootstrap_mean_ci(deltas, resamples=1000)
    assert time.perf_counter() - start < 5  # about a second on a small CI machine
    assert np.all(low < high)


def test_verdict_rule() -> None:
    threshold = 0.05
    # interval below 0 and a material drop: beyond noise
    assert scorer_verdict(-0.2, -0.3, -0.1, 0, 0, 1.0, threshold) == Verdict.REGRESSION
    # material drop, but the interval reaches 0 and the flips are balanced: noise
    assert scorer_verdict(-0.15, -0.45, 0.15, 6, 3, 0.51, threshold) == (
        Verdict.POSSIBLE_REGRESSION
    )
    # significant pass->fail flips alone are a regression, even with a small mean drop
    assert scorer_verdict(-0.01, -0.02, 0.0, 30, 5, 0.0001, threshold) == Verdict.REGRESSION
    # exactly -threshold is not compareRuns' regression (strict <)
    assert scorer_verdict(-0.05, -0.1, 0.01, 1, 1, 1.0, threshold) == Verdict.NO_CHANGE
    assert scorer_verdict(0.2, 0.1, 0.3, 0, 0, 1.0, threshold) == Verdict.IMPROVEMENT
    assert scorer_verdict(0.01, -0.1, 0.1, 2, 30, 1e-6, threshold) == Verdict.IMPROVEMENT
    assert scorer_verdict(0.0, None, None, 0, 0, 1.0, threshold) == Verdict.NO_CHANGE
    assert overall_verdict([Verdict.IMPROVEMENT, Verdict.POSSIBLE_REGRESSION]) == (
        Verdict.POSSIBLE_REGRESSION
    )
    assert overall_verdict([]) == Verdict.NO_CHANGE
