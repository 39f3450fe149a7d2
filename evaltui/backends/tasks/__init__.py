"""Re-run tasks: regenerate a case's output from its input (no Textual; lazy backends)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from evaltui.backends.base import JudgeError
from evaltui.backends.context import BuildContext
from evaltui.backends.plugins import Registry
from evaltui.backends.tasks.base import TIMEOUT, Task, TaskError, TaskResult
from evaltui.backends.tasks.options import AnthropicTaskOptions, CommandTaskOptions, HttpTaskOptions

ENTRY_POINT_GROUP = "evaltui.tasks"

BUILTIN_TASKS: dict[str, str] = {
    "command": "evaltui.backends.tasks.command:CommandTask",
    "http": "evaltui.backends.tasks.http:HttpTask",
    "anthropic": "evaltui.backends.tasks.anthropic:AnthropicPromptTask",
}

TASKS = Registry(
    "task",
    ENTRY_POINT_GROUP,
    BUILTIN_TASKS,
    {"command": CommandTaskOptions, "http": HttpTaskOptions, "anthropic": AnthropicTaskOptions},
)


def create_task(
    type_name: str,
    name: str | None = None,
    options: Mapping[str, Any] | BaseModel | None = None,
    context: BuildContext | None = None,
) -> Task:
    """Build a task of `type_name` called `name`."""
    task = TASKS.create(type_name, name, options, context)
    if not isinstance(task, Task):
        raise JudgeError(f"{type_name!r} did not build a task (no name/generate)")
    return task


__all__ = [
    "BUILTIN_TASKS",
    "ENTRY_POINT_GROUP",
    "TASKS",
    "TIMEOUT",
    "Task",
    "TaskError",
    "TaskResult",
    "create_task",
]
