"""OpenTelemetry spans (OTLP/JSON, decoded OTLP protobuf, the SDK's `to_json`) to `SpanRecord`.

Accepted, as the OTLP spec and the proto3 JSON mapping allow: ids in lowercase hex (OTLP/JSON)
or base64 (`MessageToDict`), enums as integers or names, 64-bit integers as strings or
numbers, and lowerCamelCase or snake_case field names.

Linking a trace to a case: a span or resource attribute `evals.case_id` (a `cases.id`), or
`evals.run_id` plus `evals.case_idx` (a `cases.idx`, for a task that only knows its index
while it runs). A span's own attribute wins over its resource's.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Iterator
from typing import Any

from evaltui.core.jsonutil import INT64_MAX, beyond_int64, int64
from evaltui.core.timefmt import iso_to_ns
from evaltui.traces.genai import as_int, evaluation_scores, genai_fields
from evaltui.traces.models import CaseLink, SpanRecord, SpanStatus

CASE_ID_KEY = "evals.case_id"
CASE_IDX_KEY = "evals.case_idx"
RUN_ID_KEY = "evals.run_id"
TRACE_ID_BYTES = 16
SPAN_ID_BYTES = 8
SPAN_KINDS = {
    0: "unspecified",
    1: "internal",
    2: "server",
    3: "client",
    4: "producer",
    5: "consumer",
}
STATUS_CODES = {0: SpanStatus.UNSET, 1: SpanStatus.OK, 2: SpanStatus.ERROR}
STATUS_NAMES = {"unset": SpanStatus.UNSET, "ok": SpanStatus.OK, "error": SpanStatus.ERROR}
_HEX = re.compile(r"^[0-9a-fA-F]+$")


class FieldError(ValueError):
    """A field of an input that is missing or malformed; `field` is its path."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message

    def within(self, prefix: str) -> FieldError:
        """The same error with its field path under `prefix`."""
        if not prefix:
            return self
        if not self.field:
            return FieldError(prefix, self.message)
        separator = "" if self.field.startswith("[") else "."
        return FieldError(f"{prefix}{separator}{self.field}", self.message)


def get(obj: dict[str, Any], camel: str, snake: str) -> Any:
    value = obj.get(camel)
    return obj.get(snake) if value is None else value


def normalize_id(value: Any, size: int, field: str, *, optional: bool = False) -> str | None:
    """A trace or span id as lowercase hex, from hex (optionally `0x`-prefixed) or base64."""
    if value is None or value == "":
        if optional:
            return None
        raise FieldError(field, "missing")
    if isinstance(value, bytes | bytearray):
        raw = bytes(value)
    elif isinstance(value, str):
        text = value[2:] if value[:2] in ("0x", "0X") else value
        if len(text) == size * 2 and _HEX.match(text):
            raw = bytes.fromhex(text)
        else:
            raw = _b64(text)
            if len(raw) != size:
                raise FieldError(
                    field,
                    f"{value!r} is neither {size * 2} hex digits nor base64 of {size} bytes",
                )
    else:
        raise FieldError(field, f"expected a hex or base64 string, got {type(value).__name__}")
    if len(raw) != size:
        raise FieldError(field, f"expected {size} bytes, got {len(raw)}")
    if not any(raw):
        if optional:
            return None
        raise FieldError(field, "is all zeros (an invalid id)")
    return raw.hex()


def _b64(text: str) -> bytes:
    """Standard or URL-safe base64 (padding optional); b"" when it is neither."""
    padded = (text + "=" * (-len(text) % 4)).encode("ascii", "replace")
    for altchars in (None, b"-_"):
        try:
            return base64.b64decode(padded, altchars=altchars, validate=True)
        except (binascii.Error, ValueError):
            continue
    return b""


def parse_nanos(value: Any, field: str, *, required: bool) -> int | None:
    """An epoch-ns integer given as a number or a decimal string (0 or absent: none)."""
    if value is None or value in ("", 0, "0"):
        if required:
            raise FieldError(field, "missing")
        return None
    number = as_int(value)
    if number is None or number < 0:
        raise FieldError(field, f"expected a non-negative integer of nanoseconds, got {value!r}")
    if number > INT64_MAX:
        raise FieldError(field, f"{number} ns is past 2^63-1, the largest time that can be stored")
    return number


def any_value(value: Any, field: str) -> Any:
    """An OTLP `AnyValue` as a plain JSON value (bytes stay base64 text)."""
    if not isinstance(value, dict):
        raise FieldError(field, "expected an AnyValue object")
    if not value:
        return None
    for key, snake in (("stringValue", "string_value"), ("bytesValue", "bytes_value")):
        if key in value or snake in value:
            found = get(value, key, snake)
            return "" if found is None else str(found)
    if "boolValue" in value or "bool_value" in value:
        return bool(get(value, "boolValue", "bool_value"))
    if "intValue" in value or "int_value" in value:
        raw_int = get(value, "intValue", "int_value")
        number = as_int(raw_int)
        if number is None:
            if isinstance(raw_int, str) and raw_int.strip().lstrip("+-").isdigit():
                return raw_int.strip()  # past Python's 4,300-digit limit: kept as text
            raise FieldError(field, "intValue is not an integer")
        return number
    if "doubleValue" in value or "double_value" in value:
        raw = get(value, "doubleValue", "double_value")
        try:
            number_f = float(raw)
        except (TypeError, ValueError):
            raise FieldError(field, "doubleValue is not a number") from None
        return number_f if math.isfinite(number_f) else str(raw)
    if "arrayValue" in value or "array_value" in value:
        inner = get(value, "arrayValue", "array_value") or {}
        items = (inner.get("values") or []) if isinstance(inner, dict) else None
        if not isinstance(items, list):
            raise FieldError(field, "arrayValue.values is not a list")
        return [any_value(item, f"{field}.arrayValue.values[{i}]") for i, item in enumerate(items)]
    if "kvlistValue" in value or "kvlist_value" in value:
        inner = get(value, "kvlistValue", "kvlist_value") or {}
        items = (inner.get("values") or []) if isinstance(inner, dict) else None
        return attributes(items, f"{field}.kvlistValue.values")
    raise FieldError(field, f"unknown AnyValue field {next(iter(value))!r}")


def attributes(items: Any, field: str) -> dict[str, Any]:
    """An OTLP `KeyValue` list as a dict (a later duplicate key wins)."""
    if items is None:
        return {}
    if not isinstance(items, list):
        raise FieldError(field, "expected a list of {key, value}")
    out: dict[str, Any] = {}
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            raise FieldError(f"{field}[{i}]", "expected an object with a string key")
        value = item.get("value")
        out[item["key"]] = None if value is None else any_value(value, f"{field}[{i}].value")
    return out


def _enum(value: Any, table: dict[int, Any], prefix: str, field: str) -> Any:
    if value is None:
        return table[0]
    if isinstance(value, bool):
        raise FieldError(field, f"expected an enum, got {value!r}")
    if isinstance(value, int):
        return table.get(value, str(value))
    if isinstance(value, str):
        name = value.rsplit(".", 1)[-1].lower()  # SPAN_KIND_CLIENT, SpanKind.CLIENT
        name = name.removeprefix(prefix)
        if name.isdigit():
            return table.get(int(name), name)
        return name
    raise FieldError(field, f"expected an enum, got {value!r}")


def span_kind_name(value: Any, field: str = "kind") -> str:
    return str(_enum(value, SPAN_KINDS, "span_kind_", field))


def status_of(value: Any, field: str = "status") -> tuple[SpanStatus, str | None]:
    if value is None:
        return SpanStatus.UNSET, None
    if not isinstance(value, dict):
        raise FieldError(field, "expected an object")
    raw = get(value, "code", "status_code")
    code = _enum(raw, STATUS_CODES, "status_code_", f"{field}.code")
    status = code if isinstance(code, SpanStatus) else STATUS_NAMES.get(str(code))
    if status is None:
        raise FieldError(f"{field}.code", f"unknown status code {raw!r}")
    message = value.get("message", value.get("description"))
    return status, (str(message) if message else None)


def _exception_text(events: list[dict[str, Any]]) -> str | None:
    for event in events:
        if event.get("name") == "exception":
            found = event.get("attributes") or {}
            kind, message = found.get("exception.type"), found.get("exception.message")
            if kind and message:
                return f"{kind}: {message}"
            if kind or message:
                return str(kind or message)
    return None


def case_link(span_attributes: dict[str, Any], resource: dict[str, Any]) -> CaseLink | None:
    """The `evals.*` attributes of a span, else of its resource."""

    def pick(key: str) -> Any:
        value = span_attributes.get(key)
        return resource.get(key) if value is None or value == "" else value

    case_id, run_id = pick(CASE_ID_KEY), pick(RUN_ID_KEY)
    case_idx = int64(as_int(pick(CASE_IDX_KEY)))
    link = CaseLink(
        case_id=str(case_id) if case_id not in (None, "") else None,
        run_id=str(run_id) if run_id not in (None, "") else None,
        case_idx=case_idx,
    )
    return link if link else None


def _beyond_idx(span_attributes: dict[str, Any], resource: dict[str, Any]) -> int:
    """1 when the `evals.case_idx` that `case_link` reads is beyond SQLite's INTEGER range."""
    value = span_attributes.get(CASE_IDX_KEY)
    if value is None or value == "":
        value = resource.get(CASE_IDX_KEY)
    return beyond_int64(as_int(value))


def build_record(
    *,
    trace_id: str,
    span_id: str,
    parent_id: str | None,
    name: str,
    start_ns: int,
    end_ns: int | None,
    kind: str,
    status: SpanStatus,
    message: str | None,
    span_attributes: dict[str, Any],
    events: list[dict[str, Any]],
    resource: dict[str, Any],
) -> SpanRecord:
    """The common end of every OpenTelemetry shape."""
    fields = genai_fields(span_attributes, events)
    link = case_link(span_attributes, resource)
    error = None
    if status is SpanStatus.ERROR:
        error = message or _exception_text(events)
        if error is None and span_attributes.get("error.type"):
            error = str(span_attributes["error.type"])
    if kind not in ("unspecified", "internal"):
        span_attributes["otel.span_kind"] = kind
    return SpanRecord(
        trace_id=trace_id,
        span_id=span_id,
        parent_id=parent_id,
        kind=fields.kind,
        name=name,
        start_ns=start_ns,
        end_ns=end_ns,
        status=status,
        error=error,
        model=fields.model,
        tokens_in=fields.tokens_in,
        tokens_out=fields.tokens_out,
        cost=fields.cost,
        input=fields.input,
        output=fields.output,
        attributes=span_attributes,
        events=events,
        scores=evaluation_scores(events),
        link=link,
        trace_attributes=resource,
        unstorable=fields.unstorable + _beyond_idx(span_attributes, resource),
    )


def _otlp_events(items: Any) -> list[dict[str, Any]]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise FieldError("events", "expected a list")
    events = []
    for i, event in enumerate(items):
        if not isinstance(event, dict):
            raise FieldError(f"events[{i}]", "expected an object")
        events.append(
            {
                "name": str(event.get("name") or ""),
                "time_ns": parse_nanos(
                    get(event, "timeUnixNano", "time_unix_nano"),
                    f"events[{i}].timeUnixNano",
                    required=False,
                ),
                "attributes": attributes(event.get("attributes"), f"events[{i}].attributes"),
            }
        )
    return events


def span_from_otlp(span: Any, resource: dict[str, Any]) -> SpanRecord:
    """One span of an OTLP `ExportTraceServiceRequest` (JSON or decoded protobuf)."""
    if not isinstance(span, dict):
        raise FieldError("", "a span must be a JSON object")
    name = span.get("name")
    if not isinstance(name, str):
        raise FieldError("name", "missing" if name is None else "expected a string")
    span_attributes = attributes(span.get("attributes"), "attributes")
    trace_state = get(span, "traceState", "trace_state")
    if trace_state:
        span_attributes["otel.trace_state"] = trace_state
    links = span.get("links")
    if links:
        span_attributes["otel.links"] = _links(links)
    status, message = status_of(span.get("status"))
    return build_record(
        trace_id=_required_id(span, "traceId", "trace_id", TRACE_ID_BYTES),
        span_id=_required_id(span, "spanId", "span_id", SPAN_ID_BYTES),
        parent_id=normalize_id(
            get(span, "parentSpanId", "parent_span_id"),
            SPAN_ID_BYTES,
            "parentSpanId",
            optional=True,
        ),
        name=name,
        start_ns=_required_ns(span, "startTimeUnixNano", "start_time_unix_nano"),
        end_ns=parse_nanos(
            get(span, "endTimeUnixNano", "end_time_unix_nano"), "endTimeUnixNano", required=False
        ),
        kind=span_kind_name(span.get("kind")),
        status=status,
        message=message,
        span_attributes=span_attributes,
        events=_otlp_events(span.get("events")),
        resource=resource,
    )


def _required_id(span: dict[str, Any], camel: str, snake: str, size: int) -> str:
    found = normalize_id(get(span, camel, snake), size, camel)
    assert found is not None
    return found


def _required_ns(span: dict[str, Any], camel: str, snake: str) -> int:
    found = parse_nanos(get(span, camel, snake), camel, required=True)
    assert found is not None
    return found


def _links(items: Any) -> list[dict[str, Any]]:
    if not isinstance(items, list):
        raise FieldError("links", "expected a list")
    links = []
    for i, link in enumerate(items):
        if not isinstance(link, dict):
            raise FieldError(f"links[{i}]", "expected an object")
        links.append(
            {
                "trace_id": normalize_id(
                    get(link, "traceId", "trace_id"), TRACE_ID_BYTES, f"links[{i}].traceId"
                ),
                "span_id": normalize_id(
                    get(link, "spanId", "span_id"), SPAN_ID_BYTES, f"links[{i}].spanId"
                ),
                "attributes": attributes(link.get("attributes"), f"links[{i}].attributes"),
            }
        )
    return links


def resource_attributes(resource_spans: dict[str, Any], field: str) -> dict[str, Any]:
    resource = resource_spans.get("resource")
    if resource is None:
        return {}
    if not isinstance(resource, dict):
        raise FieldError(f"{field}.resource", "expected an object")
    return attributes(resource.get("attributes"), f"{field}.resource.attributes")


def iter_document(doc: Any) -> Iterator[tuple[str, Any, dict[str, Any]]]:
    """(field path, span, resource attributes) of every span of an in-memory OTLP document."""
    if not isinstance(doc, dict):
        raise FieldError("", "expected a JSON object with resourceSpans")
    groups = get(doc, "resourceSpans", "resource_spans")
    if groups is None:
        return
    if not isinstance(groups, list):
        raise FieldError("resourceSpans", "expected a list")
    for i, group in enumerate(groups):
        where = f"resourceSpans[{i}]"
        if not isinstance(group, dict):
            raise FieldError(where, "expected an object")
        resource = resource_attributes(group, where)
        scopes = get(group, "scopeSpans", "scope_spans") or []
        if not isinstance(scopes, list):
            raise FieldError(f"{where}.scopeSpans", "expected a list")
        for j, scope in enumerate(scopes):
            spans = scope.get("spans") if isinstance(scope, dict) else None
            if spans is None:
                continue
            if not isinstance(spans, list):
                raise FieldError(f"{where}.scopeSpans[{j}].spans", "expected a list")
            for k, span in enumerate(spans):
                yield f"{where}.scopeSpans[{j}].spans[{k}]", span, resource


def records_from_document(doc: Any) -> Iterator[SpanRecord]:
    """Every span of an in-memory OTLP document, errors naming the span's field path."""
    for where, span, resource in iter_document(doc):
        try:
            yield span_from_otlp(span, resource)
        except FieldError as error:
            raise error.within(where) from None


def span_from_sdk(obj: dict[str, Any]) -> SpanRecord:
    """One span as the OpenTelemetry Python SDK's `ReadableSpan.to_json()` writes it."""
    context = obj.get("context")
    if not isinstance(context, dict):
        raise FieldError("context", "missing")
    name = obj.get("name")
    if not isinstance(name, str):
        raise FieldError("name", "missing")
    span_attributes = obj.get("attributes") or {}
    if not isinstance(span_attributes, dict):
        raise FieldError("attributes", "expected an object")
    resource = (obj.get("resource") or {}).get("attributes") or {}
    events = []
    for i, event in enumerate(obj.get("events") or []):
        stamp = event.get("timestamp")
        events.append(
            {
                "name": str(event.get("name") or ""),
                "time_ns": _iso(stamp, f"events[{i}].timestamp") if stamp else None,
                "attributes": dict(event.get("attributes") or {}),
            }
        )
    status, message = status_of(obj.get("status"))
    start = obj.get("start_time")
    if not start:
        raise FieldError("start_time", "missing")
    end = obj.get("end_time")
    return build_record(
        trace_id=_required_id(context, "trace_id", "trace_id", TRACE_ID_BYTES),
        span_id=_required_id(context, "span_id", "span_id", SPAN_ID_BYTES),
        parent_id=normalize_id(obj.get("parent_id"), SPAN_ID_BYTES, "parent_id", optional=True),
        name=name,
        start_ns=_iso(start, "start_time"),
        end_ns=_iso(end, "end_time") if end else None,
        kind=span_kind_name(obj.get("kind")),
        status=status,
        message=message,
        span_attributes=dict(span_attributes),
        events=events,
        resource=dict(resource),
    )


def _iso(value: Any, field: str) -> int:
    if not isinstance(value, str):
        raise FieldError(field, "expected an ISO-8601 time")
    try:
        return iso_to_ns(value)
    except ValueError as error:
        raise FieldError(field, str(error)) from None
