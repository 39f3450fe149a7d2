"""Judges: score one case's output (no Textual; backends are imported only when used)."""

from __future__ import annotations

from evaltui.backends.base import UNDEFINED, Judge, JudgeError, JudgeInput, Usage, Verdict
from evaltui.backends.context import BuildContext
from evaltui.backends.errors import TransientError
from evaltui.backends.judges.registry import (
    BUILTIN_JUDGES,
    ENTRY_POINT_GROUP,
    available_judges,
    create_judge,
    load_judge,
)
from evaltui.backends.pricing import Price, PriceTable

__all__ = [
    "BUILTIN_JUDGES",
    "ENTRY_POINT_GROUP",
    "UNDEFINED",
    "BuildContext",
    "Judge",
    "JudgeError",
    "JudgeInput",
    "Price",
    "PriceTable",
    "TransientError",
    "Usage",
    "Verdict",
    "available_judges",
    "create_judge",
    "load_judge",
]
