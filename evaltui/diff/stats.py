"""Statistics of a paired diff: bootstrap interval, exact McNemar test, and the verdict rule."""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from evaltui.core.numbers import SCALE, overflowed_mean
from evaltui.diff.columns import FloatArray
from evaltui.diff.models import (
    DEFAULT_ALPHA,
    DEFAULT_CONFIDENCE,
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    Verdict,
)

CHUNK_DRAWS = 1_000_000  # expected draws per chunk: bounds the memory of the bootstrap
MAX_THREADS = 4  # numpy releases the GIL in the heavy parts of a chunk
EXACT_UP_TO = 5_000  # discordant pairs summed with exact integers; above, in log space


def sequential_mean(values: FloatArray) -> float:
    """The mean as compareRuns computes it: `reduce((a, b) => a + b, 0) / length`.

    `cumsum` adds left to right like the JavaScript reduce (np.sum would add pairwise and
    can differ in the last bits); 0 for no values. When that is not finite (an infinite
    value, or a sum that overflows), `overflowed_mean` says what the mean is: it never
    overflows to NaN, and is undefined (NaN) only with both +inf and -inf among the values.
    """
    if len(values) == 0:
        return 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        mean = (float(np.cumsum(values)[-1]) + 0.0) / len(values)
        if math.isfinite(mean):
            return mean
        scaled = float(np.cumsum(values * SCALE)[-1]) / len(values)
    return overflowed_mean(float(np.min(values)), float(np.max(values)), scaled)


def _resampled_sums(
    values: FloatArray, size: int, count: int, seed: np.random.SeedSequence
) -> FloatArray:
    """Sums of `count` resamples of `size` cases, of which `values` are the nonzero ones."""
    active = len(values)
    rng = np.random.default_rng(seed)
    hits = rng.binomial(size, active / size, size=count)
    draws = rng.integers(0, active, size=int(hits.sum()))
    ends = np.cumsum(hits)
    counts = np.empty((count, active))
    for i, (first, last) in enumerate(zip((ends - hits).tolist(), ends.tolist(), strict=True)):
        counts[i] = np.bincount(draws[first:last], minlength=active)
    with np.errstate(over="ignore", invalid="ignore"):  # huge deltas: an infinite sum
        sums: FloatArray = counts @ values
    return sums


def bootstrap_mean_ci(
    deltas: FloatArray,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = DEFAULT_SEED,
) -> tuple[FloatArray, FloatArray]:
    """Percentile bootstrap intervals of the mean of each row of `deltas` (scorers x pairs).

    Paired: a resample draws n cases (pairs) with replacement, the same draws for every
    scorer. Only cases with a nonzero delta move a sum, so a resample draws how many of its
    n draws land on those z cases (Binomial(n, z/n)), then which ones (uniform), counts them
    and multiplies the counts by the deltas: the same distribution as n uniform draws, at a
    cost that grows with z rather than n. Chunks of resamples run on a few threads, each
    with its own stream spawned from `seed`, so the numbers depend only on the inputs and
    the seed; the resampled means are rounded to 12 decimals so that no summation order can
    move a bound. Returns (low, high): NaN without pairs or resamples; a constant row
    gives [d, d].
    """
    deltas = np.atleast_2d(np.asarray(deltas, dtype=np.float64))
    scorers, size = deltas.shape
    low = np.full(scorers, np.nan)
    high = np.full(scorers, np.nan)
    if size == 0 or scorers == 0 or resamples == 0:
        return low, high
    moving = np.flatnonzero(np.any(deltas != 0, axis=0))
    sums = np.zeros((resamples, scorers))
    if moving.size:
        values = np.ascontiguousarray(deltas[:, moving].T)  # (active, scorers)
        per_chunk = max(1, CHUNK_DRAWS // moving.size)
        starts = range(0, resamples, per_chunk)
        seeds = np.random.SeedSequence(seed).spawn(len(starts))
        workers = min(MAX_THREADS, len(starts), os.cpu_count() or 1)
        with ThreadPoolExecutor(workers) as pool:
            parts = pool.map(
                lambda job: _resampled_sums(
                    values, size, min(per_chunk, resamples - job[0]), job[1]
                ),
                zip(starts, seeds, strict=True),
            )
            for start, part in zip(starts, parts, strict=True):
                sums[start : start + len(part)] = part
    with np.errstate(over="ignore", invalid="ignore"):
        means = np.round(sums / size, 12)
        tail = (1 - confidence) / 2
        low, high = np.quantile(means, [tail, 1 - tail], axis=0)
    constant = np.all(deltas == deltas[:, :1], axis=1)
    low[constant] = high[constant] = deltas[constant, 0]
    return low, high


def mcnemar_p(pass_to_fail: int, fail_to_pass: int) -> float:
    """Exact two-sided McNemar p-value: a binomial test of the discordant pairs at 1/2.

    p = min(1, 2 * P(X <= min(b, c))), X ~ Binomial(b + c, 1/2). It is 1 when b == c or when
    there is no discordant pair, and symmetric in (b, c).
    """
    b, c = pass_to_fail, fail_to_pass
    n = b + c
    if n == 0 or b == c:
        return 1.0
    k = min(b, c)
    if n <= EXACT_UP_TO:
        term = total = 1
        for i in range(k):
            term = term * (n - i) // (i + 1)
            total += term
        return min(1.0, (2 * total) / (1 << n))
    steps = np.arange(k, dtype=np.float64)
    log_terms = np.concatenate(([0.0], np.cumsum(np.log(n - steps) - np.log(steps + 1))))
    peak = float(log_terms.max())
    log_sum = peak + math.log(float(np.exp(log_terms - peak).sum()))
    return min(1.0, math.exp(math.log(2.0) + log_sum - n * math.log(2.0)))


def scorer_verdict(
    mean_delta: float,
    ci_low: float | None,
    ci_high: float | None,
    pass_to_fail: int,
    fail_to_pass: int,
    p_value: float,
    regression_threshold: float,
    alpha: float = DEFAULT_ALPHA,
) -> Verdict:
    """The verdict of one scorer (or of the case-level pass/fail, with no interval).

    - REGRESSION (beyond noise): the whole confidence interval is below 0 and the mean delta
      is below -regression_threshold (a real and material drop), or McNemar's p < alpha with
      more pass->fail than fail->pass flips (significantly more cases now fail).
    - POSSIBLE_REGRESSION: compareRuns' rule fires (mean delta < -regression_threshold), but
      neither test above does: it may be noise.
    - IMPROVEMENT: the mirror of REGRESSION (interval above 0 and mean delta above
      +regression_threshold, or p < alpha with more fail->pass flips).
    - NO_CHANGE otherwise. A regression beyond noise wins over an improvement.
    """
    significant_flips = p_value < alpha
    regression = (ci_high is not None and ci_high < 0 and mean_delta < -regression_threshold) or (
        significant_flips and pass_to_fail > fail_to_pass
    )
    if regression:
        return Verdict.REGRESSION
    if mean_delta < -regression_threshold:
        return Verdict.POSSIBLE_REGRESSION
    improvement = (ci_low is not None and ci_low > 0 and mean_delta > regression_threshold) or (
        significant_flips and fail_to_pass > pass_to_fail
    )
    return Verdict.IMPROVEMENT if improvement else Verdict.NO_CHANGE


VERDICT_RANK = {
    Verdict.REGRESSION: 3,
    Verdict.POSSIBLE_REGRESSION: 2,
    Verdict.IMPROVEMENT: 1,
    Verdict.NO_CHANGE: 0,
}


def overall_verdict(verdicts: list[Verdict]) -> Verdict:
    """The worst verdict: regression > possible regression > improvement > no change."""
    return max(verdicts, key=VERDICT_RANK.__getitem__, default=Verdict.NO_CHANGE)
