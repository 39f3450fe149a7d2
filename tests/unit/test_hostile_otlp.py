"""Issue 11, findings 5 and 6: hostile OTLP values and requests get an answer, never a
traceback or a dropped connection; concurrent parsing is capped (503 + Retry-After)."""

from __future__ import annotations

import asyncio
import copy
import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from evaltui.cli.traces import main
from evaltui.services.ingest.collector import Collector
from evaltui.services.ingest.importer import ImportFailure, import_file
from evaltui.store.writer import StoreWriter
from tests.shared import FIXTURES, require_shared
from tests.storebuilder import StoreBuilder
from tests.unit.test_collect import encode_request, fixed64

OTLP_JSON = FIXTURES / "otlp" / "otel_agent_trace.otlp.json"
URL = "/v1/traces"
JSON = {"Content-Type": "application/json"}
PROTOBUF = {"Content-Type": "application/x-protobuf"}
BIG = 2**63  # one past SQLite's largest INTEGER


@pytest.fixture
def doc() -> dict[str, Any]:
    require_shared(OTLP_JSON)
    loaded: dict[str, Any] = json.loads(OTLP_JSON.read_text())
    return loaded


def first_span(document: dict[str, Any]) -> dict[str, Any]:
    span: dict[str, Any] = document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    return span


def with_tokens(doc: dict[str, Any], tokens: int) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    first_span(out)["attributes"].append(
        {"key": "gen_ai.usage.input_tokens", "value": {"intValue": str(tokens)}}
    )
    return out


def with_name(doc: dict[str, Any], name: str) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    first_span(out)["name"] = name
    return out


def with_long_number(doc: dict[str, Any]) -> str:
    """A raw JSON number of 5,000 digits (more than Python's int() takes by default)."""
    out = copy.deepcopy(doc)
    first_span(out)["attributes"].append({"key": "huge", "value": {"intValue": "@@"}})
    return json.dumps(out).replace('"@@"', "9" * 5000)


def q(db_path: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db_path) as db:
        return db.execute(sql).fetchall()


@pytest.fixture
def store(builder: StoreBuilder) -> Path:
    with StoreWriter.open(builder.path) as writer:
        writer.ensure_schema()
    return builder.path


# -- import (finding 6) ---------------------------------------------------------------------


def test_import_stores_a_token_count_past_int64_as_none_and_keeps_the_attribute(
    tmp_path: Path, store: Path, doc: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "big.json"
    path.write_text(json.dumps(with_tokens(doc, BIG)))
    assert main(["import", str(path), "--store", str(store)]) == 0
    assert "warning: " in capsys.readouterr().err  # said, not silently dropped
    name = first_span(doc)["name"]
    rows = q(
        store,
        "SELECT tokens_in, attributes FROM evaltui_spans s JOIN evaltui_span_payloads p"
        f" ON p.span_pk = s.id WHERE name = '{name}'",
    )
    assert rows[0][0] is None and str(BIG) in rows[0][1]


DEEPEVAL_RUN = FIXTURES / "deepeval" / "deepeval_test_run_with_traces.json"


@pytest.mark.parametrize("where", ["two LLM spans summing past int64", "case", "run"])
def test_a_deepeval_run_with_numbers_past_int64_imports_clamped_with_a_warning(
    tmp_path: Path, store: Path, where: str, capsys: pytest.CaptureFixture[str]
) -> None:
    require_shared(DEEPEVAL_RUN)
    run = json.loads(DEEPEVAL_RUN.read_text())
    if where == "case":
        run["testCases"][0]["runDuration"] = 1e300  # seconds: latency_ms past int64
    elif where == "run":
        run["runDuration"] = 1e300
    else:  # each fits, their sum (the case's tokens_in) does not
        spans = run["testCases"][0]["trace"]["llmSpans"]
        spans.append({**copy.deepcopy(spans[0]), "uuid": "another-llm-span"})
        for span in spans:
            span["inputTokenCount"] = 2**62 + 1
    path = tmp_path / "run.json"
    path.write_text(json.dumps(run))
    assert main(["import", str(path), "--store", str(store)]) == 0  # was an OverflowError
    assert "beyond SQLite's range" in capsys.readouterr().err
    top = 2**63 - 1
    (latency, tokens, finished) = q(
        store,
        "SELECT MAX(c.latency_ms), MAX(c.tokens_in), MAX(r.finished_at) FROM cases c"
        " JOIN runs r ON r.id = c.run_id",
    )[0]
    assert top in (latency, tokens, finished)


def test_import_keeps_a_5000_digit_number_as_text(
    tmp_path: Path, store: Path, doc: dict[str, Any]
) -> None:
    path = tmp_path / "long.json"
    path.write_text(with_long_number(doc))
    assert main(["import", str(path), "--store", str(store)]) == 0
    (attributes,) = q(
        store, "SELECT attributes FROM evaltui_span_payloads WHERE attributes LIKE '%huge%'"
    )
    assert "9" * 5000 in attributes[0]


def test_import_replaces_a_lone_surrogate(tmp_path: Path, store: Path, doc: dict[str, Any]) -> None:
    path = tmp_path / "surrogate.json"
    path.write_text(json.dumps(with_name(doc, "bad \ud800 name")))  # json.dumps escapes it
    assert "\\ud800" in path.read_text()
    assert main(["import", str(path), "--store", str(store)]) == 0
    assert q(store, "SELECT COUNT(*) FROM evaltui_spans WHERE name = 'bad \ufffd name'") == [(1,)]


def test_import_of_a_time_past_int64_fails_with_a_reason(
    tmp_path: Path, store: Path, doc: dict[str, Any]
) -> None:
    bad = copy.deepcopy(doc)
    first_span(bad)["endTimeUnixNano"] = str(2**64 - 1)
    path = tmp_path / "time.json"
    path.write_text(json.dumps(bad))
    with StoreWriter.open(store) as writer, pytest.raises(ImportFailure, match="past 2\\^63-1"):
        import_file(writer, path)
    assert main(["import", str(path), "--store", str(store)]) == 2


# -- the receiver (finding 5) ---------------------------------------------------------------


@pytest.fixture
async def server(builder: StoreBuilder) -> AsyncIterator[tuple[Collector, int, Path]]:
    writer = StoreWriter.open(builder.path, busy_timeout_ms=100)
    writer.ensure_schema()
    collector = Collector(writer, max_body=256 * 1024)
    _, port = await collector.start("127.0.0.1", 0)
    yield collector, port, builder.path
    await collector.close()
    writer.close()


Server = tuple[Collector, int, Path]


async def post(port: int, content: bytes | str, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        return await client.post(URL, content=content, headers=headers)


async def test_the_receiver_takes_a_token_count_past_int64(
    server: Server, doc: dict[str, Any]
) -> None:
    _, port, store = server
    response = await post(port, json.dumps(with_tokens(doc, BIG)), JSON)
    assert response.status_code == 200
    assert q(store, "SELECT COUNT(*) FROM evaltui_spans") == [(5,)]


async def test_the_receiver_takes_a_lone_surrogate(server: Server, doc: dict[str, Any]) -> None:
    _, port, store = server
    response = await post(port, json.dumps(with_name(doc, "x\udfffy")), JSON)
    assert response.status_code == 200
    assert q(store, "SELECT COUNT(*) FROM evaltui_spans WHERE name = 'x\ufffdy'") == [(1,)]


async def test_the_receiver_takes_a_5000_digit_number(server: Server, doc: dict[str, Any]) -> None:
    _, port, store = server
    response = await post(port, with_long_number(doc), JSON)
    assert response.status_code == 200
    assert q(store, "SELECT COUNT(*) FROM evaltui_spans") == [(5,)]


async def test_the_receiver_answers_400_for_a_fixed64_time_of_2_64_minus_1(
    server: Server, doc: dict[str, Any]
) -> None:
    _, port, store = server
    body = encode_request(doc)
    start = fixed64(7, int(first_span(doc)["startTimeUnixNano"]))
    assert body.count(start) == 1
    body = body.replace(start, fixed64(7, 2**64 - 1))
    response = await post(port, body, PROTOBUF)
    assert response.status_code == 400
    assert "past 2^63-1" in response.content.decode("utf-8", "replace")
    assert q(store, "SELECT COUNT(*) FROM evaltui_spans") == [(0,)]


async def raw(port: int, request: bytes) -> bytes:
    """The status line the receiver answers a raw request with (b"" if it dropped it)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.readline(), 10)
    finally:
        writer.close()


CHUNKED = b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
CHUNKED += b"Transfer-Encoding: chunked\r\n\r\n"
SIZED = b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (CHUNKED + b"-1\r\n{}\r\n0\r\n\r\n", b"400"),
        (CHUNKED + b"0x2\r\n{}\r\n0\r\n\r\n", b"400"),
        (CHUNKED + b"1_0\r\n" + b"{}" * 8 + b"\r\n0\r\n\r\n", b"400"),
        (CHUNKED + b"f" * 70000 + b"\r\n", b"400"),
        (CHUNKED + b"2\r\n{}XX0\r\n\r\n", b"400"),
        (SIZED + b"Content-Length: -5\r\n\r\n", b"400"),
        (SIZED + b"Content-Length: +2\r\n\r\n{}", b"400"),
        (SIZED + b"Content-Length: 1_0\r\n\r\n" + b"{}" * 5, b"400"),
        (SIZED + b"Content-Length: 99999999999999999999999\r\n\r\n", b"400"),
        (SIZED + b"Content-Length: 999999999\r\n\r\n{}", b"413"),
        (SIZED + b"Content-Length: 6\r\n\r\n[1,2,]", b"400"),
        (SIZED + b'Content-Length: 12\r\n\r\n"\\ud800" "x"', b"400"),
        (SIZED + b"Content-Length: 4\r\nContent-Encoding: gzip\r\n\r\nabcd", b"400"),
        (SIZED + b"Content-Length: 2\r\n\r\n\xff\xfe", b"400"),
    ],
    ids=[
        "chunk-minus-1",
        "chunk-0x",
        "chunk-underscore",
        "chunk-line-too-long",
        "chunk-framing",
        "length-negative",
        "length-plus",
        "length-underscore",
        "length-past-64-bits",
        "length-too-large",
        "bad-json",
        "not-an-object",
        "bad-gzip",
        "not-utf8",
    ],
)
async def test_every_malformed_request_gets_a_status(
    server: Server, request_bytes: bytes, status: bytes
) -> None:
    _, port, _ = server
    line = await raw(port, request_bytes)
    assert line.startswith(b"HTTP/1.") and line[8:12] == b" " + status, line


async def test_busy_receiver_answers_503_with_retry_after(
    builder: StoreBuilder, doc: dict[str, Any]
) -> None:
    writer = StoreWriter.open(builder.path, busy_timeout_ms=100)
    writer.ensure_schema()
    collector = Collector(writer, max_parsing=1, busy_wait=0.2)
    _, port = await collector.start("127.0.0.1", 0)
    try:
        # One request holds the only slot: its head promises a body that arrives late.
        reader, slow = await asyncio.open_connection("127.0.0.1", port)
        body = json.dumps(doc).encode()
        slow.write(SIZED + f"Content-Length: {len(body)}\r\n\r\n".encode() + body[:10])
        await slow.drain()
        await asyncio.sleep(0.1)
        response = await post(port, body, JSON)
        assert response.status_code == 503
        assert response.headers["Retry-After"].isdigit()
        assert response.json()["code"] == 14
        slow.write(body[10:])
        await slow.drain()
        assert (await asyncio.wait_for(reader.readline(), 10)).startswith(b"HTTP/1.1 200")
        slow.close()
        assert (await post(port, body, JSON)).status_code == 200
        assert collector.stats.busy == 1
    finally:
        await collector.close()
        writer.close()


async def test_a_connection_stalled_mid_head_is_closed(
    builder: StoreBuilder, monkeypatch: pytest.MonkeyPatch
) -> None:
    import evaltui.services.ingest.collector as collector_module

    monkeypatch.setattr(collector_module, "KEEPALIVE", 0.5)
    writer = StoreWriter.open(builder.path, busy_timeout_ms=100)
    writer.ensure_schema()
    collector = Collector(writer)
    _, port = await collector.start("127.0.0.1", 0)
    try:
        reader, stalled = await asyncio.open_connection("127.0.0.1", port)
        stalled.write(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\n")  # and nothing more
        await stalled.drain()
        assert await asyncio.wait_for(reader.read(), 10) == b""  # closed by the server
        stalled.close()
    finally:
        await collector.close()
        writer.close()


def test_import_of_a_deepeval_time_past_int64_fails_with_a_reason(
    tmp_path: Path, store: Path
) -> None:
    span = {"uuid": "s", "name": "x", "startTime": 1e300}
    run = {"testCases": [{"name": "a", "input": "q", "trace": {"uuid": "t", "llmSpans": [span]}}]}
    path = tmp_path / "de.json"
    path.write_text(json.dumps(run))
    with StoreWriter.open(store) as writer, pytest.raises(ImportFailure, match="startTime"):
        import_file(writer, path)
    assert main(["import", str(path), "--store", str(store)]) == 2
