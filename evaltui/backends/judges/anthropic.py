"""A rubric judge on Anthropic's Messages API: verdict by forced tool use, usage and cost.

The `anthropic` SDK (about 1.5 s to import) is imported only when a client is first needed:
by `prepare()`, in a thread, before a job's clock starts (never on the event loop mid-call).
Bulk jobs can go through the Message Batches API (half price): `submit_batch`,
`batch_status` and `batch_results`, resumable from the batch id alone.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from evaltui.backends.base import JudgeError, JudgeInput, Usage, Verdict
from evaltui.backends.context import BuildContext
from evaltui.backends.errors import (
    AccessDenied,
    TransientError,
    is_access_denied_status,
    is_retryable_status,
    parse_retry_after,
)
from evaltui.backends.judges.batching import BatchInfo
from evaltui.backends.judges.options import AnthropicJudgeOptions
from evaltui.backends.judges.prompting import (
    VERDICT_TOOL,
    MalformedVerdict,
    parse_verdict,
    render_user,
    rubric_hash,
    system_prompt,
    verdict_schema,
)
from evaltui.backends.pricing import NO_PRICES, PriceTable

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic
    from anthropic.types import Message
    from anthropic.types.messages import MessageBatch

DEFAULT_BASE_URL = "https://api.anthropic.com"
_CUSTOM_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def make_client(
    *, base_url: str | None, api_key: str | None, timeout_s: float, max_retries: int
) -> AsyncAnthropic:
    """An `AsyncAnthropic` (the SDK is imported here, on first use)."""
    from anthropic import AsyncAnthropic

    return AsyncAnthropic(
        base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=max_retries
    )


def sdk_failure(error: BaseException) -> str:
    """Describe a permanent SDK failure, or raise `TransientError` for a retryable one and
    `AccessDenied` for 401/403 (the job stops).

    Errors that are not the SDK's are re-raised unchanged.
    """
    import anthropic

    if isinstance(error, anthropic.APIStatusError):
        headers = error.response.headers
        kind = getattr(error, "type", None)
        detail = getattr(error, "api_message", None) or error.message
        message = (
            f"HTTP {error.status_code} {kind}: {detail}"
            if kind
            else f"HTTP {error.status_code}: {detail}"
        )
        if is_access_denied_status(error.status_code):
            raise AccessDenied(message, status=error.status_code) from error
        if is_retryable_status(error.status_code, headers):
            raise TransientError(
                message, status=error.status_code, retry_after=parse_retry_after(headers)
            ) from error
        return message
    if isinstance(error, anthropic.APIResponseValidationError):
        return f"invalid response: {error}"
    if isinstance(error, anthropic.APIConnectionError):
        raise TransientError(f"{type(error).__name__}: {error}") from error
    if isinstance(error, TypeError) and "authentication method" in str(error):
        raise AccessDenied(  # the SDK found no key: every call would fail the same way
            'no Anthropic API key: set ANTHROPIC_API_KEY, or api_key = "${VAR}" in the profile'
        ) from error
    raise error


def usage_of(message: Message) -> Usage:
    """The message's usage (a lenient fake or proxy may send none)."""
    usage = getattr(message, "usage", None)
    if usage is None:
        return Usage()
    return Usage(
        input_tokens=usage.input_tokens or 0,
        output_tokens=usage.output_tokens or 0,
        cache_read_input_tokens=usage.cache_read_input_tokens or 0,
        cache_creation_input_tokens=usage.cache_creation_input_tokens or 0,
    )


def message_text(message: Message) -> str:
    return "".join(block.text for block in message.content if block.type == "text")


def custom_id_for(case_id: str, tag: str = "") -> str:
    """A batch `custom_id` for a case: the id itself when allowed, else a stable hash; with a
    `tag` (one per submitted batch) prefixed, so a batch's results name that batch's intent."""
    prefix = f"{tag}-" if tag else ""
    if _CUSTOM_ID.match(prefix + case_id):
        return prefix + case_id
    return prefix + "h" + hashlib.sha256(case_id.encode()).hexdigest()[:40]


def epoch_s(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def info_of(batch: MessageBatch) -> BatchInfo:
    counts = batch.request_counts
    ended = counts.succeeded + counts.errored + counts.canceled + counts.expired
    return BatchInfo(
        id=batch.id,
        status=batch.processing_status,
        requests=ended + counts.processing,
        ended=ended,
        created_at=epoch_s(batch.created_at) or 0.0,
        expires_at=epoch_s(batch.expires_at),
    )


class AnthropicBackend:
    """The lazily created SDK client and the backend key, shared by the Anthropic judge and
    the Anthropic task (so both count against one concurrency limit per endpoint and model)."""

    options: Any
    _client: AsyncAnthropic | None
    _api_key: str | None

    @property
    def backend_key(self) -> str:
        return f"anthropic:{self.options.base_url or DEFAULT_BASE_URL}:{self.options.model}"

    def _new_client(self) -> AsyncAnthropic:
        return make_client(
            base_url=self.options.base_url,
            api_key=self._api_key,
            timeout_s=self.options.request_timeout_s,
            max_retries=self.options.sdk_max_retries,
        )

    @property
    def client(self) -> AsyncAnthropic:
        if self._client is None:
            self._client = self._new_client()
        return self._client

    async def prepare(self) -> None:
        """Import the SDK and build the client in a thread (it blocks for seconds the first
        time), so that no call's timeout or latency pays for it and the loop stays free."""
        if self._client is None:
            client = await asyncio.to_thread(self._new_client)
            if self._client is None:
                self._client = client


class AnthropicJudge(AnthropicBackend):
    """Asks a Claude model to grade one output against a rubric through `submit_verdict`."""

    Options: ClassVar[type[AnthropicJudgeOptions]] = AnthropicJudgeOptions

    def __init__(
        self,
        name: str = "anthropic",
        options: AnthropicJudgeOptions | None = None,
        *,
        api_key: str | None = None,
        prices: PriceTable = NO_PRICES,
        client: AsyncAnthropic | None = None,
    ) -> None:
        self.name = name
        self.options = options or AnthropicJudgeOptions()
        self.prices = prices
        self._api_key = api_key
        self._client = client
        self.batch_min_cases = self.options.batch_min_cases

    @classmethod
    def from_options(cls, name: str, options: Any, context: BuildContext) -> AnthropicJudge:
        assert isinstance(options, AnthropicJudgeOptions)
        key = context.resolve(options.api_key, what=name) if options.api_key else None
        if key is None:
            context.note_secret("ANTHROPIC_API_KEY")  # the SDK reads it itself
        return cls(name, options, api_key=key, prices=context.prices)

    def describe(self) -> dict[str, Any]:
        options = self.options
        return {
            "model": options.model,
            "base_url": options.base_url,
            "rubric": options.rubric,
            "rubric_sha256": rubric_hash(options),
            "system": options.system,
            "max_tokens": options.max_tokens,
            "score_range": list(options.score_range),
            "verdict": f"tool:{VERDICT_TOOL}",
        }

    def request(self, case: JudgeInput) -> dict[str, Any]:
        """The `messages.create` parameters for one case."""
        options = self.options
        return {
            "model": options.model,
            "max_tokens": options.max_tokens,
            "system": system_prompt(options),
            "messages": [{"role": "user", "content": render_user(case, options)}],
            "tools": [
                {
                    "name": VERDICT_TOOL,
                    "description": "Submit the grade for the output.",
                    "input_schema": verdict_schema(options),
                }
            ],
            "tool_choice": {"type": "tool", "name": VERDICT_TOOL},
        }

    async def evaluate(self, case: JudgeInput) -> Verdict:
        client = self.client  # built before the clock starts (see `prepare`)
        start = time.perf_counter()
        try:
            message = await client.messages.create(**self.request(case))
        except Exception as error:
            return Verdict.failed(
                self.name,
                sdk_failure(error),
                model=self.options.model,
                latency_s=time.perf_counter() - start,
            )
        return self.verdict(message, latency_s=time.perf_counter() - start)

    def verdict(self, message: Message, *, latency_s: float = 0.0, batch: bool = False) -> Verdict:
        """Read the `submit_verdict` call (or, failing that, JSON in the text) of a reply."""
        usage = usage_of(message)
        common: dict[str, Any] = {
            "judge": self.name,
            "model": message.model,
            "usage": usage,
            "cost_usd": self.prices.cost(
                message.model, usage, batch=batch, alias=self.options.model
            ),
            "latency_s": latency_s,
        }
        raw: Any = None
        for block in message.content:
            if block.type == "tool_use" and block.name == VERDICT_TOOL:
                raw = block.input
                break
        else:
            raw = message_text(message)
        if message.stop_reason == "refusal":
            return Verdict(error="the model refused to grade", raw=raw, **common)
        try:
            parsed = parse_verdict(raw, self.options.score_range)
        except MalformedVerdict as error:
            return Verdict(error=f"malformed verdict: {error}", raw=raw, **common)
        return Verdict(score=parsed.score, reason=parsed.reason, raw=raw, **common)

    # -- Message Batches ------------------------------------------------------------------

    async def submit_batch(self, cases: Sequence[JudgeInput]) -> str:
        """Create one batch for `cases` (`custom_id_for(case_id)` each); returns its id."""
        return (await self.create_batch(cases)).id

    async def create_batch(self, cases: Sequence[JudgeInput], *, tag: str = "") -> BatchInfo:
        """Create one batch for `cases` (`custom_id_for(case_id, tag)` each).

        Never retried by the SDK: a create that timed out may have created the batch, and
        only the caller (which lists the batches first) can tell. Raises `JudgeError` when the
        API refused it (nothing was created), `TransientError` when the outcome is unknown."""
        requests: Any = [
            {"custom_id": custom_id_for(case.case_id, tag), "params": self.request(case)}
            for case in cases
        ]
        try:
            client = self.client.with_options(max_retries=0)
            batch = await client.messages.batches.create(requests=requests)
        except Exception as error:
            raise JudgeError(f"cannot create batch: {sdk_failure(error)}") from error
        return info_of(batch)

    async def batch_info(self, batch_id: str) -> BatchInfo:
        """The batch's status and counts (`JudgeError` if it is unknown, `TransientError` if
        the API could not answer)."""
        try:
            batch = await self.client.messages.batches.retrieve(batch_id)
        except Exception as error:
            raise JudgeError(f"cannot read batch {batch_id}: {sdk_failure(error)}") from error
        return info_of(batch)

    async def batch_status(self, batch_id: str) -> str:
        """`in_progress`, `canceling` or `ended`."""
        return (await self.batch_info(batch_id)).status

    async def list_batches(self, since: float) -> list[BatchInfo]:
        """The batches of this API key created at or after `since` (epoch s), newest first."""
        found: list[BatchInfo] = []
        try:
            async for batch in self.client.messages.batches.list(limit=100):
                info = info_of(batch)
                if info.created_at < since:
                    break  # the API lists newest first
                found.append(info)
        except Exception as error:
            raise JudgeError(f"cannot list batches: {sdk_failure(error)}") from error
        return found

    async def batch_results(self, batch_id: str) -> AsyncIterator[tuple[str, Verdict]]:
        """(custom_id, verdict) for every request of an ended batch, in no given order."""
        try:
            decoder = await self.client.messages.batches.results(batch_id)
        except Exception as error:
            raise JudgeError(f"cannot read results of {batch_id}: {sdk_failure(error)}") from error
        async for item in decoder:
            result = item.result
            if result.type == "succeeded":
                verdict = self.verdict(result.message, batch=True)
                yield item.custom_id, verdict.model_copy(update={"batch_id": batch_id})
            elif result.type == "errored":
                detail = result.error.error
                yield (
                    item.custom_id,
                    Verdict.failed(
                        self.name,
                        f"batch request errored: {detail.type}: {detail.message}",
                        batch_id=batch_id,
                    ),
                )
            else:
                message = f"batch request {result.type}"
                yield item.custom_id, Verdict.failed(self.name, message, batch_id=batch_id)

    async def aclose(self) -> None:
        """Close the client (a later call makes a new one)."""
        client, self._client = self._client, None
        if client is not None:
            await client.close()
