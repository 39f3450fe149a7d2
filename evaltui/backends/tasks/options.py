"""Options of the built-in re-run tasks (pydantic, unknown keys rejected, secrets by reference)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from evaltui.backends.judges.options import DEFAULT_ANTHROPIC_MODEL, SecretRef, StrictOptions


class CommandTaskOptions(StrictOptions):
    argv: list[str] = Field(min_length=1)
    """Program and arguments (no shell); gets the dataset item as JSON on stdin."""
    timeout_s: float = Field(default=30.0, gt=0)
    cwd: str | None = None
    env: dict[str, str] = Field(default_factory=dict)
    """Extra environment variables (values may reference ${ENV_VAR})."""
    stdout: Literal["text", "json"] = "text"
    """`text`: stdout is the output (trailing newlines dropped); `json`: stdout is
    `{"output": str, "usage": {"inputTokens", "outputTokens"}}` like the HTTP endpoint."""


class HttpTaskOptions(StrictOptions):
    url: str
    """The endpoint the dataset item is POSTed to; it answers `{"output": str}`."""
    headers: dict[str, str] = Field(default_factory=dict)
    """Extra headers; secrets only as ${ENV_VAR} references."""
    timeout_s: float = Field(default=30.0, gt=0)
    max_connections: int = Field(default=64, ge=1)


class AnthropicTaskOptions(StrictOptions):
    model: str = DEFAULT_ANTHROPIC_MODEL
    prompt: str | None = None
    """Name of a prompt in the store's `prompts` table, used as the system prompt."""
    prompt_version: int | None = Field(default=None, ge=1)
    """That prompt's version (default: the latest)."""
    system: str | None = None
    """A literal system prompt instead of a stored one."""
    max_tokens: int = Field(default=4096, ge=1)
    base_url: str | None = None
    api_key: SecretRef | None = None
    request_timeout_s: float = Field(default=120.0, gt=0)
    sdk_max_retries: int = Field(default=0, ge=0, le=10)

    @model_validator(mode="after")
    def _one_prompt(self) -> AnthropicTaskOptions:
        if self.prompt is not None and self.system is not None:
            raise ValueError("give `prompt` (a stored prompt) or `system`, not both")
        if self.prompt_version is not None and self.prompt is None:
            raise ValueError("`prompt_version` needs `prompt`")
        return self
