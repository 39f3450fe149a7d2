"""Decode an OTLP/protobuf `ExportTraceServiceRequest` without a protobuf library.

The trace protocol is a handful of messages, so this reads the wire format directly and
returns the same dict an OTLP/JSON body parses to (lowerCamelCase fields, hex ids, integer
enums), which `otlp.records_from_document` then converts. Unknown fields are skipped, as
protobuf requires, so newer senders still work. Field numbers are those of
opentelemetry-proto's `trace/v1/trace.proto`, `common/v1/common.proto` and
`resource/v1/resource.proto`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from typing import Any

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5


class ProtobufError(ValueError):
    """A body that is not a well-formed OTLP protobuf message."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ProtobufError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise ProtobufError("varint longer than 10 bytes")


def _fields(data: bytes) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value) of a message; LENGTH values are bytes."""
    pos, end = 0, len(data)
    value: Any
    while pos < end:
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ProtobufError("field number 0")
        if wire == VARINT:
            value, pos = _varint(data, pos)
        elif wire == FIXED64:
            if pos + 8 > end:
                raise ProtobufError("truncated fixed64")
            value, pos = data[pos : pos + 8], pos + 8
        elif wire == LENGTH:
            size, pos = _varint(data, pos)
            if pos + size > end:
                raise ProtobufError("truncated length-delimited field")
            value, pos = data[pos : pos + size], pos + size
        elif wire == FIXED32:
            if pos + 4 > end:
                raise ProtobufError("truncated fixed32")
            value, pos = data[pos : pos + 4], pos + 4
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
        yield number, wire, value


def _expect(wire: int, want: int, what: str) -> None:
    if wire != want:
        raise ProtobufError(f"{what} has wire type {wire}, expected {want}")


def _text(value: bytes, what: str) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtobufError(f"{what} is not UTF-8") from None


def _int64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _u64(value: bytes) -> int:
    return int(struct.unpack("<Q", value)[0])


def _any_value(data: bytes) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for number, wire, value in _fields(data):
        if number == 1:
            _expect(wire, LENGTH, "AnyValue.string_value")
            out = {"stringValue": _text(value, "AnyValue.string_value")}
        elif number == 2:
            _expect(wire, VARINT, "AnyValue.bool_value")
            out = {"boolValue": bool(value)}
        elif number == 3:
            _expect(wire, VARINT, "AnyValue.int_value")
            out = {"intValue": _int64(value)}
        elif number == 4:
            _expect(wire, FIXED64, "AnyValue.double_value")
            out = {"doubleValue": struct.unpack("<d", value)[0]}
        elif number == 5:
            _expect(wire, LENGTH, "AnyValue.array_value")
            out = {"arrayValue": {"values": _repeated(value, 1, _any_value)}}
        elif number == 6:
            _expect(wire, LENGTH, "AnyValue.kvlist_value")
            out = {"kvlistValue": {"values": _repeated(value, 1, _key_value)}}
        elif number == 7:
            _expect(wire, LENGTH, "AnyValue.bytes_value")
            out = {"bytesValue": value.hex()}
    return out


def _key_value(data: bytes) -> dict[str, Any]:
    out: dict[str, Any] = {"key": "", "value": {}}
    for number, wire, value in _fields(data):
        if number == 1:
            _expect(wire, LENGTH, "KeyValue.key")
            out["key"] = _text(value, "KeyValue.key")
        elif number == 2:
            _expect(wire, LENGTH, "KeyValue.value")
            out["value"] = _any_value(value)
    return out


def _repeated(data: bytes, field: int, decode: Callable[[bytes], dict[str, Any]]) -> list[Any]:
    items = []
    for number, wire, value in _fields(data):
        if number == field:
            _expect(wire, LENGTH, f"repeated field {field}")
            items.append(decode(value))
    return items


def _event(data: bytes) -> dict[str, Any]:
    out: dict[str, Any] = {"attributes": []}
    for number, wire, value in _fields(data):
        if number == 1:
            _expect(wire, FIXED64, "Event.time_unix_nano")
            out["timeUnixNano"] = _u64(value)
        elif number == 2:
            _expect(wire, LENGTH, "Event.name")
            out["name"] = _text(value, "Event.name")
        elif number == 3:
            _expect(wire, LENGTH, "Event.attributes")
            out["attributes"].append(_key_value(value))
    return out


def _link(data: bytes) -> dict[str, Any]:
    out: dict[str, Any] = {"attributes": []}
    for number, wire, value in _fields(data):
        if number in (1, 2):
            _expect(wire, LENGTH, "Link id")
            out["traceId" if number == 1 else "spanId"] = value.hex()
        elif number == 4:
            _expect(wire, LENGTH, "Link.attributes")
            out["attributes"].append(_key_value(value))
    return out


def _status(data: bytes) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for number, wire, value in _fields(data):
        if number == 2:
            _expect(wire, LENGTH, "Status.message")
            out["message"] = _text(value, "Status.message")
        elif number == 3:
            _expect(wire, VARINT, "Status.code")
            out["code"] = value
    return out


def _span(data: bytes) -> dict[str, Any]:
    out: dict[str, Any] = {"attributes": [], "events": [], "links": []}
    for number, wire, value in _fields(data):
        if number in (1, 2, 4):
            _expect(wire, LENGTH, "Span id")
            key = {1: "traceId", 2: "spanId", 4: "parentSpanId"}[number]
            out[key] = value.hex()
        elif number == 3:
            _expect(wire, LENGTH, "Span.trace_state")
            out["traceState"] = _text(value, "Span.trace_state")
        elif number == 5:
            _expect(wire, LENGTH, "Span.name")
            out["name"] = _text(value, "Span.name")
        elif number == 6:
            _expect(wire, VARINT, "Span.kind")
            out["kind"] = value
        elif number in (7, 8):
            _expect(wire, FIXED64, "Span time")
            out["startTimeUnixNano" if number == 7 else "endTimeUnixNano"] = _u64(value)
        elif number == 9:
            _expect(wire, LENGTH, "Span.attributes")
            out["attributes"].append(_key_value(value))
        elif number == 11:
            _expect(wire, LENGTH, "Span.events")
            out["events"].append(_event(value))
        elif number == 13:
            _expect(wire, LENGTH, "Span.links")
            out["links"].append(_link(value))
        elif number == 15:
            _expect(wire, LENGTH, "Span.status")
            out["status"] = _status(value)
    out.setdefault("name", "")
    return out


def _scope_spans(data: bytes) -> dict[str, Any]:
    return {"spans": _repeated(data, 2, _span)}


def _resource_spans(data: bytes) -> dict[str, Any]:
    out: dict[str, Any] = {"scopeSpans": []}
    for number, wire, value in _fields(data):
        if number == 1:
            _expect(wire, LENGTH, "ResourceSpans.resource")
            out["resource"] = {"attributes": _repeated(value, 1, _key_value)}
        elif number == 2:
            _expect(wire, LENGTH, "ResourceSpans.scope_spans")
            out["scopeSpans"].append(_scope_spans(value))
    return out


def decode_export_request(body: bytes) -> dict[str, Any]:
    """An `ExportTraceServiceRequest` as the dict its OTLP/JSON form parses to."""
    try:
        return {"resourceSpans": _repeated(body, 1, _resource_spans)}
    except RecursionError:
        raise ProtobufError("values nested too deeply") from None
