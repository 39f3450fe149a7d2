"""Span kind, model, usage, input and output from OpenTelemetry attributes.

Follows the GenAI semantic conventions (`gen_ai.*`, including the legacy prompt/completion
token names) and, where those are absent, the OpenInference (`openinference.span.kind`,
`input.value`, `llm.*`) and OpenLLMetry (`traceloop.*`) names that many instrumentations emit.
Values may come as JSON strings or as structured OTLP values; both give the same result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from evaltui.core.jsonutil import beyond_int64, dumps, int64, maybe_json
from evaltui.traces.models import SpanKind, SpanScore

OPERATION_KINDS = {
    "chat": SpanKind.LLM,
    "generate_content": SpanKind.LLM,
    "text_completion": SpanKind.LLM,
    "completion": SpanKind.LLM,
    "embeddings": SpanKind.EMBEDDING,
    "retrieval": SpanKind.RETRIEVER,
    "create_agent": SpanKind.AGENT,
    "invoke_agent": SpanKind.AGENT,
    "execute_tool": SpanKind.TOOL,
    "invoke_workflow": SpanKind.CHAIN,
}
OPENINFERENCE_KINDS = {
    "llm": SpanKind.LLM,
    "chain": SpanKind.CHAIN,
    "tool": SpanKind.TOOL,
    "agent": SpanKind.AGENT,
    "retriever": SpanKind.RETRIEVER,
    "reranker": SpanKind.RETRIEVER,
    "embedding": SpanKind.EMBEDDING,
}
TRACELOOP_KINDS = {
    "workflow": SpanKind.CHAIN,
    "task": SpanKind.CHAIN,
    "agent": SpanKind.AGENT,
    "tool": SpanKind.TOOL,
}
INPUT_KEYS = (
    "gen_ai.input.messages",
    "gen_ai.tool.call.arguments",
    "input.value",
    "gen_ai.prompt",
    "traceloop.entity.input",
)
OUTPUT_KEYS = (
    "gen_ai.output.messages",
    "gen_ai.tool.call.result",
    "output.value",
    "gen_ai.completion",
    "traceloop.entity.output",
)
MODEL_KEYS = ("gen_ai.response.model", "gen_ai.request.model", "llm.model_name")
TOKENS_IN_KEYS = (
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.prompt_tokens",
    "llm.token_count.prompt",
)
TOKENS_OUT_KEYS = (
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",
    "llm.token_count.completion",
)
COST_KEYS = ("gen_ai.usage.cost", "llm.cost.total")
EVALUATION_EVENT = "gen_ai.evaluation.result"
PASS_LABELS = {"pass", "passed", "true", "success", "yes", "correct"}
FAIL_LABELS = {"fail", "failed", "false", "failure", "no", "incorrect"}


@dataclass(slots=True)
class GenAIFields:
    kind: SpanKind
    model: str | None
    tokens_in: int | None
    tokens_out: int | None
    cost: float | None
    input: str | None
    output: str | None
    unstorable: int  # token counts beyond SQLite's INTEGER range, stored empty


def as_int(value: Any) -> int | None:
    """An integer from an int, an integral float or a numeric string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)  # exact: epoch nanoseconds do not fit a float
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            return None
        return int(number) if math.isfinite(number) and number.is_integer() else None
    return None


def as_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _first(attributes: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = attributes.get(key)
        if value is not None and value != "":
            return value
    return None


def span_kind(attributes: dict[str, Any]) -> SpanKind:
    operation = attributes.get("gen_ai.operation.name")
    if isinstance(operation, str) and operation.lower() in OPERATION_KINDS:
        return OPERATION_KINDS[operation.lower()]
    for key, table in (
        ("openinference.span.kind", OPENINFERENCE_KINDS),
        ("traceloop.span.kind", TRACELOOP_KINDS),
    ):
        value = attributes.get(key)
        if isinstance(value, str) and value.lower() in table:
            return table[value.lower()]
    if "llm.request.type" in attributes or "gen_ai.request.model" in attributes:
        return SpanKind.LLM
    if "gen_ai.tool.name" in attributes:
        return SpanKind.TOOL
    if "gen_ai.agent.name" in attributes:
        return SpanKind.AGENT
    return SpanKind.CUSTOM


def _content(value: Any) -> str | None:
    return None if value is None else dumps(maybe_json(value))


def genai_fields(attributes: dict[str, Any], events: list[dict[str, Any]]) -> GenAIFields:
    """The columns a span gets from its attributes (and legacy content events)."""
    model = _first(attributes, MODEL_KEYS)
    input_value = _first(attributes, INPUT_KEYS)
    output_value = _first(attributes, OUTPUT_KEYS)
    for event in events:  # GenAI conventions before 1.28 put content in events
        event_attributes = event.get("attributes") or {}
        if input_value is None and event.get("name") == "gen_ai.content.prompt":
            input_value = event_attributes.get("gen_ai.prompt")
        if output_value is None and event.get("name") == "gen_ai.content.completion":
            output_value = event_attributes.get("gen_ai.completion")
    tokens_in = as_int(_first(attributes, TOKENS_IN_KEYS))
    tokens_out = as_int(_first(attributes, TOKENS_OUT_KEYS))
    return GenAIFields(
        kind=span_kind(attributes),
        model=None if model is None else str(model),
        tokens_in=int64(tokens_in),
        tokens_out=int64(tokens_out),
        cost=as_float(_first(attributes, COST_KEYS)),
        input=_content(input_value),
        output=_content(output_value),
        unstorable=beyond_int64(tokens_in, tokens_out),
    )


def evaluation_scores(events: list[dict[str, Any]]) -> list[SpanScore]:
    """Span scores from `gen_ai.evaluation.result` events."""
    scores = []
    for event in events:
        if event.get("name") != EVALUATION_EVENT:
            continue
        attributes = event.get("attributes") or {}
        label = attributes.get("gen_ai.evaluation.score.label")
        success = None
        if isinstance(label, str):
            lowered = label.strip().lower()
            success = True if lowered in PASS_LABELS else False if lowered in FAIL_LABELS else None
        explanation = attributes.get("gen_ai.evaluation.explanation")
        scores.append(
            SpanScore(
                name=str(attributes.get("gen_ai.evaluation.name") or "evaluation"),
                score=as_float(attributes.get("gen_ai.evaluation.score.value")),
                success=success,
                reason=None if explanation is None else str(explanation),
            )
        )
    return scores
