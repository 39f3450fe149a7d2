"""The judges by name: built-ins plus the `evaltui.judges` entry-point group."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from evaltui.backends.base import Judge, JudgeError
from evaltui.backends.context import BuildContext
from evaltui.backends.judges.options import (
    AnthropicJudgeOptions,
    CommandJudgeOptions,
    EmptyOptions,
    JsonSchemaOptions,
    LevenshteinOptions,
    OpenAICompatOptions,
    RegexOptions,
)
from evaltui.backends.plugins import Registry

ENTRY_POINT_GROUP = "evaltui.judges"

BUILTIN_JUDGES: dict[str, str] = {
    "exact": "evaltui.backends.judges.deterministic:ExactJudge",
    "includes": "evaltui.backends.judges.deterministic:IncludesJudge",
    "regex": "evaltui.backends.judges.deterministic:RegexJudge",
    "levenshtein": "evaltui.backends.judges.deterministic:LevenshteinJudge",
    "json_match": "evaltui.backends.judges.deterministic:JsonMatchJudge",
    "json_schema": "evaltui.backends.judges.json_schema:JsonSchemaJudge",
    "anthropic": "evaltui.backends.judges.anthropic:AnthropicJudge",
    "openai-compatible": "evaltui.backends.judges.openai_compat:OpenAICompatJudge",
    "command": "evaltui.backends.judges.command:CommandJudge",
}

BUILTIN_OPTIONS: dict[str, type[BaseModel]] = {
    "exact": EmptyOptions,
    "includes": EmptyOptions,
    "regex": RegexOptions,
    "levenshtein": LevenshteinOptions,
    "json_match": EmptyOptions,
    "json_schema": JsonSchemaOptions,
    "anthropic": AnthropicJudgeOptions,
    "openai-compatible": OpenAICompatOptions,
    "command": CommandJudgeOptions,
}

# The package's own spellings (the web runner stores `exactMatch`, `jsonMatch`).
ALIASES = {"exactMatch": "exact", "jsonMatch": "json_match", "openai_compat": "openai-compatible"}

JUDGES = Registry("judge", ENTRY_POINT_GROUP, BUILTIN_JUDGES, BUILTIN_OPTIONS, ALIASES)


def available_judges() -> dict[str, str]:
    """Judge name -> "module:attr", built-ins and installed plugins (nothing is imported)."""
    return JUDGES.available()


def load_judge(name: str) -> Any:
    """Import the one judge class (or plugin factory) registered as `name`."""
    return JUDGES.load(name)


def create_judge(
    type_name: str,
    name: str | None = None,
    options: Mapping[str, Any] | BaseModel | None = None,
    context: BuildContext | None = None,
) -> Judge:
    """Build a judge of `type_name` called `name` (the scorer name its scores get)."""
    judge = JUDGES.create(type_name, name, options, context)
    if not isinstance(judge, Judge):
        raise JudgeError(f"{type_name!r} did not build a judge (no name/evaluate)")
    return judge
