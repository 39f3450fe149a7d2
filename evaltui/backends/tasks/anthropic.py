"""Re-run in prompt mode on Anthropic: a stored prompt version as the system prompt, a model.

The caller reads prompts from the store (`RunStore.list_prompts`) and passes them in the
`BuildContext`; the user turn is built as the web runner builds it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from evaltui.backends.base import JudgeError, JudgeInput
from evaltui.backends.context import BuildContext
from evaltui.backends.judges.anthropic import AnthropicBackend, message_text, sdk_failure, usage_of
from evaltui.backends.pricing import NO_PRICES, PriceTable
from evaltui.backends.tasks.base import TaskResult, user_message
from evaltui.backends.tasks.options import AnthropicTaskOptions
from evaltui.core.models import Prompt

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic


def select_prompt(prompts: Sequence[Prompt], name: str, version: int | None = None) -> Prompt:
    """The prompt `name` at `version` (default: its latest); `JudgeError` if absent."""
    matching = [prompt for prompt in prompts if prompt.name == name]
    if not matching:
        known = ", ".join(sorted({prompt.name for prompt in prompts})) or "none"
        raise JudgeError(f"no prompt named {name!r} in the store (prompts: {known})")
    if version is None:
        return max(matching, key=lambda prompt: prompt.version)
    for prompt in matching:
        if prompt.version == version:
            return prompt
    versions = ", ".join(str(p.version) for p in sorted(matching, key=lambda p: p.version))
    raise JudgeError(f"prompt {name!r} has no version {version} (versions: {versions})")


class AnthropicPromptTask(AnthropicBackend):
    """Generates an output with `model`, the given system prompt and the case's input."""

    Options: ClassVar[type[AnthropicTaskOptions]] = AnthropicTaskOptions

    def __init__(
        self,
        name: str,
        options: AnthropicTaskOptions,
        *,
        prompt: Prompt | None = None,
        api_key: str | None = None,
        prices: PriceTable = NO_PRICES,
        client: AsyncAnthropic | None = None,
    ) -> None:
        self.name = name
        self.options = options
        self.prompt = prompt
        self.system = prompt.content if prompt is not None else options.system
        self.prices = prices
        self._api_key = api_key
        self._client = client

    @classmethod
    def from_options(cls, name: str, options: Any, context: BuildContext) -> AnthropicPromptTask:
        assert isinstance(options, AnthropicTaskOptions)
        prompt = None
        if options.prompt is not None:
            prompt = select_prompt(context.prompts, options.prompt, options.prompt_version)
        key = context.resolve(options.api_key, what=name) if options.api_key else None
        if key is None:
            context.note_secret("ANTHROPIC_API_KEY")  # the SDK reads it itself
        return cls(name, options, prompt=prompt, api_key=key, prices=context.prices)

    def describe(self) -> dict[str, Any]:
        prompt = self.prompt
        return {
            "taskMode": "prompt",
            "model": self.options.model,
            "max_tokens": self.options.max_tokens,
            "base_url": self.options.base_url,
            "promptId": prompt.id if prompt else None,
            "promptName": prompt.name if prompt else None,
            "promptVersion": prompt.version if prompt else None,
            "system": None if prompt else self.system,
        }

    async def generate(self, case: JudgeInput) -> TaskResult:
        params: dict[str, Any] = {
            "model": self.options.model,
            "max_tokens": self.options.max_tokens,
            "messages": [{"role": "user", "content": user_message(case.input)}],
        }
        if self.system:
            params["system"] = self.system
        client = self.client  # built before the clock starts (see `prepare`)
        start = time.perf_counter()
        try:
            message = await client.messages.create(**params)
        except Exception as error:
            latency = round((time.perf_counter() - start) * 1000)
            return TaskResult.failed(
                self.name, sdk_failure(error), type(error).__name__, latency_ms=latency
            )
        latency = round((time.perf_counter() - start) * 1000)
        usage = usage_of(message)
        return TaskResult(
            task=self.name,
            output=message_text(message),
            model=message.model,
            usage=usage,
            cost_usd=self.prices.cost(message.model, usage, alias=self.options.model),
            latency_ms=latency,
        )

    async def aclose(self) -> None:
        """Close the client (a later call makes a new one)."""
        client, self._client = self._client, None
        if client is not None:
            await client.close()
