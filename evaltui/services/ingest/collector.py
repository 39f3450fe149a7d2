"""`evaltui collect`: an OTLP/HTTP trace receiver that writes into the store as spans arrive.

An aiohttp server (its HTTP parser: request line, headers, chunked framing; its limits: body
size, keep-alive): `POST /v1/traces` with an `application/json` or `application/x-protobuf`
body, optionally gzip-compressed, as every OpenTelemetry OTLP/HTTP exporter sends. Each request
is converted whole, then written in one transaction, so a bad or failed request leaves nothing
behind. Answers follow the OTLP spec: 200 with an empty `ExportTraceServiceResponse`, 400 with
a `google.rpc.Status` for a bad body, 413 past the size limit, 415 for another content type or
encoding, and 503 with Retry-After (which exporters retry) while the receiver is busy or
another process holds the store's write lock. Every request gets an answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evaltui.core import jsonutil
from evaltui.store.errors import StoreError
from evaltui.store.writer import StoreWriter
from evaltui.traces.models import SpanRecord
from evaltui.traces.otlp import FieldError, records_from_document

if TYPE_CHECKING:  # aiohttp and protobuf load when `collect` runs, not with every command
    from aiohttp import web

DEFAULT_PORT = 4318
DEFAULT_HOST = "127.0.0.1"
DEFAULT_MAX_BODY = 16 << 20  # bytes, after decompression
IO_TIMEOUT = 30.0
# Memory: a request holds its body (<= max_body), its inflated body (<= max_body) and the
# decoded spans (about 10x the JSON) only while it has one of MAX_PARSING slots; others wait
# up to BUSY_WAIT seconds for one with their body still unread (in the kernel's buffers), then
# get 503 with Retry-After (aiohttp reads and drops their body, so the client sees the answer).
MAX_PARSING = 2
BUSY_WAIT = 10.0
RETRY_AFTER = 2  # seconds, in the 503's Retry-After header
MAX_WAITING = 256  # requests waiting for a slot; past that a new one gets 503 at once
KEEPALIVE = IO_TIMEOUT  # aiohttp closes a connection idle or mid-head this long
LINK_EVERY = 5.0  # seconds between two passes that link traces to cases written since
JSON_TYPE = "application/json"
PROTOBUF_TYPE = "application/x-protobuf"
INVALID_ARGUMENT, UNAVAILABLE = 3, 14
# aiohttp logs a traceback for each malformed request it answers 400; the client has its answer
_HTTP_LOG = logging.getLogger("evaltui.collector.http")
_HTTP_LOG.addHandler(logging.NullHandler())
_HTTP_LOG.propagate = False


class HttpError(Exception):
    def __init__(self, status: int, message: str, *, close: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.close = close


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
    from evaltui.traces.otlp_proto import ProtobufError, decode_export_request

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
        max_waiting: int = MAX_WAITING,
    ) -> None:
        self.writer = writer
        self.max_body = max_body
        self.busy_wait = busy_wait
        self.max_waiting = max_waiting
        self.stats = CollectorStats()
        self._log = log or (lambda _message: None)
        self._lock = asyncio.Lock()
        self._slots = asyncio.Semaphore(max_parsing)
        self._waiting = 0
        self._runner: web.AppRunner | None = None
        self._linker: asyncio.Task[None] | None = None
        self._dirty = False

    async def start(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> tuple[str, int]:
        """Listen; returns the bound address (port 0 picks a free port)."""
        from aiohttp import web

        app = web.Application(client_max_size=self.max_body)
        app.router.add_route("*", "/{path:.*}", self._handle)
        self._runner = web.AppRunner(
            app,
            handle_signals=False,
            access_log=None,
            logger=_HTTP_LOG,
            auto_decompress=False,  # gunzip below, with the size limit applied while inflating
            keepalive_timeout=KEEPALIVE,
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self._linker = asyncio.create_task(self._link_loop())
        bound = self._runner.addresses[0]  # the port picked when port is 0
        return str(bound[0]), int(bound[1])

    async def serve_forever(self) -> None:
        await asyncio.Event().wait()

    async def close(self) -> None:
        if self._linker is not None:
            self._linker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._linker
        if self._runner is not None:
            await self._runner.cleanup()
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

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        from aiohttp import web

        protobuf = request.content_type == PROTOBUF_TYPE
        try:
            try:
                return await self._serve(request)
            except HttpError:
                raise
            except Exception as error:  # never drop a request without an answer
                self._log(f"could not take a request: {type(error).__name__}: {error}")
                message = f"internal error: {type(error).__name__}"
                raise HttpError(500, message, close=True) from None
        except HttpError as error:
            self.stats.rejected += 1
            if error.status == 400:
                self._log(f"rejected a request: {error.message}")
            headers = {"Retry-After": str(RETRY_AFTER)} if error.status == 503 else {}
            if error.close:
                headers["Connection"] = "close"
            code = UNAVAILABLE if error.status == 503 else INVALID_ARGUMENT
            body, content_type = status_body(code, error.message, protobuf)
            response = web.Response(
                status=error.status, body=body, content_type=content_type, headers=headers
            )
            if error.close:
                response.force_close()
            return response

    async def _serve(self, request: web.Request) -> web.Response:
        from aiohttp import web

        if request.path != "/v1/traces":
            raise HttpError(
                404, f"no endpoint {request.path}: send traces to POST /v1/traces", close=True
            )
        if request.method != "POST":
            raise HttpError(405, "use POST /v1/traces", close=True)
        content_type = request.content_type.lower()
        if content_type not in (JSON_TYPE, PROTOBUF_TYPE):
            raise HttpError(415, f"content type must be {JSON_TYPE} or {PROTOBUF_TYPE}", close=True)
        encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("identity", "gzip"):
            raise HttpError(
                415, f"content encoding {encoding!r} is not supported (use gzip)", close=True
            )
        length = request.content_length
        if length is None and "chunked" not in request.headers.get("Transfer-Encoding", ""):
            raise HttpError(411, "a Content-Length header is required", close=True)
        if length is not None and length > self.max_body:
            raise HttpError(413, f"body is larger than {self.max_body} bytes", close=True)
        if self._waiting >= self.max_waiting:
            self.stats.busy += 1
            raise HttpError(503, "the receiver is busy, retry later", close=True)
        self._waiting += 1
        try:
            await asyncio.wait_for(self._slots.acquire(), self.busy_wait)
        except TimeoutError:
            self.stats.busy += 1
            raise HttpError(503, "the receiver is busy, retry later") from None
        finally:
            self._waiting -= 1
        try:
            body = await self._read_body(request)
            if encoding == "gzip":
                body = await asyncio.to_thread(gunzip, body, self.max_body)
            records = await asyncio.to_thread(decode_body, body, content_type)
            del body
            await self._store(records)
        finally:
            self._slots.release()
        if content_type == PROTOBUF_TYPE:
            return web.Response(body=b"", content_type=PROTOBUF_TYPE)
        return web.Response(body=b"{}", content_type=JSON_TYPE)

    async def _read_body(self, request: web.Request) -> bytes:
        from aiohttp import web

        try:
            async with asyncio.timeout(IO_TIMEOUT):
                return await request.read()
        except web.HTTPRequestEntityTooLarge:
            message = f"body is larger than {self.max_body} bytes"
            raise HttpError(413, message, close=True) from None
        except TimeoutError:
            raise HttpError(400, "the body did not arrive in time", close=True) from None
        except (ConnectionError, asyncio.CancelledError):
            raise
        except Exception as error:  # aiohttp's payload errors: bad chunk framing, cut body
            raise HttpError(400, f"bad request body: {error}", close=True) from None

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
        unstorable = sum(record.unstorable for record in records)
        if unstorable:
            self._log(
                f"{unstorable} integers beyond SQLite's range (token counts, case indexes) "
                "stored empty; the spans' attributes keep the exact numbers"
            )

    def _write(self, records: list[SpanRecord]) -> tuple[int, int]:
        with self.writer.transaction() as batch:
            for record in records:
                batch.add_span(record, "otlp")
            return batch.counts.spans, batch.counts.duplicates
