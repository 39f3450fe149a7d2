"""A DeepEval test run (`test_run_*.json`, `.deepeval/.latest_run_full.json`, or the
`{"testRunData": ...}` wrapper of `.latest_test_run.json`) as RunStore rows and traces.

RunStore rows follow the package's semantics (runstore.md §3):

* one suite named by the run's `identifier` (else `testFile`, else `deepeval`), one
  `completed` run named `"<suite> [<model>]"`, where the model is `hyperparameters.model`,
  else the one model of the LLM spans, else `deepeval`;
* one case per test case in `order`: `input` is the JSON of the item (`input`, `expected`,
  `name`, contexts, tools, tags, metadata), `expected` the JSON of `expectedOutput` or NULL,
  `output` the raw `actualOutput` text (NULL when empty), `latency_ms` from `runDuration`,
  tokens summed over the trace's LLM spans (0 without one);
* scores: each case `metricsData` under its metric name, each span metric as
  `"<metric> [<span name>]"` and each trace metric as `"<metric> [trace]"`, so a
  component-level run still shows its verdicts in the run's table; a metric that errored
  scores 0 with reason `Metric failed: <error>`;
* the run summary is what the package's `getRunSummary` returns for these rows at the
  threshold stored in `config` (the metrics' common threshold, else 0.5).

Each case's `trace` becomes a trace linked to the case: the five typed span lists rebuilt
into one tree through `parentUuid`, span `metricsData` as span scores.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

from evaltui.core.jsonutil import INT64_MAX, beyond_int64, clamp_int64, dumps, int64
from evaltui.core.models import DEFAULT_THRESHOLD
from evaltui.core.timefmt import iso_to_ns
from evaltui.traces.genai import as_float, as_int
from evaltui.traces.models import CaseLink, SpanKind, SpanRecord, SpanScore, SpanStatus, TraceRecord
from evaltui.traces.otlp import FieldError

SOURCE = "deepeval"
SPAN_LISTS = ("agentSpans", "llmSpans", "retrieverSpans", "toolSpans", "baseSpans")
KINDS = {
    "agent": SpanKind.AGENT,
    "llm": SpanKind.LLM,
    "retriever": SpanKind.RETRIEVER,
    "tool": SpanKind.TOOL,
    "embedding": SpanKind.EMBEDDING,
    "chain": SpanKind.CHAIN,
}
STATUSES = {"SUCCESS": SpanStatus.OK, "ERRORED": SpanStatus.ERROR}
# Span fields that have a column; every other field is kept in the span's attributes.
SPAN_COLUMNS = {
    "uuid",
    "parentUuid",
    "traceUuid",
    "name",
    "status",
    "startTime",
    "endTime",
    "input",
    "output",
    "error",
    "metricsData",
    "model",
    "inputTokenCount",
    "outputTokenCount",
}
ITEM_FIELDS = (
    ("context", "context"),
    ("retrievalContext", "retrievalContext"),
    ("toolsCalled", "toolsCalled"),
    ("expectedTools", "expectedTools"),
    ("tags", "tags"),
    ("metadata", "metadata"),
)


@dataclass(slots=True)
class CaseImport:
    case_id: str
    idx: int
    input: str
    output: str | None
    expected: str | None
    latency_ms: int
    tokens_in: int
    tokens_out: int
    error: str | None
    scores: list[tuple[str, float, str | None]]
    trace: TraceRecord | None = None
    spans: list[SpanRecord] = field(default_factory=list)


@dataclass(slots=True)
class RunImport:
    suite_name: str
    run_name: str
    model: str
    config: str
    started_at: int
    finished_at: int
    summary: str
    cases: list[CaseImport]
    unstorable: int = 0  # integers beyond SQLite's range: clamped, or stored empty in spans


class _Fit:
    """Brings integers into SQLite's INTEGER range, counting those it had to change."""

    def __init__(self) -> None:
        self.clamped = 0

    def __call__(self, value: int) -> int:
        fitted, changed = clamp_int64(value)
        self.clamped += changed
        return fitted


def unwrap(doc: dict[str, Any]) -> dict[str, Any]:
    """The TestRun of a file (`.latest_test_run.json` wraps it in `testRunData`)."""
    inner = doc.get("testRunData")
    return inner if isinstance(inner, dict) else doc


def is_test_run(doc: dict[str, Any]) -> bool:
    run = unwrap(doc)
    return isinstance(run.get("testCases"), list) or isinstance(
        run.get("conversationalTestCases"), list
    )


def _ns(value: Any, field_path: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        scaled = value * 1_000_000_000  # epoch seconds
        if not 0 <= scaled <= INT64_MAX:  # also NaN and infinities
            raise FieldError(field_path, f"{value!r} seconds is not a time that can be stored")
        return int(scaled)
    if not isinstance(value, str):
        raise FieldError(field_path, f"expected an ISO-8601 time, got {value!r}")
    try:
        return iso_to_ns(value)
    except ValueError as error:
        raise FieldError(field_path, str(error)) from None


def _json_text(value: Any) -> str | None:
    return None if value is None else dumps(value)


def metric_scores(items: Any, field_path: str) -> list[SpanScore]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise FieldError(field_path, "expected a list")
    scores = []
    for i, metric in enumerate(items):
        if not isinstance(metric, dict) or not isinstance(metric.get("name"), str):
            raise FieldError(f"{field_path}[{i}].name", "missing")
        success = metric.get("success")
        scores.append(
            SpanScore(
                name=metric["name"],
                score=as_float(metric.get("score")),
                threshold=as_float(metric.get("threshold")),
                success=success if isinstance(success, bool) else None,
                reason=None if metric.get("reason") is None else str(metric["reason"]),
                evaluation_model=metric.get("evaluationModel"),
                error=None if metric.get("error") is None else str(metric["error"]),
            )
        )
    return scores


def _cost(span: dict[str, Any]) -> float | None:
    parts = [
        (as_float(span.get("inputTokenCount")), as_float(span.get("costPerInputToken"))),
        (as_float(span.get("outputTokenCount")), as_float(span.get("costPerOutputToken"))),
    ]
    known = [count * price for count, price in parts if count is not None and price is not None]
    return sum(known) if known else None


def _span(raw: Any, trace_id: str, field_path: str) -> SpanRecord:
    if not isinstance(raw, dict):
        raise FieldError(field_path, "expected an object")
    span_id = raw.get("uuid")
    if not isinstance(span_id, str) or not span_id:
        raise FieldError(f"{field_path}.uuid", "missing")
    parent = raw.get("parentUuid")
    if parent is not None and not isinstance(parent, str):
        raise FieldError(f"{field_path}.parentUuid", "expected a string")
    start = _ns(raw.get("startTime"), f"{field_path}.startTime")
    if start is None:
        raise FieldError(f"{field_path}.startTime", "missing")
    span_type = str(raw.get("type") or "base")
    status = STATUSES.get(str(raw.get("status")), SpanStatus.UNSET)
    error = raw.get("error")
    attributes = {key: value for key, value in raw.items() if key not in SPAN_COLUMNS}
    tokens_in, tokens_out = as_int(raw.get("inputTokenCount")), as_int(raw.get("outputTokenCount"))
    for key, value in (("inputTokenCount", tokens_in), ("outputTokenCount", tokens_out)):
        if beyond_int64(value):  # its column stays empty: the attribute keeps it exactly
            attributes[key] = raw[key]
    return SpanRecord(
        trace_id=trace_id,
        span_id=span_id,
        parent_id=parent or None,
        kind=KINDS.get(span_type, SpanKind.CUSTOM),
        name=str(raw.get("name") or span_type),
        start_ns=start,
        end_ns=_ns(raw.get("endTime"), f"{field_path}.endTime"),
        status=status,
        error=None if error is None else str(error),
        model=None if raw.get("model") is None else str(raw["model"]),
        tokens_in=int64(tokens_in),
        tokens_out=int64(tokens_out),
        cost=_cost(raw),
        input=_json_text(raw.get("input")),
        output=_json_text(raw.get("output")),
        attributes=attributes,
        scores=metric_scores(raw.get("metricsData"), f"{field_path}.metricsData"),
        unstorable=beyond_int64(tokens_in, tokens_out),
    )


def trace_spans(
    trace: dict[str, Any], field_path: str
) -> tuple[str, list[SpanRecord], list[SpanScore]]:
    """The id, spans and trace-level metrics of a DeepEval `TraceApi`."""
    trace_id = trace.get("uuid")
    if not isinstance(trace_id, str) or not trace_id:
        raise FieldError(f"{field_path}.uuid", "missing")
    spans: list[SpanRecord] = []
    for list_name in SPAN_LISTS:
        items = trace.get(list_name) or []
        if not isinstance(items, list):
            raise FieldError(f"{field_path}.{list_name}", "expected a list")
        spans.extend(
            _span(raw, trace_id, f"{field_path}.{list_name}[{i}]") for i, raw in enumerate(items)
        )
    return trace_id, spans, metric_scores(trace.get("metricsData"), f"{field_path}.metricsData")


def _trace_attributes(trace: dict[str, Any]) -> dict[str, Any]:
    keys = ("input", "output", "metadata", "tags", "threadId", "userId", "environment", "status")
    return {key: trace[key] for key in keys if trace.get(key) is not None}


def _case_input(case: dict[str, Any]) -> str:
    item: dict[str, Any] = {"input": case.get("input")}
    if case.get("turns") is not None:
        item = {"turns": case["turns"], "scenario": case.get("scenario")}
    if case.get("expectedOutput") is not None:
        item["expected"] = case["expectedOutput"]
    if case.get("name") is not None:
        item["name"] = case["name"]
    for key, target in ITEM_FIELDS:
        if case.get(key) is not None:
            item[target] = case[key]
    return dumps(item)


def _output(case: dict[str, Any]) -> str | None:
    value = case.get("actualOutput")
    if value is None and isinstance(case.get("turns"), list):
        replies = [t for t in case["turns"] if isinstance(t, dict) and t.get("role") != "user"]
        value = replies[-1].get("content") if replies else None
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else dumps(value)


def _clamp(score: float | None) -> float:
    if score is None:
        return 0.0
    return min(1.0, max(0.0, score))


def _case_scores(
    case: dict[str, Any], spans: list[SpanRecord], trace_scores: list[SpanScore], field_path: str
) -> tuple[list[tuple[str, float, str | None]], list[float]]:
    """Score rows of a case, and the thresholds they were judged at."""
    rows: list[tuple[str, float, str | None]] = []
    thresholds: list[float] = []

    def add(score: SpanScore, name: str) -> None:
        reason = score.reason
        if score.score is None:
            reason = f"Metric failed: {score.error or 'no score'}"
        rows.append((name, _clamp(score.score), reason))
        if score.threshold is not None:
            thresholds.append(score.threshold)

    for score in metric_scores(case.get("metricsData"), f"{field_path}.metricsData"):
        add(score, score.name)
    for span in spans:
        for score in span.scores:
            add(score, f"{score.name} [{span.name}]")
    for score in trace_scores:
        add(score, f"{score.name} [trace]")
    return rows, thresholds


def _summary(cases: list[CaseImport], threshold: float) -> str:
    """`getRunSummary(runId, threshold)` over these rows (the package's three queries)."""
    sums: dict[str, tuple[float, int]] = {}
    passed = failed = 0
    for case in cases:
        for name, score, _ in case.scores:
            total, count = sums.get(name, (0.0, 0))
            sums[name] = (total + score, count + 1)
        if case.scores:
            if min(score for _, score, _ in case.scores) >= threshold:
                passed += 1
            else:
                failed += 1
    summary = {
        "totalCases": len(cases),
        "passCount": passed,
        "failCount": failed,
        "meanScores": {name: total / count for name, (total, count) in sums.items()},
        "totalLatencyMs": sum(case.latency_ms for case in cases),
        "totalTokensIn": sum(case.tokens_in for case in cases),
        "totalTokensOut": sum(case.tokens_out for case in cases),
    }
    return json.dumps(summary, separators=(",", ":"), ensure_ascii=False)


def _ordered_cases(run: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for list_name in ("testCases", "conversationalTestCases"):
        items = run.get(list_name) or []
        if not isinstance(items, list):
            raise FieldError(list_name, "expected a list")
        indexed = []
        for i, case in enumerate(items):
            if not isinstance(case, dict):
                raise FieldError(f"{list_name}[{i}]", "expected an object")
            order = as_int(case.get("order"))
            indexed.append((order if order is not None else i, i, case))
        for _, i, case in sorted(indexed, key=lambda entry: (entry[0], entry[1])):
            yield f"{list_name}[{i}]", case


def parse_test_run(doc: dict[str, Any], *, file_name: str, mtime_ms: int) -> RunImport:
    """Convert a TestRun; raises `FieldError` naming the bad field."""
    run = unwrap(doc)
    prefix = "testRunData." if run is not doc else ""
    cases: list[CaseImport] = []
    thresholds: list[float] = []
    starts: list[int] = []
    models: set[str] = set()
    fit = _Fit()
    for idx, (path, case) in enumerate(_ordered_cases(run)):
        field_path = prefix + path
        spans: list[SpanRecord] = []
        trace_scores: list[SpanScore] = []
        trace_record = None
        trace = case.get("trace")
        case_id = str(uuid4())
        if isinstance(trace, dict):
            trace_id, spans, trace_scores = trace_spans(trace, f"{field_path}.trace")
            trace_record = TraceRecord(
                trace_id=trace_id,
                source=SOURCE,
                name=trace.get("name"),
                link=CaseLink(case_id=case_id),
                attributes=_trace_attributes(trace),
            )
            starts.extend(s.start_ns for s in spans)
            trace_start = _ns(trace.get("startTime"), f"{field_path}.trace.startTime")
            if trace_start is not None:
                starts.append(trace_start)
            models.update(s.model for s in spans if s.kind is SpanKind.LLM and s.model)
        elif trace is not None:
            raise FieldError(f"{field_path}.trace", "expected an object")
        scores, case_thresholds = _case_scores(case, spans, trace_scores, field_path)
        thresholds.extend(case_thresholds)
        roots = sorted((s for s in spans if s.parent_id is None), key=lambda s: s.start_ns)
        if roots:  # the trace's own metrics go on its first root span
            roots[0].scores.extend(trace_scores)
        duration = as_float(case.get("runDuration"))
        error = None
        if isinstance(trace, dict) and trace.get("status") == "ERRORED":
            failed = next((s.error for s in spans if s.parent_id is None and s.error), None)
            error = dumps({"name": "Error", "message": failed or "the trace errored"})
        cases.append(
            CaseImport(
                case_id=case_id,
                idx=idx,
                input=_case_input(case),
                output=_output(case),
                expected=_json_text(case.get("expectedOutput")),
                latency_ms=fit(round(duration * 1000)) if duration is not None else 0,
                tokens_in=fit(sum(s.tokens_in or 0 for s in spans if s.kind is SpanKind.LLM)),
                tokens_out=fit(sum(s.tokens_out or 0 for s in spans if s.kind is SpanKind.LLM)),
                error=error,
                scores=scores,
                trace=trace_record,
                spans=spans,
            )
        )
    threshold = thresholds[0] if thresholds and len(set(thresholds)) == 1 else DEFAULT_THRESHOLD
    config: dict[str, Any] = {"source": SOURCE, "file": file_name}
    if thresholds and len(set(thresholds)) == 1:
        config["threshold"] = threshold
    duration_ms = fit(round((as_float(run.get("runDuration")) or 0.0) * 1000))
    started = min(starts) // 1_000_000 if starts else fit(mtime_ms - duration_ms)
    hyper = run.get("hyperparameters")
    model = hyper.get("model") if isinstance(hyper, dict) else None
    if not isinstance(model, str) or not model:
        model = models.pop() if len(models) == 1 else SOURCE
    suite = run.get("identifier") or run.get("testFile") or SOURCE
    return RunImport(
        suite_name=str(suite),
        run_name=f"{suite} [{model}]",
        model=model,
        config=json.dumps(config, separators=(",", ":"), ensure_ascii=False),
        started_at=started,
        finished_at=fit(started + duration_ms),
        summary=_summary(cases, threshold),
        cases=cases,
        unstorable=fit.clamped + sum(s.unstorable for case in cases for s in case.spans),
    )
