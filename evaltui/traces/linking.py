"""Matching a trace to a case by its input (`evaltui import --run RUN --match input`).

A case's `input` column is the JSON of the whole dataset item (`{"input": ..., "expected":
...}` for the engine); a trace's input is its root span's input, often GenAI messages. Both
sides are reduced to a few canonical keys, and a trace matches a case that shares one.
"""

from __future__ import annotations

import json
from typing import Any


def _canonical(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip()
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _parse(text: str | None) -> tuple[bool, Any]:
    if text is None:
        return False, None
    try:
        return True, json.loads(text)
    except (ValueError, RecursionError):
        return False, text


def _message_text(messages: list[Any]) -> str | None:
    """The text of the last user message of GenAI (`parts`) or chat (`content`) messages."""
    for message in reversed(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "human", None):
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        parts = message.get("parts") if content is None else content
        if isinstance(parts, list):
            texts = [
                str(part.get("content", part.get("text", "")))
                for part in parts
                if isinstance(part, dict) and part.get("type") == "text"
            ]
            if texts:
                return "\n".join(texts)
    return None


def _keys(value: Any) -> set[str]:
    keys = {_canonical(value)}
    if isinstance(value, dict) and "input" in value:
        keys.add(_canonical(value["input"]))
    if isinstance(value, list):
        keys.add(_message_text(value))
    keys.discard(None)
    keys.discard("")
    return {key for key in keys if key is not None}


def case_input_keys(raw_input: str) -> set[str]:
    """Keys of a `cases.input` value: the item itself and its `input` field."""
    parsed, value = _parse(raw_input)
    return _keys(value) if parsed else _keys(raw_input)


def trace_input_keys(span_input: str | None) -> set[str]:
    """Keys of a root span's input (JSON text): the value, its `input`, its user message."""
    parsed, value = _parse(span_input)
    if not parsed:
        return _keys(value) if value is not None else set()
    if isinstance(value, str):
        _, inner = _parse(value)  # a JSON string holding JSON
        return _keys(value) | (_keys(inner) if not isinstance(inner, str) else set())
    return _keys(value)
