"""Decode an OTLP/protobuf `ExportTraceServiceRequest` with the official messages.

`opentelemetry-proto`'s generated classes (protobuf's upb C parser) read the wire format;
this walks the parsed message into the same dict an OTLP/JSON body parses to (lowerCamelCase
fields, hex ids, integer enums), which `otlp.records_from_document` then converts. Unknown
fields are skipped by protobuf itself, so newer senders still work.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span


class ProtobufError(ValueError):
    """A body that is not a well-formed OTLP protobuf message."""


def _any_value(value: AnyValue) -> dict[str, Any]:
    which = value.WhichOneof("value")
    if which == "string_value":
        return {"stringValue": value.string_value}
    if which == "int_value":
        return {"intValue": value.int_value}
    if which == "bool_value":
        return {"boolValue": value.bool_value}
    if which == "double_value":
        return {"doubleValue": value.double_value}
    if which == "array_value":
        return {"arrayValue": {"values": [_any_value(v) for v in value.array_value.values]}}
    if which == "kvlist_value":
        return {"kvlistValue": {"values": _attributes(value.kvlist_value.values)}}
    if which == "bytes_value":
        return {"bytesValue": value.bytes_value.hex()}
    return {}


def _attributes(items: Any) -> list[dict[str, Any]]:
    out = []
    item: KeyValue
    for item in items:
        out.append({"key": item.key, "value": _any_value(item.value)})
    return out


def _span(span: Span) -> dict[str, Any]:
    out: dict[str, Any] = {
        "traceId": span.trace_id.hex(),
        "spanId": span.span_id.hex(),
        "name": span.name,
        "kind": span.kind,
        "startTimeUnixNano": span.start_time_unix_nano,
        "endTimeUnixNano": span.end_time_unix_nano,
        "attributes": _attributes(span.attributes),
        "events": [
            {
                "timeUnixNano": event.time_unix_nano,
                "name": event.name,
                "attributes": _attributes(event.attributes),
            }
            for event in span.events
        ],
        "links": [
            {
                "traceId": link.trace_id.hex(),
                "spanId": link.span_id.hex(),
                "attributes": _attributes(link.attributes),
            }
            for link in span.links
        ],
    }
    if span.parent_span_id:
        out["parentSpanId"] = span.parent_span_id.hex()
    if span.trace_state:
        out["traceState"] = span.trace_state
    if span.HasField("status"):
        status: dict[str, Any] = {"code": span.status.code}
        if span.status.message:
            status["message"] = span.status.message
        out["status"] = status
    return out


def decode_export_request(body: bytes) -> dict[str, Any]:
    """An `ExportTraceServiceRequest` as the dict its OTLP/JSON form parses to."""
    try:
        request = ExportTraceServiceRequest.FromString(body)
    except DecodeError as error:
        raise ProtobufError(str(error) or "not an ExportTraceServiceRequest") from None
    try:
        return {
            "resourceSpans": [
                {
                    "resource": {"attributes": _attributes(group.resource.attributes)},
                    "scopeSpans": [
                        {"spans": [_span(span) for span in scope.spans]}
                        for scope in group.scope_spans
                    ],
                }
                for group in request.resource_spans
            ]
        }
    except RecursionError:
        raise ProtobufError("values nested too deeply") from None
