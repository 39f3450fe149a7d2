"""Trace and span models: what importers produce, what the writer stores, what readers return.

Plain slotted dataclasses rather than pydantic models: a 10,000-span trace is built and read
as 10,000 of them, and the UI's first paint has to stay well under its 300 ms budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from evaltui.core.textsafe import one_line


class SpanKind(StrEnum):
    AGENT = "agent"
    LLM = "llm"
    TOOL = "tool"
    RETRIEVER = "retriever"
    EMBEDDING = "embedding"
    CHAIN = "chain"
    CUSTOM = "custom"


class SpanStatus(StrEnum):
    UNSET = "unset"
    OK = "ok"
    ERROR = "error"


@dataclass(slots=True)
class SpanScore:
    """A span-level metric (DeepEval `metricsData`, an OTel `gen_ai.evaluation.result` event)."""

    name: str
    score: float | None
    threshold: float | None = None
    success: bool | None = None
    reason: str | None = None
    evaluation_model: str | None = None
    error: str | None = None

    @property
    def passed(self) -> bool | None:
        """`success` when the source said so, else score >= threshold, else unknown."""
        if self.success is not None:
            return self.success
        if self.score is None or self.threshold is None or math.isnan(self.score):
            return None
        return self.score >= self.threshold

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "score": self.score,
            "threshold": self.threshold,
            "success": self.passed,
            "reason": self.reason,
            "evaluation_model": self.evaluation_model,
            "error": self.error,
        }


@dataclass(slots=True)
class CaseLink:
    """How a trace names its case: an id, or a run and an index (`evals.*` attributes)."""

    case_id: str | None = None
    run_id: str | None = None
    case_idx: int | None = None

    def __bool__(self) -> bool:
        return self.case_id is not None or self.run_id is not None or self.case_idx is not None


@dataclass(slots=True)
class SpanRecord:
    """One span as an importer produces it and the writer stores it.

    `input` and `output` are JSON text (a plain string is stored JSON-encoded, as
    `cases.input` is); `attributes` and `events` are JSON-ready values.
    """

    trace_id: str
    span_id: str
    parent_id: str | None
    kind: SpanKind
    name: str
    start_ns: int
    end_ns: int | None
    status: SpanStatus = SpanStatus.UNSET
    error: str | None = None
    model: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost: float | None = None
    input: str | None = None
    output: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    scores: list[SpanScore] = field(default_factory=list)
    link: CaseLink | None = None
    # Attributes of the whole trace (OTel resource, DeepEval trace metadata); first one wins.
    trace_attributes: dict[str, Any] | None = None
    # Integers beyond SQLite's range (token counts, a case index) stored empty; the attributes
    # keep them exactly. The importer warns about them.
    unstorable: int = 0


@dataclass(slots=True)
class TraceRecord:
    """Trace-level facts an importer knows up front (the rest is aggregated from spans)."""

    trace_id: str
    source: str
    name: str | None = None
    link: CaseLink | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True, frozen=True)
class TraceSummary:
    """One row of `evaltui_traces`: what a trace list shows."""

    trace_id: str
    source: str
    name: str | None
    case_id: str | None
    run_id: str | None
    case_idx: int | None
    start_ns: int | None
    end_ns: int | None
    span_count: int
    error_count: int
    score_count: int
    failed_score_count: int
    imported_at: int
    case_found: bool = False  # its case is in the store (a link may name one not yet written)

    @property
    def duration_ns(self) -> int | None:
        if self.start_ns is None or self.end_ns is None:
            return None
        return max(0, self.end_ns - self.start_ns)

    def case_label(self) -> str:
        """Its case, or what the link names while that case is missing (printable)."""
        if self.case_found and self.case_id is not None:
            return f"#{self.case_idx} {one_line(self.case_id[:8])}"
        if self.case_id is not None:
            return f"{one_line(self.case_id[:8])} (not in the store)"
        if self.run_id is not None and self.case_idx is not None:
            return f"#{self.case_idx} of run {one_line(self.run_id[:8])} (not in the store)"
        return "-"

    def to_json(self) -> dict[str, Any]:
        return {
            "trace_id": self.trace_id,
            "source": self.source,
            "name": self.name,
            "case_id": self.case_id,
            "run_id": self.run_id,
            "case_idx": self.case_idx,
            "start_ns": self.start_ns,
            "end_ns": self.end_ns,
            "span_count": self.span_count,
            "error_count": self.error_count,
            "score_count": self.score_count,
            "failed_score_count": self.failed_score_count,
            "imported_at": self.imported_at,
            "case_found": self.case_found,
        }


@dataclass(slots=True)
class Span:
    """A span without its big text (the skeleton of a trace); `pk` fetches the rest."""

    pk: int
    trace_id: str
    span_id: str
    parent_id: str | None
    kind: str
    name: str
    start_ns: int
    end_ns: int | None
    status: str
    error: str | None
    model: str | None
    tokens_in: int | None
    tokens_out: int | None
    cost: float | None

    @property
    def duration_ns(self) -> int | None:
        return None if self.end_ns is None else max(0, self.end_ns - self.start_ns)


@dataclass(slots=True)
class SpanDetail:
    """The big text of one span: fetched when the span is opened."""

    pk: int
    input: str | None
    output: str | None
    attributes: dict[str, Any]
    events: list[Any]


@dataclass(slots=True, eq=False)
class SpanNode:
    """A span in a built tree; `children` are ordered by start time."""

    span: Span
    scores: list[SpanScore] = field(default_factory=list)
    children: list[SpanNode] = field(default_factory=list, repr=False)
    depth: int = 0
