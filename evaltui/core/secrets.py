"""Secrets are known by their source: values resolved from `${ENV}` references.

A `Redactor` collects every value a judge or task resolved from the environment (see
`BuildContext.resolve`) and replaces each occurrence of one in text that evaltui stores or
prints with `[redacted ${NAME}]`, so a program that echoes its key on stderr, or an API that
quotes it in an error, never puts it in the store, the `--json` lines or the screen.

Values shorter than `MIN_SECRET_CHARS` are not redacted: no credential is that short, and
replacing, say, `prod` or `1` everywhere would corrupt ordinary text (scores, reasons, JSON).
Such values still never enter a job's identity or recorded config (those keep the reference).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MIN_SECRET_CHARS = 8


def marker(name: str) -> str:
    """What a secret's value is replaced with."""
    return f"[redacted ${{{name}}}]"


class Redactor:
    """Resolved secret values -> their variable names; `redact` hides them in text."""

    def __init__(self, secrets: Mapping[str, str] | None = None) -> None:
        self._names: dict[str, str] = {}
        self._ordered: list[tuple[str, str]] = []
        for name, value in (secrets or {}).items():
            self.add(name, value)

    def add(self, name: str, value: str) -> None:
        """Remember that `value` came from `${name}` (too short a value is ignored)."""
        if len(value) < MIN_SECRET_CHARS or self._names.get(value) == name:
            return
        self._names[value] = name
        # longest first, so that a secret containing another one is replaced whole
        self._ordered = sorted(self._names.items(), key=lambda item: -len(item[0]))

    def __bool__(self) -> bool:
        return bool(self._names)

    @property
    def names(self) -> list[str]:
        return sorted(set(self._names.values()))

    def redact(self, text: str) -> str:
        for value, name in self._ordered:
            if value in text:
                text = text.replace(value, marker(name))
        return text

    def redact_optional(self, text: str | None) -> str | None:
        return None if text is None else self.redact(text)

    def redact_data(self, value: Any) -> Any:
        """`value` (JSON-like data) with every string redacted, keys included."""
        if not self._ordered:
            return value
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict):
            return {self.redact_data(k): self.redact_data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.redact_data(item) for item in value]
        return value
