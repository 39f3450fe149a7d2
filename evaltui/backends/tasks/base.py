"""The re-run contract: a `Task` regenerates one case's output from its input.

A task failure is a `TaskResult` with `error` set (shaped like the engine's errors, so the
persistence layer can store it the package's way); `TransientError` asks for a retry.
"""

from __future__ import annotations

import json
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, model_validator

from evaltui.backends.base import JudgeInput, Usage


class TaskError(BaseModel):
    """An error as the engine records it: `{name, message}`."""

    model_config = ConfigDict(frozen=True)

    name: str = "Error"
    message: str

    @property
    def engine_reason(self) -> str:
        """The reason the engine gives every scorer of a failed case."""
        return f"Task failed: {self.name}: {self.message}"

    def to_json(self) -> str:
        """`cases.error` as the engine serialises an Error (no stack: none is meaningful)."""
        return json.dumps({"name": self.name, "message": self.message}, ensure_ascii=False)


TIMEOUT = TaskError(name="Error", message="timeout exceeded")
"""What the engine stores for a task that ran past its timeout."""


class TaskResult(BaseModel):
    """One regenerated output, or the error that prevented it."""

    model_config = ConfigDict(frozen=True)

    task: str
    output: str | None = None
    error: TaskError | None = None
    model: str | None = None
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float | None = None
    latency_ms: int = 0
    """Around the successful (or last) attempt, as the engine measures a task."""
    retries: int = 0
    raw: Any = None

    @model_validator(mode="after")
    def _check(self) -> TaskResult:
        if self.error is not None and self.output is not None:
            raise ValueError("a failed task has no output")
        return self

    @property
    def ok(self) -> bool:
        return self.error is None

    @classmethod
    def failed(cls, task: str, message: str, name: str = "Error", **extra: Any) -> TaskResult:
        return cls(task=task, error=TaskError(name=name, message=message), **extra)


@runtime_checkable
class Task(Protocol):
    """Anything with a `name` and an async `generate` from a case's input."""

    name: str

    async def generate(self, case: JudgeInput) -> TaskResult: ...


def js_stringify(value: Any) -> str:
    """`JSON.stringify(value)` for JSON data: compact, non-ASCII kept."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def user_message(item: Any) -> str:
    """The web runner's prompt-mode user turn: `input.input` when a string, else the item."""
    if isinstance(item, dict) and isinstance(item.get("input"), str):
        return str(item["input"])
    return js_stringify(item)
