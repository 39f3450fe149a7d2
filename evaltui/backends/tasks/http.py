"""Re-run through an HTTP endpoint, as the package's web runner does in HTTP mode.

The dataset item is POSTed as JSON, without its `expected` answer (the system under test
never sees it); the endpoint answers `{"output": string}` (optionally with
`usage: {inputTokens, outputTokens}`). Errors read as the web runner's.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, ClassVar

import httpx

from evaltui.backends.base import JudgeInput
from evaltui.backends.context import BuildContext, env_names
from evaltui.backends.errors import (
    AccessDenied,
    TransientError,
    is_access_denied_status,
    is_retryable_status,
    parse_retry_after,
)
from evaltui.backends.tasks.base import TaskResult, js_stringify
from evaltui.backends.tasks.command import engine_usage
from evaltui.backends.tasks.options import HttpTaskOptions

NO_OUTPUT = 'The HTTP endpoint did not return a string "output"'


def request_item(item: Any) -> Any:
    """The dataset item as the system under test may see it: without its `expected` answer."""
    if isinstance(item, dict) and "expected" in item:
        return {key: value for key, value in item.items() if key != "expected"}
    return item


class HttpTask:
    """POSTs each case's dataset item (minus `expected`) to `url` and reads `output` from the
    JSON answer."""

    Options: ClassVar[type[HttpTaskOptions]] = HttpTaskOptions

    def __init__(
        self,
        name: str,
        options: HttpTaskOptions,
        *,
        headers: dict[str, str] | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.name = name
        self.options = options
        self._headers = {"Content-Type": "application/json", **(headers or {})}
        self._client = client

    @classmethod
    def from_options(cls, name: str, options: Any, context: BuildContext) -> HttpTask:
        assert isinstance(options, HttpTaskOptions)
        headers = {
            key: context.resolve(value, what=f"{name}: header {key}")
            for key, value in options.headers.items()
        }
        return cls(name, options, headers=headers)

    @property
    def backend_key(self) -> str:
        return f"http:{self.options.url}"

    def _new_client(self) -> httpx.AsyncClient:
        limit = self.options.max_connections
        return httpx.AsyncClient(
            timeout=self.options.timeout_s,
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
        headers = self.options.headers
        return {
            "url": self.options.url,
            "timeout_s": self.options.timeout_s,
            "header_names": sorted(headers),
            "header_env": sorted({n for v in headers.values() for n in env_names(v)}),
        }

    async def generate(self, case: JudgeInput) -> TaskResult:
        start = time.perf_counter()
        content = js_stringify(request_item(case.input)).encode()
        try:
            response = await self.client.post(
                self.options.url, content=content, headers=self._headers
            )
        except httpx.TransportError as error:
            raise TransientError(f"{type(error).__name__}: {error}") from error
        latency = round((time.perf_counter() - start) * 1000)
        status = response.status_code
        if status >= 300:
            message = f"HTTP {status}: {response.text}"
            if is_access_denied_status(status):
                raise AccessDenied(f"HTTP {status}: {response.text[:300]}", status=status)
            if is_retryable_status(status, response.headers):
                raise TransientError(
                    message, status=status, retry_after=parse_retry_after(response.headers)
                )
            return TaskResult.failed(self.name, message, latency_ms=latency)
        try:
            body = response.json()
        except ValueError:
            body = None
        output = body.get("output") if isinstance(body, dict) else None
        if not isinstance(output, str):
            return TaskResult.failed(self.name, NO_OUTPUT, latency_ms=latency)
        assert isinstance(body, dict)
        return TaskResult(
            task=self.name,
            output=output,
            usage=engine_usage(body.get("usage")),
            latency_ms=latency,
        )

    async def aclose(self) -> None:
        """Close the client (a later call makes a new one)."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
