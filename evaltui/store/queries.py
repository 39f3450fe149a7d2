"""SQL shared by the read-only store and the writer: the package's `getRunSummary`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from evaltui.core.models import RunSpend, RunSummary
from evaltui.core.numbers import SCALE, overflowed_mean
from evaltui.store.decode import Tally, Values

# getRunSummary's three queries, as the package runs them.
SUMMARY_TOTALS_SQL = """SELECT COUNT(DISTINCT c.id), COALESCE(SUM(c.latency_ms), 0),
       COALESCE(SUM(c.tokens_in), 0), COALESCE(SUM(c.tokens_out), 0)
FROM cases c WHERE c.run_id = ?"""
# AVG as the package; MIN, MAX and the scaled AVG say what the mean is when AVG is not finite.
SUMMARY_MEANS_SQL = f"""SELECT s.scorer_name, AVG(s.score), MIN(s.score), MAX(s.score),
       AVG(s.score * {SCALE!r}) FROM scores s
JOIN cases c ON c.id = s.case_id WHERE c.run_id = ? GROUP BY s.scorer_name"""
SUMMARY_MINIMUMS_SQL = """SELECT c.id, MIN(s.score) FROM cases c JOIN scores s ON s.case_id = c.id
WHERE c.run_id = ? GROUP BY c.id"""


def summary_from_rows(
    totals: Sequence[Any],
    means: Sequence[Any],
    minimums: Sequence[Any],
    threshold: float,
    values: Values | None = None,
) -> RunSummary:
    """The RunSummary from the rows of the three queries (a case passes when its minimum
    score is >= threshold; cases without scores count neither way). A minimum that is not a
    number (a NULL, text or BLOB score; the package compares it as NaN) fails; a mean of no
    number is NaN; `values` notes what could not be read as stored."""
    values = values or Values(Tally(), None)
    passed = 0
    for case_id, minimum, *_ in minimums:
        number = values.optional_number(minimum, ("score", case_id, "min"))
        if number is not None and number >= threshold:
            passed += 1
    total, latency, tokens_in, tokens_out = totals[0]
    mean_scores: dict[str, float] = {}
    for row in means:
        scorer, mean = row[0], row[1]
        name = values.text(scorer, ("scorer", scorer, "scorer_name"))
        number = values.optional_number(mean, ("scorer", scorer, "mean"))
        mean_scores[name] = math.nan if number is None else _mean(number, row)
    return RunSummary(
        total_cases=total,
        pass_count=passed,
        fail_count=len(minimums) - passed,
        mean_scores=mean_scores,
        total_latency_ms=values.count(latency, ("sum", "latency_ms")),
        total_tokens_in=values.count(tokens_in, ("sum", "tokens_in")),
        total_tokens_out=values.count(tokens_out, ("sum", "tokens_out")),
    )


def _mean(mean: float, row: Sequence[Any]) -> float:
    """AVG as the package computes it; when it is not finite (an infinite score, or finite
    ones whose sum overflows), what `overflowed_mean` says from MIN, MAX and the scaled AVG."""
    if math.isfinite(mean):
        return mean
    low, high, scaled = row[2:5]
    if not all(isinstance(value, int | float) for value in (low, high)):
        return mean
    scaled = float(scaled) if isinstance(scaled, int | float) else math.nan  # NULL: +inf and -inf
    return overflowed_mean(float(low), float(high), scaled)


# What judging cost each run evaltui wrote: calls, tokens, priced cost, unpriced calls
# (tokens used on a model with no price), from evaltui's own `evaltui_judgements`.
SPEND_SQL = """SELECT run_id, COUNT(*),
       COALESCE(SUM(input_tokens + cache_read_tokens + cache_write_tokens), 0),
       COALESCE(SUM(output_tokens), 0),
       COALESCE(SUM(cost_usd), 0.0),
       COALESCE(SUM(cost_usd IS NULL AND (input_tokens + cache_read_tokens
                    + cache_write_tokens + output_tokens) > 0), 0)
FROM evaltui_judgements WHERE run_id IN (SELECT value FROM json_each(?)) GROUP BY run_id"""
HAS_JUDGEMENTS_SQL = (
    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'evaltui_judgements'"
)


def spend_from_rows(rows: Sequence[Any]) -> dict[str, RunSpend]:
    return {
        str(row[0]): RunSpend(
            calls=row[1],
            input_tokens=row[2],
            output_tokens=row[3],
            cost_usd=row[4],
            unpriced_calls=row[5],
        )
        for row in rows
    }
