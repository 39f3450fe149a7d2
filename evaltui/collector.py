"""`evaltui collect`: an OTLP/HTTP trace receiver that writes into the store as spans arrive.

A minimal HTTP/1.1 server on asyncio's streams (no web framework): `POST /v1/traces` with
an `application/json` or `application/x-protobuf` body, optionally gzip-compressed, as every
OpenTelemetry OTLP/HTTP exporter sends. Each request is converted whole, then written in one
transaction, so a bad or failed request leaves nothing behind. Answers follow the OTLP spec:
200 with an empty `ExportTraceServiceResponse`, 400 with a `google.rpc.Status` for a bad
body, 413 past the size limit, 415 for another content type or encoding, and 503 (which
exporters retry) while another process holds the store's write lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from evaltui.store.errors import StoreError
from evaltui.store.writer import StoreWriter
from evaltui.traces import jsonutil
from evaltui.traces.models import SpanRecord
from evaltui.traces.otlp import FieldError, records_from_document
from evaltui.traces.otlp_proto import ProtobufError, decode_export_request

DEFAULT_PORT = 4318
DEFAULT_HOST = "127.0.0.1"
DEFAULT_MAX_BODY = 16 << 20  # bytes, after decompression
MAX_HEAD = 64 << 10
IO_TIMEOUT = 30.0
# Memory: a request holds its body (<= max_body), its inflated body (<= max_body) and the
# decoded spans (about 10x the JSON) only while it has one of MAX_PARSING slots; others wait
# up to BUSY_WAIT seconds for one with their body still unread (in the kernel's buffers), then
# get 503 with Retry-After. Past MAX_CONNECTIONS open connections a new one gets 503 at once.
MAX_PARSING = 2
BUSY_WAIT = 10.0
RETRY_AFTER = 2  # seconds, in the 503's Retry-After header
MAX_CONNECTIONS = 256
DISCARD_PIECE = 64 << 10
_HEX_SIZE = re.compile(rb"[0-9a-fA-F]{1,16}")
LINK_EVERY = 5.0  # seconds between two passes that link traces to cases written since
JSON_TYPE = "application/json"
PROTOBUF_TYPE = "application/x-protobuf"
REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    411: "Length Required",
    413: "Content Too Large",
    500: "Internal Server Error",
    415: "Unsupported Media Type",
    431: "Request Header Fields Too Large",
    503: "Service Unavailable",
}
INVALID_ARGUMENT, UNAVAILABLE = 3, 14


class HttpError(Exception):
    def __init__(
        self, status: int, message: str, *, close: bool = False, unread: bool = False
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.close = close
        self.unread = unread  # the request's body is still to be read (and discarded)


@dataclass(slots=True)
class CollectorStats:
    requests: int = 0
    rejected: int = 0
    busy: int = 0
    spans: int = 0
    added: int = 0
    duplicates: int = 0


def is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def status_body(code: int, message: str, protobuf: bool) -> tuple[bytes, str]:
    """A `google.rpc.Status` in the request's encoding."""
    if not protobuf:
        return json.dumps({"code": code, "message": message}).encode(), JSON_TYPE
    text = message.encode()
    return b"\x08" + _varint(code) + b"\x12" + _varint(len(text)) + text, PROTOBUF_TYPE


def decode_body(body: bytes, content_type: str) -> list[SpanRecord]:
    """Every span of one request body, or `HttpError(400)` naming what is wrong."""
    try:
        if content_type == PROTOBUF_TYPE:
            document: Any = decode_export_request(body)
        else:
            document = jsonutil.loads(body)
        return list(records_from_document(document))
    except ProtobufError as error:
        raise HttpError(400, f"bad protobuf body: {error}") from None
    except (ValueError, RecursionError) as error:  # FieldError and JSONDecodeError among them
        kind = "bad span" if isinstance(error, FieldError) else "bad JSON body"
        raise HttpError(400, f"{kind}: {error}") from None


def gunzip(body: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as error:
        raise HttpError(400, f"bad gzip body: {error}") from None
    if len(out) > limit:
        raise HttpError(413, f"body is larger than {limit} bytes once decompressed")
    if not inflater.eof:
        raise HttpError(400, "bad gzip body: truncated")
    return out


class Collector:
    """Receives OTLP/HTTP trace exports and writes them through one `StoreWriter`."""

    def __init__(
        self,
        writer: StoreWriter,
        *,
        max_body: int = DEFAULT_MAX_BODY,
        log: Callable[[str], None] | None = None,
        max_parsing: int = MAX_PARSING,
        busy_wait: float = BUSY_WAIT,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.writer = writer
        self.max_body = max_body
        self.busy_wait = busy_wait
        self.max_connections = max_connections
        self._slots = asyncio.Semaphore(max_parsing)
        self._connections = 0
        self.stats = CollectorStats()
        self._log = log or (lambda _message: None)
        self._lock = asyncio.Lock()
        self._server: asyncio.Server | None = None
        self._linker: asyncio.Task[None] | None = None
        self._dirty = False

    async def start(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> tuple[str, int]:
        """Listen; returns the bound address (port 0 picks a free port)."""
        self._server = await asyncio.start_server(self._connection, host, port, limit=MAX_HEAD)
        self._linker = asyncio.create_task(self._link_loop())
        bound = self._server.sockets[0].getsockname()
        return str(bound[0]), int(bound[1])

    async def serve_forever(self) -> None:
        assert self._server is not None
        await self._server.serve_forever()

    async def close(self) -> None:
        if self._linker is not None:
            self._linker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._linker
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        async with self._lock:
            with contextlib.suppress(StoreError):
                await asyncio.to_thread(self.writer.link_pending)

    async def _link_loop(self) -> None:
        while True:
            await asyncio.sleep(LINK_EVERY)
            if not self._dirty:
                continue
            self._dirty = False
            async with self._lock:
                try:
                    await asyncio.to_thread(self.writer.link_pending)
                except StoreError as error:
                    self._log(f"could not link traces to cases yet: {error}")

    # -- HTTP -------------------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections += 1
        try:
            if self._connections > self.max_connections:
                self.stats.busy += 1
                body, content_type = status_body(UNAVAILABLE, "too many connections", False)
                await self._respond(writer, 503, body, content_type, False)
                return
            while await self._one_request(reader, writer):
                pass
        except (asyncio.IncompleteReadError, ConnectionError, TimeoutError):
            pass
        finally:
            self._connections -= 1
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def _one_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Serve one request; False when the connection should close."""
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IO_TIMEOUT)
        except asyncio.IncompleteReadError as error:
            if error.partial:
                await self._respond(writer, 400, b"incomplete request\n", "text/plain", False)
            return False
        except asyncio.LimitOverrunError:
            await self._respond(writer, 431, b"request head too large\n", "text/plain", False)
            return False
        method, path, version, headers = self._parse_head(head)
        keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        protobuf = headers.get("content-type", "").split(";")[0].strip() == PROTOBUF_TYPE
        extra: dict[str, str] = {}
        try:
            try:
                status, body, content_type = await self._serve(
                    method, path, headers, reader, writer
                )
            except (asyncio.IncompleteReadError, ConnectionError, TimeoutError):
                raise
            except HttpError:
                raise
            except asyncio.LimitOverrunError:
                message = "a chunk-size or trailer line is too long"
                raise HttpError(400, message, close=True) from None
            except Exception as error:  # never drop a request without an answer
                self._log(f"could not take a request: {type(error).__name__}: {error}")
                message = f"internal error: {type(error).__name__}"
                raise HttpError(500, message, close=True) from None
        except HttpError as error:
            self.stats.rejected += 1
            if error.status == 400:
                self._log(f"rejected a request: {error.message}")
            if error.status == 503:
                extra["Retry-After"] = str(RETRY_AFTER)
                if error.unread and not await self._discard(headers, reader):
                    error.close = True
            code = UNAVAILABLE if error.status == 503 else INVALID_ARGUMENT
            body, content_type = status_body(code, error.message, protobuf)
            status, keep = error.status, keep and not error.close
        await self._respond(writer, status, body, content_type, keep, extra)
        return keep

    async def _discard(self, headers: dict[str, str], reader: asyncio.StreamReader) -> bool:
        """Read and drop a body we will not take (so the client reads our answer); False
        when it cannot be done within the size and time limits (then the connection closes)."""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return False
        length_text = headers.get("content-length", "")
        if not (length_text.isascii() and length_text.isdigit()):
            return False
        if int(length_text) > self.max_body:
            return False
        left = int(length_text)
        try:
            async with asyncio.timeout(IO_TIMEOUT):
                while left:
                    piece = await reader.read(min(left, DISCARD_PIECE))
                    if not piece:
                        return False
                    left -= len(piece)
        except TimeoutError:
            return False
        return True

    @staticmethod
    def _parse_head(head: bytes) -> tuple[str, str, str, dict[str, str]]:
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3:
            return "", "", "", {}
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name:
                key = name.strip().lower()
                headers[key] = (
                    f"{headers[key]},{value.strip()}" if key in headers else value.strip()
                )
        return parts[0], parts[1].split("?", 1)[0], parts[2], headers

    async def _serve(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> tuple[int, bytes, str]:
        if not method:
            raise HttpError(400, "malformed request line", close=True)
        if path != "/v1/traces":
            raise HttpError(404, f"no endpoint {path}: send traces to POST /v1/traces", close=True)
        if method != "POST":
            raise HttpError(405, "use POST /v1/traces", close=True)
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in (JSON_TYPE, PROTOBUF_TYPE):
            raise HttpError(415, f"content type must be {JSON_TYPE} or {PROTOBUF_TYPE}", close=True)
        encoding = headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("identity", "gzip"):
            raise HttpError(
                415, f"content encoding {encoding!r} is not supported (use gzip)", close=True
            )
        try:
            await asyncio.wait_for(self._slots.acquire(), self.busy_wait)
        except TimeoutError:
            self.stats.busy += 1
            raise HttpError(503, "the receiver is busy, retry later", unread=True) from None
        try:
            body = await self._read_body(headers, reader, writer)
            if encoding == "gzip":
                body = await asyncio.to_thread(gunzip, body, self.max_body)
            records = await asyncio.to_thread(decode_body, body, content_type)
            del body
            await self._store(records)
        finally:
            self._slots.release()
        if content_type == PROTOBUF_TYPE:
            return 200, b"", PROTOBUF_TYPE
        return 200, b"{}", JSON_TYPE

    async def _read_body(
        self, headers: dict[str, str], reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bytes:
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        length_text = headers.get("content-length")
        if not chunked and length_text is None:
            raise HttpError(411, "a Content-Length header is required", close=True)
        length = 0
        if not chunked:
            digits = length_text or ""
            if not (digits.isascii() and digits.isdigit()):
                raise HttpError(400, "bad Content-Length", close=True)
            length = int(digits)
            if length > self.max_body:
                raise HttpError(413, f"body is larger than {self.max_body} bytes", close=True)
        if headers.get("expect", "").lower() == "100-continue":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        if not chunked:
            return await asyncio.wait_for(reader.readexactly(length), IO_TIMEOUT)
        return await asyncio.wait_for(self._read_chunked(reader), IO_TIMEOUT)

    async def _read_chunked(self, reader: asyncio.StreamReader) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            line = await reader.readuntil(b"\r\n")
            digits = line.split(b";", 1)[0].strip()
            if not _HEX_SIZE.fullmatch(digits):  # int(..., 16) takes "-1", "0x1f" and "1_0"
                raise HttpError(400, f"bad chunk size {digits[:20]!r}", close=True)
            size = int(digits, 16)
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                    pass
                return b"".join(parts)
            total += size
            if total > self.max_body:
                raise HttpError(413, f"body is larger than {self.max_body} bytes", close=True)
            parts.append(await reader.readexactly(size))
            if await reader.readexactly(2) != b"\r\n":
                raise HttpError(400, "bad chunk framing", close=True)

    async def _store(self, records: list[SpanRecord]) -> None:
        async with self._lock:
            try:
                counts = await asyncio.to_thread(self._write, records)
            except StoreError as error:
                raise HttpError(503, f"the store is busy, retry later: {error}") from None
        self.stats.requests += 1
        self.stats.spans += len(records)
        self.stats.added += counts[0]
        self.stats.duplicates += counts[1]
        self._dirty = True

    def _write(self, records: list[SpanRecord]) -> tuple[int, int]:
        with self.writer.transaction() as batch:
            for record in records:
                batch.add_span(record, "otlp")
            return batch.counts.spans, batch.counts.duplicates

    async def _respond(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        body: bytes,
        content_type: str,
        keep: bool,
        extra: dict[str, str] | None = None,
    ) -> None:
        more = "".join(f"{name}: {value}\r\n" for name, value in (extra or {}).items())
        head = (
            f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\n{more}"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            f"Connection: {'keep-alive' if keep else 'close'}\r\n"
            f"Date: {time.strftime('%a, %d %b %Y %H:%M:%S GMT', time.gmtime())}\r\n\r\n"
        )
        writer.write(head.encode("latin-1") + body)
        await writer.drain()
