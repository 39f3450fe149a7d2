"""The judge contract: what a judge receives (`JudgeInput`), what it returns (`Verdict`).

A judge turns one case's output into a `Verdict`. A failure to judge is a `Verdict` with
`error` set and `score` None, never a score of 0 in disguise. A judge asks the runner to
retry a call by raising `TransientError` (see `evaltui.backends.errors`).
A judge (or task) with slow start-up (an SDK import, a client) may define
`async def prepare(self)`: a job awaits it before the first call, outside every call's
timeout and latency.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, field_serializer, model_validator

from evaltui.core.jscompat import UNDEFINED as UNDEFINED
from evaltui.core.models import Case


class JudgeError(Exception):
    """A judge cannot be found, configured or built (not a per-case failure)."""


class Usage(BaseModel):
    """Tokens one model call used (all zero for judges that call no model)."""

    model_config = ConfigDict(frozen=True)

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_read_input_tokens=self.cache_read_input_tokens + other.cache_read_input_tokens,
            cache_creation_input_tokens=self.cache_creation_input_tokens
            + other.cache_creation_input_tokens,
        )

    @property
    def total_input_tokens(self) -> int:
        """Input tokens including cache reads and writes (as Anthropic documents it)."""
        return self.input_tokens + self.cache_read_input_tokens + self.cache_creation_input_tokens


class Verdict(BaseModel):
    """One judge's verdict on one case.

    `score` is in [0, 1], or None when the judge failed; then `error` says why. The two are
    kept apart so that an outage never reads as a bad output.
    """

    model_config = ConfigDict(frozen=True)

    judge: str
    score: float | None = None
    reason: str | None = None
    error: str | None = None
    model: str | None = None
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float | None = None
    """None when the model's price is unknown (or for judges that call no model: 0.0)."""
    latency_s: float = 0.0
    retries: int = 0
    raw: Any = None
    """What the judge answered, as JSON-able data, for auditing."""
    batch_id: str | None = None
    """The Message Batch that answered, when the verdict came through a batch API."""

    @model_validator(mode="after")
    def _check(self) -> Verdict:
        if self.error is None and self.score is None:
            raise ValueError("a verdict needs a score or an error")
        if self.error is not None and self.score is not None:
            raise ValueError("an errored verdict has no score")
        if self.score is not None and not (0.0 <= self.score <= 1.0):
            raise ValueError(f"score {self.score} is outside 0..1")
        return self

    @property
    def ok(self) -> bool:
        return self.error is None

    def passed(self, threshold: float) -> bool | None:
        """True/False against `threshold`, None when the judge errored."""
        return None if self.score is None else self.score >= threshold

    @classmethod
    def failed(cls, judge: str, error: str, **extra: Any) -> Verdict:
        """An errored verdict (no score)."""
        return cls(judge=judge, error=error, **extra)


class JudgeInput(BaseModel):
    """What a judge sees of one case: the dataset item, the output and the expected value.

    `input` is the decoded `cases.input` (for the engine: the whole dataset item); `expected`
    is the decoded `cases.expected`, or `UNDEFINED` when the item had none.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    case_id: str
    idx: int = 0
    input: Any = None
    output: str | None = None
    expected: Any = UNDEFINED
    metadata: Mapping[str, Any] = Field(default_factory=dict)

    @classmethod
    def from_case(cls, case: Case) -> JudgeInput:
        """What the engine gave its scorers for a stored case (a re-run replaces `output`)."""
        return cls(
            case_id=case.id,
            idx=case.idx,
            input=case.input.value if case.input.is_json else case.input.raw,
            output=case.output,
            expected=expected_of(case),
        )

    @field_serializer("expected")
    def _serialize_expected(self, value: Any) -> Any:
        return None if value is UNDEFINED else value

    @property
    def output_text(self) -> str:
        """The output as the engine gave it to scorers (a NULL output was an empty string)."""
        return self.output or ""

    @property
    def expected_value(self) -> Any:
        """`expected`, with `UNDEFINED` read as None."""
        return None if self.expected is UNDEFINED else self.expected

    def to_json(self) -> str:
        """The case as one JSON object (for command judges): input, output, expected."""
        payload = {
            "case_id": self.case_id,
            "idx": self.idx,
            "input": self.input,
            "output": self.output,
            "expected": self.expected_value,
        }
        return json.dumps(payload, ensure_ascii=False, default=str)


def expected_of(case: Case) -> Any:
    """The engine's `input.expected` for a stored case.

    The column holds `JSON.stringify(expected)` or NULL for null/undefined; a NULL column is
    `null` when the stored dataset item has an explicit `"expected": null`, else `undefined`.
    """
    if case.expected.raw is not None:
        return case.expected.value if case.expected.is_json else case.expected.raw
    item = case.input.value if case.input.is_json else None
    if isinstance(item, dict) and "expected" in item and item["expected"] is None:
        return None
    return UNDEFINED


@runtime_checkable
class Judge(Protocol):
    """Anything with a `name` (the scorer name stored) and an async `evaluate`."""

    name: str

    async def evaluate(self, case: JudgeInput) -> Verdict: ...
