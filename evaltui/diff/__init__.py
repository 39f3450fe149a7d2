"""Headless run diffs: pairing, compareRuns' classification, statistics, JSON and Markdown.

No Textual and no SQL here: `evaltui.services.compare` loads the columns, `compare()` does the
rest. The screen uses `RunDiff.summary` for the header and `RunDiff.rows` / `RunDiff.case`
for the case table.
"""

from evaltui.diff.columns import ColumnsBuilder, RunColumns, fingerprint
from evaltui.diff.engine import compare
from evaltui.diff.models import (
    CaseChange,
    CaseDiff,
    CaseKind,
    Change,
    ConfidenceInterval,
    ContextDifference,
    CostDelta,
    DiffFilter,
    DiffOptions,
    DiffSummary,
    ErrorChange,
    Flip,
    FlipCounts,
    PairBy,
    Pairing,
    RunTotals,
    ScorerDelta,
    ScorerSummary,
    Verdict,
)
from evaltui.diff.rundiff import RunDiff

__all__ = [
    "CaseChange",
    "CaseDiff",
    "CaseKind",
    "Change",
    "ColumnsBuilder",
    "ConfidenceInterval",
    "ContextDifference",
    "CostDelta",
    "DiffFilter",
    "DiffOptions",
    "DiffSummary",
    "ErrorChange",
    "Flip",
    "FlipCounts",
    "PairBy",
    "Pairing",
    "RunColumns",
    "RunDiff",
    "RunTotals",
    "ScorerDelta",
    "ScorerSummary",
    "Verdict",
    "compare",
    "fingerprint",
]
