"""A fake OpenAI-compatible `/v1/chat/completions` judge server.

Grades like the Anthropic fake. `reject` lists response_format types it answers 400 to (like
llama.cpp with json_schema); `style` shapes the content (`json`, `fenced`, `prose`, `garbage`);
`rate_429` answers that share of requests 429 at random. Run as a script for benchmarks:

    python -m tests.fakes.openai --delay 0.1 --rate-429 0.1   # prints the port, serves forever
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.anthropic import Fault, grade
from tests.fakes.http import FakeServer, Request, Response


def too_many(retry_after_ms: str = "100") -> Response:
    body = {"error": {"message": "slow down", "type": "rate_limit"}}
    return Response.json(body, 429, {"retry-after-ms": retry_after_ms})


@dataclass
class FakeOpenAI:
    delay_s: float = 0.0
    style: str = "json"
    reject: set[str] = field(default_factory=set)
    rate_429: float = 0.0
    seed: int = 0
    faults: list[Fault] = field(default_factory=list)
    formats_seen: list[str] = field(default_factory=list)
    answered: int = 0
    throttled: int = 0

    def __post_init__(self) -> None:
        self.server = FakeServer(self.handle)
        self._random = random.Random(self.seed)

    @property
    def url(self) -> str:
        return self.server.url

    def __enter__(self) -> FakeOpenAI:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    async def handle(self, request: Request) -> Response:
        if request.method != "POST" or request.path != "/v1/chat/completions":
            return Response.json({"error": {"message": "not found"}}, 404)
        body = request.json()
        kind = (body.get("response_format") or {}).get("type", "none")
        self.formats_seen.append(kind)
        if kind in self.reject:
            return Response.json({"error": {"message": f"{kind} is not supported"}}, 400)
        if self.faults:
            fault = self.faults.pop(0)
            return fault if isinstance(fault, Response) else fault(body)
        if self.rate_429 and self._random.random() < self.rate_429:
            self.throttled += 1
            return too_many()
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        self.answered += 1
        return Response.json(self.completion(body))

    def completion(self, body: dict[str, Any]) -> dict[str, Any]:
        verdict = grade(body)
        content = {
            "json": json.dumps(verdict),
            "fenced": f"Here is my verdict:\n```json\n{json.dumps(verdict)}\n```\nThanks.",
            "prose": f"I think it deserves {verdict['score']}.",
            "garbage": "no idea",
        }[self.style]
        return {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1700000000,
            "model": body.get("model", "fake"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 125, "completion_tokens": 20, "total_tokens": 145},
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--delay", type=float, default=0.1)
    parser.add_argument("--rate-429", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with FakeOpenAI(delay_s=args.delay, rate_429=args.rate_429, seed=args.seed) as fake:
        print(fake.server.port, flush=True)
        while sys.stdin.readline():
            pass  # serve until stdin closes


if __name__ == "__main__":
    main()
