"""`evaltui collect`: OTLP/HTTP on 127.0.0.1 with an ephemeral port, driven through httpx."""

from __future__ import annotations

import argparse
import asyncio
import base64
import copy
import gzip
import json
import sqlite3
import struct
from collections.abc import AsyncIterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx
import pytest

from evaltui.cli import traces as cli_traces
from evaltui.services.ingest.collector import Collector, is_loopback
from evaltui.store.writer import StoreWriter
from evaltui.traces.otlp import records_from_document
from evaltui.traces.otlp_proto import ProtobufError, decode_export_request
from tests.conftest import FIXTURES
from tests.shared import require_shared
from tests.storebuilder import StoreBuilder

OTLP_JSON = FIXTURES / "otlp" / "otel_agent_trace.otlp.json"
URL = "/v1/traces"
JSON = {"Content-Type": "application/json"}
PROTOBUF = {"Content-Type": "application/x-protobuf"}


# -- a small OTLP protobuf encoder, so the protobuf path is tested without any dependency ----


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def field(number: int, payload: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def fixed64(number: int, value: int) -> bytes:
    return varint(number << 3 | 1) + struct.pack("<Q", value)


def number(field_number: int, value: int) -> bytes:
    return varint(field_number << 3) + varint(value)


def enc_any(value: dict[str, Any]) -> bytes:
    if "stringValue" in value:
        return field(1, value["stringValue"].encode())
    if "boolValue" in value:
        return number(2, int(value["boolValue"]))
    if "intValue" in value:
        return number(3, int(value["intValue"]))
    if "doubleValue" in value:
        return varint(4 << 3 | 1) + struct.pack("<d", value["doubleValue"])
    if "arrayValue" in value:
        return field(5, b"".join(field(1, enc_any(v)) for v in value["arrayValue"]["values"]))
    return field(6, b"".join(field(1, enc_kv(v)) for v in value["kvlistValue"]["values"]))


def enc_kv(item: dict[str, Any]) -> bytes:
    return field(1, item["key"].encode()) + field(2, enc_any(item["value"]))


def enc_span(span: dict[str, Any]) -> bytes:
    out = field(1, bytes.fromhex(span["traceId"])) + field(2, bytes.fromhex(span["spanId"]))
    if span.get("parentSpanId"):
        out += field(4, bytes.fromhex(span["parentSpanId"]))
    out += field(5, span["name"].encode()) + number(6, span["kind"])
    out += fixed64(7, int(span["startTimeUnixNano"])) + fixed64(8, int(span["endTimeUnixNano"]))
    out += b"".join(field(9, enc_kv(kv)) for kv in span.get("attributes", []))
    for event in span.get("events", []):
        body = fixed64(1, int(event["timeUnixNano"])) + field(2, event["name"].encode())
        body += b"".join(field(3, enc_kv(kv)) for kv in event.get("attributes", []))
        out += field(11, body)
    status = span.get("status") or {}
    if status:
        out += field(15, field(2, status.get("message", "").encode()) + number(3, status["code"]))
    out += field(99, b"an unknown field, skipped")
    return out


def encode_request(doc: dict[str, Any]) -> bytes:
    groups = b""
    for group in doc["resourceSpans"]:
        resource = b"".join(field(1, enc_kv(kv)) for kv in group["resource"]["attributes"])
        scopes = b"".join(
            field(
                2,
                field(1, field(1, b"scope"))
                + b"".join(field(2, enc_span(s)) for s in scope["spans"]),
            )
            for scope in group["scopeSpans"]
        )
        groups += field(1, field(1, resource) + scopes)
    return groups


# -- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def doc() -> dict[str, Any]:
    require_shared(OTLP_JSON)
    loaded: dict[str, Any] = json.loads(OTLP_JSON.read_text())
    return loaded


@pytest.fixture
async def server(builder: StoreBuilder) -> AsyncIterator[tuple[Collector, httpx.AsyncClient, Path]]:
    writer = StoreWriter.open(builder.path, busy_timeout_ms=100)
    writer.ensure_schema()
    collector = Collector(writer, max_body=256 * 1024)
    host, port = await collector.start("127.0.0.1", 0)
    assert host == "127.0.0.1" and port > 0
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        yield collector, client, builder.path
    await collector.close()
    writer.close()


def q(db_path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db_path) as db:
        return db.execute(sql, params).fetchall()


def wipe(db_path: Path) -> None:
    """Delete every trace (cascading to spans, payloads and scores) to send a body again."""
    with sqlite3.connect(db_path) as db:
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("DELETE FROM evaltui_traces")
    assert q(db_path, "SELECT COUNT(*) FROM evaltui_spans") == [(0,)]


def skeleton(db_path: Path) -> list[tuple[Any, ...]]:
    return q(
        db_path,
        "SELECT s.span_id, s.parent_id, s.kind, s.name, s.start_ns, s.end_ns, s.status, s.error,"
        " s.model, s.tokens_in, s.tokens_out, p.input, p.output, p.attributes, p.events"
        " FROM evaltui_spans s JOIN evaltui_span_payloads p ON p.span_pk = s.id ORDER BY s.span_id",
    )


Server = tuple[Collector, httpx.AsyncClient, Path]


# -- the protobuf decoder -------------------------------------------------------------------


def test_decoded_protobuf_equals_the_json_document(doc: dict[str, Any]) -> None:
    decoded = decode_export_request(encode_request(doc))
    assert [asdict(r) for r in records_from_document(decoded)] == [
        asdict(r) for r in records_from_document(doc)
    ]


def test_the_decoder_agrees_with_opentelemetry_proto(doc: dict[str, Any]) -> None:
    pytest.importorskip("opentelemetry.proto.collector.trace.v1.trace_service_pb2")
    from google.protobuf import json_format  # type: ignore[import-untyped,unused-ignore]
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    proto_json = copy.deepcopy(doc)  # proto3 JSON has base64 ids
    for group in proto_json["resourceSpans"]:
        for scope in group["scopeSpans"]:
            for span in scope["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = base64.b64encode(bytes.fromhex(span[key])).decode()
    message = json_format.ParseDict(proto_json, ExportTraceServiceRequest())
    decoded = decode_export_request(message.SerializeToString())
    assert [asdict(r) for r in records_from_document(decoded)] == [
        asdict(r) for r in records_from_document(doc)
    ]
    # and what MessageToDict gives (base64 ids, enum names) imports the same too
    as_dict = json_format.MessageToDict(message)
    assert [asdict(r) for r in records_from_document(as_dict)] == [
        asdict(r) for r in records_from_document(doc)
    ]


@pytest.mark.parametrize("body", [b"\x0a\x05ab", b"\x0b", b"\x0a\x02\x0a\xff", b"\x08"])
def test_malformed_protobuf_is_rejected(body: bytes) -> None:
    with pytest.raises(ProtobufError):
        decode_export_request(body)


# -- the server -----------------------------------------------------------------------------


async def test_json_protobuf_and_gzip_bodies(
    server: Server, doc: dict[str, Any], tmp_path: Path
) -> None:
    collector, client, store = server
    response = await client.post(URL, content=json.dumps(doc), headers=JSON)
    assert (response.status_code, response.json()) == (200, {})
    reference = skeleton(store)
    assert len(reference) == 5

    wipe(store)
    response = await client.post(URL, content=encode_request(doc), headers=PROTOBUF)
    assert response.status_code == 200 and response.content == b""
    assert response.headers["content-type"] == "application/x-protobuf"
    assert skeleton(store) == reference

    wipe(store)
    body = gzip.compress(json.dumps(doc).encode())
    response = await client.post(URL, content=body, headers={**JSON, "Content-Encoding": "gzip"})
    assert response.status_code == 200
    assert skeleton(store) == reference
    assert (collector.stats.requests, collector.stats.spans, collector.stats.added) == (3, 15, 15)


async def test_the_same_spans_twice_are_stored_once(server: Server, doc: dict[str, Any]) -> None:
    collector, client, store = server
    for _ in range(2):
        assert (await client.post(URL, json=doc)).status_code == 200
    assert q(store, "SELECT COUNT(*) FROM evaltui_spans") == [(5,)]
    assert q(store, "SELECT span_count FROM evaltui_traces") == [(5,)]
    assert (collector.stats.added, collector.stats.duplicates) == (5, 5)


async def test_a_bad_body_gets_400_and_writes_nothing(server: Server, doc: dict[str, Any]) -> None:
    collector, client, store = server
    response = await client.post(URL, content=b"{not json", headers=JSON)
    assert response.status_code == 400
    assert response.json()["code"] == 3 and "bad JSON body" in response.json()["message"]

    half_bad = copy.deepcopy(doc)
    half_bad["resourceSpans"][0]["scopeSpans"][0]["spans"][4]["traceId"] = "xyz"
    response = await client.post(URL, json=half_bad)
    assert response.status_code == 400
    message = response.json()["message"]
    assert "resourceSpans[0].scopeSpans[0].spans[4].traceId" in message
    assert q(store, "SELECT COUNT(*) FROM evaltui_spans") == [(0,)]

    response = await client.post(URL, content=b"\x0a\x05ab", headers=PROTOBUF)
    assert response.status_code == 400
    assert response.content.startswith(b"\x08\x03\x12") and b"bad protobuf body" in response.content
    assert collector.stats.rejected == 3 and collector.stats.requests == 0


async def test_limits_methods_paths_and_types(server: Server, doc: dict[str, Any]) -> None:
    _, client, store = server
    assert (
        await client.post(URL, content=b"x" * (256 * 1024 + 1), headers=JSON)
    ).status_code == 413
    bomb = gzip.compress(b" " * (2 << 20))  # 2 MiB of blanks, a few KiB compressed
    response = await client.post(URL, content=bomb, headers={**JSON, "Content-Encoding": "gzip"})
    assert response.status_code == 413
    assert (await client.get(URL)).status_code == 405
    assert (await client.post("/v1/metrics", json=doc)).status_code == 404
    assert (
        await client.post(URL, content=b"{}", headers={"Content-Type": "text/plain"})
    ).status_code == 415
    deflate = {**JSON, "Content-Encoding": "deflate"}
    assert (await client.post(URL, content=b"{}", headers=deflate)).status_code == 415
    assert (
        await client.post(URL, content=b"not gzip", headers={**JSON, "Content-Encoding": "gzip"})
    ).status_code == 400
    assert (await client.post(URL, json=doc)).status_code == 200  # the server is still fine
    assert q(store, "SELECT COUNT(*) FROM evaltui_spans") == [(5,)]


async def test_chunked_bodies_and_a_raw_bad_request(server: Server, doc: dict[str, Any]) -> None:
    _, client, store = server
    text = json.dumps(doc).encode()

    async def pieces() -> AsyncIterator[bytes]:
        for start in range(0, len(text), 1000):
            yield text[start : start + 1000]

    response = await client.post(URL, content=pieces(), headers=JSON)
    assert response.status_code == 200
    assert q(store, "SELECT COUNT(*) FROM evaltui_spans") == [(5,)]
    port = int(str(client.base_url).rsplit(":", 1)[1].strip("/"))
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"NONSENSE\r\n\r\n")
    await writer.drain()
    line = await reader.readline()  # aiohttp answers an unparsable request line in HTTP/1.0
    assert line.startswith(b"HTTP/1.") and line[8:12] == b" 400"
    writer.close()


async def test_concurrent_senders_lose_nothing(server: Server, doc: dict[str, Any]) -> None:
    collector, client, store = server
    bodies = []
    for n in range(40):
        body = copy.deepcopy(doc)
        for span in body["resourceSpans"][0]["scopeSpans"][0]["spans"]:
            span["traceId"] = f"{n + 1:032x}"
        bodies.append(body)
    responses = await asyncio.gather(*(client.post(URL, json=body) for body in bodies))
    assert {r.status_code for r in responses} == {200}
    assert q(store, "SELECT COUNT(*), SUM(span_count) FROM evaltui_traces") == [(40, 200)]
    assert collector.stats.added == 200


async def test_a_locked_store_answers_503_so_exporters_retry(
    server: Server, doc: dict[str, Any], builder: StoreBuilder
) -> None:
    _, client, _ = server
    builder.db.execute("BEGIN IMMEDIATE")
    try:
        response = await client.post(URL, json=doc)
    finally:
        builder.db.execute("ROLLBACK")
    assert response.status_code == 503 and response.json()["code"] == 14
    assert (await client.post(URL, json=doc)).status_code == 200


async def test_spans_link_to_their_case_once_it_is_written(
    server: Server, builder: StoreBuilder
) -> None:
    collector, client, store = server
    run_id = builder.run(builder.suite("live"), "m")
    span = {
        "traceId": "5" * 32,
        "spanId": "6" * 16,
        "name": "invoke_agent",
        "startTimeUnixNano": "1700000000000000000",
        "attributes": [
            {"key": "evals.case_idx", "value": {"intValue": "0"}},
        ],
    }
    body = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "evals.run_id", "value": {"stringValue": run_id}}]
                },
                "scopeSpans": [{"spans": [span]}],
            }
        ]
    }
    assert (await client.post(URL, json=body)).status_code == 200
    assert q(store, "SELECT case_id, run_id, case_idx FROM evaltui_traces") == [(None, run_id, 0)]
    case_id = builder.case(run_id, 0)
    await collector.close()  # links what it can on the way out
    assert q(store, "SELECT case_id FROM evaltui_traces") == [(case_id,)]


def test_binding_beyond_loopback_warns(
    monkeypatch: pytest.MonkeyPatch, builder: StoreBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0")

    async def no_serve(*_: Any) -> None:
        return None

    monkeypatch.setattr(cli_traces, "_collect", no_serve)
    args = argparse.Namespace(host="0.0.0.0", port=0, store=str(builder.path), max_body_mb=1)
    assert cli_traces.cmd_collect(args) == 0
    err = capsys.readouterr().err
    assert "warning: listening on 0.0.0.0" in err and "no authentication" in err
    args.host = "127.0.0.1"
    cli_traces.cmd_collect(args)
    assert "warning" not in capsys.readouterr().err
