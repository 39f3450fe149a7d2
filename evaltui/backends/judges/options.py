"""Options of the built-in judges, validated by pydantic (unknown keys are errors).

These models import nothing heavy, so a config file can be validated without importing any
judge backend. Secrets are never literal: `api_key` must be a `${ENV_VAR}` reference and
header or environment values may only carry secrets through such references.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

DEFAULT_ANTHROPIC_MODEL = "claude-sonnet-4-5"

SECRET_REF_PATTERN = r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$"
SecretRef = Annotated[str, StringConstraints(pattern=SECRET_REF_PATTERN)]
"""A `${ENV_VAR}` reference: the only way to give a key; it is resolved at use time."""

DEFAULT_RUBRIC = (
    "The output answers the input correctly and completely. When an expected answer is "
    "given, the output must agree with it in substance (wording may differ)."
)


class StrictOptions(BaseModel):
    """Options reject unknown keys, so a typo is an error rather than a silent default."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class EmptyOptions(StrictOptions):
    """For judges that take no options (`exact`, `includes`, `json_match`)."""


class RegexOptions(StrictOptions):
    pattern: str
    """A JavaScript RegExp source, as given to the package's `regex(/…/)`."""
    flags: str = ""
    """JavaScript flags: `i`, `m`, `s` (others are accepted and ignored)."""


class LevenshteinOptions(StrictOptions):
    units: Literal["utf16", "codepoints"] = "utf16"
    """`utf16` as package 0.29.1 (autoevals); `codepoints` as its later local version."""


class JsonSchemaOptions(StrictOptions):
    json_schema: dict[str, Any] | None = Field(default=None, alias="schema")
    """The schema inline (a TOML table); or give `schema_file`."""
    schema_file: str | None = None
    """Path to a JSON schema file, relative to the working folder."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_schema(self) -> JsonSchemaOptions:
        if (self.json_schema is None) == (self.schema_file is None):
            raise ValueError("give exactly one of `schema` or `schema_file`")
        return self


class RubricOptions(StrictOptions):
    """What an LLM judge is asked: a rubric, the score scale and the answer budget."""

    rubric: str = DEFAULT_RUBRIC
    system: str | None = None
    """Replaces the default grader system prompt."""
    max_tokens: int = Field(default=1024, ge=1)
    score_range: tuple[float, float] = (0.0, 1.0)
    """The scale the judge scores on; scores are normalised to 0..1."""

    @model_validator(mode="after")
    def _range(self) -> RubricOptions:
        low, high = self.score_range
        if not high > low:
            raise ValueError("score_range must be [low, high] with high > low")
        return self


class AnthropicJudgeOptions(RubricOptions):
    model: str = DEFAULT_ANTHROPIC_MODEL
    base_url: str | None = None
    """Defaults to the SDK's (ANTHROPIC_BASE_URL, then the public API)."""
    api_key: SecretRef | None = None
    """E.g. "${ANTHROPIC_API_KEY}"; unset lets the SDK find credentials itself."""
    request_timeout_s: float = Field(default=120.0, gt=0)
    sdk_max_retries: int = Field(default=0, ge=0, le=10)
    """The runner retries (with a cap on retry-after); keep the SDK's own retries off."""
    batch_min_cases: int | None = Field(default=None, ge=1)
    """Judge through the Message Batches API (half price) when a job has this many cases."""
    batch_poll_s: float = Field(default=30.0, gt=0)
    batch_chunk: int = Field(default=10_000, ge=1, le=100_000)
    """Most requests per batch."""


class OpenAICompatOptions(RubricOptions):
    base_url: str
    """The API root, e.g. http://localhost:11434/v1 (POSTs go to {base_url}/chat/completions)."""
    model: str
    api_key: SecretRef | None = None
    temperature: float | None = 0.0
    response_format: Literal["auto", "json_schema", "json_object", "none"] = "auto"
    """`auto` tries json_schema, then json_object, then none, and keeps what works."""
    headers: dict[str, str] = Field(default_factory=dict)
    """Extra headers; put secrets in them only as ${ENV_VAR} references."""
    extra_body: dict[str, Any] = Field(default_factory=dict)
    request_timeout_s: float = Field(default=120.0, gt=0)
    max_connections: int = Field(default=64, ge=1)


class CommandJudgeOptions(StrictOptions):
    argv: list[str] = Field(min_length=1)
    """Program and arguments (no shell); gets the case JSON on stdin."""
    timeout_s: float = Field(default=60.0, gt=0)
    cwd: str | None = None
    env: dict[str, str] = Field(default_factory=dict)
    """Extra environment variables (values may reference ${ENV_VAR})."""
