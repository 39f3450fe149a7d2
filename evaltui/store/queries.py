"""SQL shared by the read-only store and the writer: the package's `getRunSummary`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from evaltui.core.models import RunSpend, RunSummary
from evaltui.core.numbers import SCALE, overflowed_mean

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
    totals: Sequence[Any], means: Sequence[Any], minimums: Sequence[Any], threshold: float
) -> RunSummary:
    """The RunSummary from the rows of the three queries (a case passes when its minimum
    score is >= threshold; cases without scores count neither way)."""
    passed = sum(1 for row in minimums if row[1] >= threshold)
    total, latency, tokens_in, tokens_out = totals[0]
    return RunSummary.model_validate(
        {
            "totalCases": total,
            "passCount": passed,
            "failCount": len(minimums) - passed,
            "meanScores": {row[0]: _mean(row) for row in means},
            "totalLatencyMs": latency,
            "totalTokensIn": tokens_in,
            "totalTokensOut": tokens_out,
        }
    )


def _mean(row: Sequence[Any]) -> Any:
    """AVG as the package computes it; when it is not finite (SQLite gives NULL for the NaN
    of +inf and -inf), what `overflowed_mean` says."""
    mean, low, high, scaled = row[1:5]
    if isinstance(mean, float) and math.isfinite(mean):
        return mean
    if not all(isinstance(value, int | float) for value in (low, high)):
        return mean  # no numeric score at all: as stored
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
