"""Means that cannot overflow to NaN, and how non-finite numbers read in text.

The package computes a mean as the plain sum divided by the count (SQLite's `AVG`, or
`reduce((a, b) => a + b, 0) / length`), and evaltui does exactly that whenever the result is
finite. Only when it is not (an infinite score, or finite scores whose sum overflows) does
`overflowed_mean` say what the mean is instead:

- finite scores whose sum overflows: the mean of the scores scaled down by `SCALE` (which
  cannot overflow), scaled back up, within the smallest and largest score;
- +Infinity among the scores (and no -Infinity): +Infinity; the mirror for -Infinity;
- both +Infinity and -Infinity (or a NaN): undefined, NaN, which `--json` writes as null with
  a `nonFinite` note and text shows as "undefined".
"""

from __future__ import annotations

import math

SCALE = 1e-300
"""Scores are multiplied by this before the fallback mean: 1.8e308 becomes 1.8e8, so even
a billion of them sum to a finite number."""


def overflowed_mean(low: float, high: float, scaled_mean: float) -> float:
    """The mean of scores whose plain mean is not finite, from their smallest (`low`) and
    largest (`high`) value and the mean of the scores times `SCALE`."""
    if math.isnan(low) or math.isnan(high) or (low == -math.inf and high == math.inf):
        return math.nan
    if high == math.inf:
        return math.inf
    if low == -math.inf:
        return -math.inf
    return min(max(scaled_mean / SCALE, low), high)


def p_value_text(value: float) -> str:
    """A p-value as every view prints it: 3 significant digits, or `<0.001`."""
    if math.isnan(value):
        return "undefined"
    return f"{value:.3g}" if value >= 0.001 else "<0.001"


def number_text(value: float, spec: str = ".4f") -> str:
    """`value` formatted with `spec`; +inf, -inf and undefined (NaN) in words."""
    if math.isnan(value):
        return "undefined"
    if math.isinf(value):
        return "+inf" if value > 0 else "-inf"
    return format(value, spec)
