"""Agent traces: models, importers (DeepEval, OpenTelemetry), span trees and sample data.

Nothing here imports Textual. Storage is `evaltui.store.writer` (writes) and
`evaltui.store.traces` (read queries over a `RunStore`).
"""

from evaltui.traces.models import (
    CaseLink,
    Span,
    SpanDetail,
    SpanKind,
    SpanNode,
    SpanRecord,
    SpanScore,
    SpanStatus,
    TraceRecord,
    TraceSummary,
)
from evaltui.traces.tree import build_tree, iter_tree_json, problem_nodes, score_rollup, walk

__all__ = [
    "CaseLink",
    "Span",
    "SpanDetail",
    "SpanKind",
    "SpanNode",
    "SpanRecord",
    "SpanScore",
    "SpanStatus",
    "TraceRecord",
    "TraceSummary",
    "build_tree",
    "iter_tree_json",
    "problem_nodes",
    "score_rollup",
    "walk",
]
