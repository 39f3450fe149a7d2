"""A fake Anthropic Messages API (+ Message Batches) for the real `anthropic` SDK.

Grades by a simple rule (the output contains the expected text -> 1.0, else 0.2) through a
`submit_verdict` tool call; answers task prompts with text. `faults` are answered first, in
order, to `POST /v1/messages`: a `Response` (e.g. `error(429, retry_after="0")`), `HANG`,
`DROP`, or a callable of the request body.

Batches: `status_faults` are answered first, in order, to the status of a batch (`GET
/v1/messages/batches/<id>`); `create_faults` to a batch create *after* the batch was made
(e.g. `HANG`: committed, then the client times out); `GET /v1/messages/batches` lists them,
newest first. Batch times come from `clock` (a test's fake clock, else the real one).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.fakes.http import FakeServer, Request, Response

Fault = Response | Callable[[dict[str, Any]], Response]
STAMP = "2026-01-01T00:00:00Z"
USAGE = {
    "input_tokens": 100,
    "output_tokens": 20,
    "cache_creation_input_tokens": 0,
    "cache_read_input_tokens": 0,
}
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    408: "timeout_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def error(
    status: int, *, retry_after: str | None = None, retry_after_ms: str | None = None
) -> Response:
    headers = {}
    if retry_after is not None:
        headers["retry-after"] = retry_after
    if retry_after_ms is not None:
        headers["retry-after-ms"] = retry_after_ms
    kind = ERROR_TYPES.get(status, "api_error")
    body = {
        "type": "error",
        "error": {"type": kind, "message": f"fake {kind}"},
        "request_id": "req_1",
    }
    return Response.json(body, status, headers)


def user_text(body: dict[str, Any]) -> str:
    content = body["messages"][-1]["content"]
    return content if isinstance(content, str) else "".join(b.get("text", "") for b in content)


def grade(body: dict[str, Any]) -> dict[str, Any]:
    text = user_text(body)
    expected = re.search(r"^\[Expected(?: [0-9a-f]+)?\]: (.*)$", text, re.MULTILINE)
    output = re.search(r"^\[Output(?: [0-9a-f]+)?\]: (.*)$", text, re.MULTILINE)
    hit = bool(expected and output and expected.group(1).lower() in output.group(1).lower())
    return {
        "reason": "matches the expected answer" if hit else "misses it",
        "score": 1.0 if hit else 0.2,
    }


def message(body: dict[str, Any], content: list[dict[str, Any]], stop: str) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": body.get("model", "fake"),
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": USAGE,
    }


def reply(body: dict[str, Any], verdict: dict[str, Any] | None = None) -> dict[str, Any]:
    """A verdict tool call when tools were offered, else a text answer."""
    if body.get("tools"):
        block = {
            "type": "tool_use",
            "id": "toolu_1",
            "name": "submit_verdict",
            "input": verdict or grade(body),
        }
        return message(body, [block], "tool_use")
    return message(body, [{"type": "text", "text": f"answer: {user_text(body)}"}], "end_turn")


def malformed(body: dict[str, Any]) -> Response:
    return Response.json(reply(body, {"scor": "high"}))


@dataclass
class Batch:
    id: str
    results: list[dict[str, Any]]
    polls: int = 0
    created_at: float = 0.0


def stamp(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class FakeAnthropic:
    """The fake; use as a context manager, then point `AsyncAnthropic(base_url=fake.url)` at it."""

    delay_s: float = 0.0
    polls_until_end: int = 2
    faults: list[Fault] = field(default_factory=list)
    batch_errors: set[str] = field(default_factory=set)
    """Custom ids (with or without the runner's 8-character tag) whose request errors."""
    batch_malformed: set[str] = field(default_factory=set)
    """Custom ids whose request succeeds (and is billed) with a malformed verdict."""
    batches: dict[str, Batch] = field(default_factory=dict)
    status_faults: list[Response] = field(default_factory=list)
    create_faults: list[Response] = field(default_factory=list)
    clock: Callable[[], float] = time.time
    message_calls: int = 0
    status_calls: int = 0
    list_calls: int = 0
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        self.server = FakeServer(self.handle)

    @property
    def url(self) -> str:
        return self.server.url

    def __enter__(self) -> FakeAnthropic:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    async def handle(self, request: Request) -> Response:
        if request.method == "POST" and request.path == "/v1/messages":
            return await self.messages(request.json())
        if request.method == "POST" and request.path == "/v1/messages/batches":
            made = self.create_batch(request.json())
            return self.create_faults.pop(0) if self.create_faults else made
        if request.method == "GET" and request.path == "/v1/messages/batches":
            return self.list_batches()
        match = re.fullmatch(r"/v1/messages/batches/([^/]+)(/results)?", request.path)
        if request.method == "GET" and match:
            batch = self.batches.get(match.group(1))
            if batch is None:
                return error(404)
            if match.group(2):
                lines = "\n".join(json.dumps(line) for line in batch.results)
                return Response(200, lines.encode(), {"content-type": "application/binary"})
            self.status_calls += 1
            if self.status_faults:
                return self.status_faults.pop(0)
            batch.polls += 1
            return Response.json(self.batch_object(batch))
        return error(404)

    async def messages(self, body: dict[str, Any]) -> Response:
        self.message_calls += 1
        if self.faults:
            fault = self.faults.pop(0)
            return fault if isinstance(fault, Response) else fault(body)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        return Response.json(reply(body))

    def create_batch(self, body: dict[str, Any]) -> Response:
        batch_id = f"msgbatch_{next(self._ids)}"
        results = []
        for request in body["requests"]:
            custom_id = request["custom_id"]
            if any(custom_id in (e, f"{custom_id[:8]}-{e}") for e in self.batch_errors):
                inner = {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}
                result: dict[str, Any] = {"type": "errored", "error": inner}
            elif any(custom_id in (e, f"{custom_id[:8]}-{e}") for e in self.batch_malformed):
                malformed_reply = reply(request["params"], {"scor": "high"})
                result = {"type": "succeeded", "message": malformed_reply}
            else:
                result = {"type": "succeeded", "message": reply(request["params"])}
            results.append({"custom_id": custom_id, "result": result})
        batch = Batch(batch_id, list(reversed(results)), created_at=self.clock())
        self.batches[batch_id] = batch
        return Response.json(self.batch_object(batch))

    def list_batches(self) -> Response:
        self.list_calls += 1
        newest = sorted(self.batches.values(), key=lambda b: (b.created_at, b.id), reverse=True)
        data = [self.batch_object(batch) for batch in newest]
        return Response.json(
            {
                "data": data,
                "has_more": False,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
            }
        )

    def batch_object(self, batch: Batch) -> dict[str, Any]:
        ended = batch.polls >= self.polls_until_end
        errored = sum(r["result"]["type"] == "errored" for r in batch.results)
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": {
                "processing": 0 if ended else len(batch.results),
                "succeeded": len(batch.results) - errored if ended else 0,
                "errored": errored if ended else 0,
                "canceled": 0,
                "expired": 0,
            },
            "created_at": stamp(batch.created_at),
            "expires_at": stamp(batch.created_at + 86_400),
            "ended_at": STAMP if ended else None,
            "archived_at": None,
            "cancel_initiated_at": None,
            "results_url": f"{self.url}/v1/messages/batches/{batch.id}/results" if ended else None,
        }


def main() -> None:
    """Serve until stdin closes (for benchmarks): `python -m tests.fakes.anthropic --delay 0.1`."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--delay", type=float, default=0.1)
    args = parser.parse_args()
    with FakeAnthropic(delay_s=args.delay) as fake:
        print(fake.server.port, flush=True)
        while sys.stdin.readline():
            pass


if __name__ == "__main__":
    main()
