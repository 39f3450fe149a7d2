"""A rubric judge on any OpenAI-compatible `/chat/completions` (vLLM, Ollama, llama.cpp,
gateways), through plain httpx.

`response_format` falls back from `json_schema` to `json_object` to none when a server
rejects it (in `auto` mode): remembered for later calls when the error names the format, for
that call only otherwise (one unrelated 400 never turns structured output off for the job).
The verdict is read tolerantly.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, ClassVar

import httpx

from evaltui.backends.base import JudgeInput, Usage, Verdict
from evaltui.backends.context import BuildContext, env_names
from evaltui.backends.errors import (
    AccessDenied,
    TransientError,
    is_access_denied_status,
    is_retryable_status,
    parse_retry_after,
)
from evaltui.backends.judges.options import OpenAICompatOptions
from evaltui.backends.judges.prompting import (
    MalformedVerdict,
    parse_verdict,
    render_user,
    rubric_hash,
    system_prompt,
    verdict_schema,
)
from evaltui.backends.pricing import NO_PRICES, PriceTable

MODES = ("json_schema", "json_object", "none")
FALLBACK_STATUSES = frozenset({400, 404, 415, 422, 501})
FORMAT_WORDS = (
    "response_format",
    "response format",
    "json_schema",
    "json schema",
    "json_object",
    "structured output",
    "guided",
    "grammar",
)
"""An error that names one of these rejects the structured output itself."""


def about_format(error_text: str) -> bool:
    """Whether an error answer is about `response_format` (not, say, a too-long prompt)."""
    text = error_text.lower()
    return any(word in text for word in FORMAT_WORDS)


def _content_text(message: Any) -> str:
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part.get("text", "") for part in content if isinstance(part, dict) and part.get("text")
        )
    return ""


def _usage(body: dict[str, Any]) -> Usage:
    usage = body.get("usage")
    if not isinstance(usage, dict):
        return Usage()

    def count(key: str) -> int:
        value = usage.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    return Usage(input_tokens=count("prompt_tokens"), output_tokens=count("completion_tokens"))


class OpenAICompatJudge:
    """Asks an OpenAI-compatible chat model for a JSON `{reason, score}` verdict."""

    Options: ClassVar[type[OpenAICompatOptions]] = OpenAICompatOptions

    def __init__(
        self,
        name: str,
        options: OpenAICompatOptions,
        *,
        headers: dict[str, str] | None = None,
        prices: PriceTable = NO_PRICES,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.name = name
        self.options = options
        self.prices = prices
        self._headers = headers or {}
        self._client = client
        self._mode_index = (
            0 if options.response_format == "auto" else MODES.index(options.response_format)
        )

    @classmethod
    def from_options(cls, name: str, options: Any, context: BuildContext) -> OpenAICompatJudge:
        assert isinstance(options, OpenAICompatOptions)
        headers = {
            key: context.resolve(value, what=f"{name}: header {key}")
            for key, value in options.headers.items()
        }
        if options.api_key:
            headers["Authorization"] = "Bearer " + context.resolve(options.api_key, what=name)
        return cls(name, options, headers=headers, prices=context.prices)

    @property
    def backend_key(self) -> str:
        return f"openai:{self.options.base_url}:{self.options.model}"

    @property
    def mode(self) -> str:
        """The response_format currently in use."""
        return MODES[self._mode_index]

    def _new_client(self) -> httpx.AsyncClient:
        limit = self.options.max_connections
        return httpx.AsyncClient(
            timeout=self.options.request_timeout_s,
            limits=httpx.Limits(max_connections=limit, max_keepalive_connections=limit),
        )

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = self._new_client()
        return self._client

    async def prepare(self) -> None:
        """Build the client (TLS context, certificates) in a thread, before any call's clock."""
        if self._client is None:
            client = await asyncio.to_thread(self._new_client)
            if self._client is None:
                self._client = client

    def describe(self) -> dict[str, Any]:
        options = self.options
        return {
            "base_url": options.base_url,
            "model": options.model,
            "rubric": options.rubric,
            "rubric_sha256": rubric_hash(options),
            "system": options.system,
            "max_tokens": options.max_tokens,
            "temperature": options.temperature,
            "score_range": list(options.score_range),
            "response_format": options.response_format,
            "header_names": sorted(options.headers),
            "header_env": sorted({n for v in options.headers.values() for n in env_names(v)}),
            "extra_body": options.extra_body,
        }

    def body(self, case: JudgeInput, mode: str) -> dict[str, Any]:
        options = self.options
        body: dict[str, Any] = {
            "model": options.model,
            "max_tokens": options.max_tokens,
            "messages": [
                {"role": "system", "content": system_prompt(options)},
                {"role": "user", "content": render_user(case, options)},
            ],
        }
        if options.temperature is not None:
            body["temperature"] = options.temperature
        if mode == "json_schema":
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": "verdict",
                    "schema": verdict_schema(options),
                    "strict": True,
                },
            }
        elif mode == "json_object":
            body["response_format"] = {"type": "json_object"}
        return body | options.extra_body

    async def _post(self, body: dict[str, Any]) -> httpx.Response:
        url = self.options.base_url.rstrip("/") + "/chat/completions"
        try:
            return await self.client.post(url, json=body, headers=self._headers)
        except httpx.TransportError as error:
            raise TransientError(f"{type(error).__name__}: {error}") from error

    async def evaluate(self, case: JudgeInput) -> Verdict:
        start = time.perf_counter()
        mode_index = self._mode_index
        unexplained: str | None = None
        while True:
            response = await self._post(self.body(case, MODES[mode_index]))
            status = response.status_code
            if status < 300:
                break
            if is_access_denied_status(status):
                raise AccessDenied(f"HTTP {status}: {response.text[:300]}", status=status)
            if is_retryable_status(status, response.headers):
                raise TransientError(
                    f"HTTP {status}: {response.text[:300]}",
                    status=status,
                    retry_after=parse_retry_after(response.headers),
                )
            message = f"HTTP {status}: {response.text[:300]}"
            can_fall_back = self.options.response_format == "auto" and mode_index + 1 < len(MODES)
            if can_fall_back and status in FALLBACK_STATUSES:
                if about_format(response.text):  # the server said so: for the rest of the job
                    self._mode_index = max(self._mode_index, mode_index + 1)
                else:  # some other complaint: a simpler format for this call only
                    unexplained = unexplained or message
                mode_index += 1
                continue
            return Verdict.failed(
                self.name,
                unexplained or message,
                model=self.options.model,
                latency_s=time.perf_counter() - start,
            )
        return self._verdict(response, time.perf_counter() - start)

    def _verdict(self, response: httpx.Response, latency_s: float) -> Verdict:
        try:
            body = response.json()
        except ValueError:
            return Verdict.failed(
                self.name, f"response is not JSON: {response.text[:200]!r}", latency_s=latency_s
            )
        body = body if isinstance(body, dict) else {}
        usage = _usage(body)
        model = body.get("model") if isinstance(body.get("model"), str) else self.options.model
        choices = body.get("choices")
        message = choices[0].get("message") if isinstance(choices, list) and choices else None
        text = _content_text(message)
        common: dict[str, Any] = {
            "judge": self.name,
            "model": model,
            "usage": usage,
            "cost_usd": self.prices.cost(model, usage, alias=self.options.model),
            "latency_s": latency_s,
            "raw": text,
        }
        try:
            parsed = parse_verdict(text, self.options.score_range)
        except MalformedVerdict as error:
            return Verdict(error=f"malformed verdict: {error}", **common)
        return Verdict(score=parsed.score, reason=parsed.reason, **common)

    async def aclose(self) -> None:
        """Close the client (a later call makes a new one)."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
