"""Judges with the same scores and reasons as the `@deepagents/evals` scorers of those names.

`exact`, `includes`, `regex`, `levenshtein` and `json_match` reproduce `exactMatch`,
`includes`, `regex(p)`, `levenshtein` and `jsonMatch` (package 0.29.1), so a re-judged score
is comparable with a stored one. They call no model: cost 0, no usage.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar, Literal

from evaltui.backends.base import UNDEFINED, JudgeInput, Verdict
from evaltui.backends.context import BuildContext
from evaltui.backends.judges.options import (
    EmptyOptions,
    LevenshteinOptions,
    RegexOptions,
)
from evaltui.core.jscompat import (
    js_deep_equal,
    js_json_parse,
    js_regex,
    js_string,
    levenshtein_similarity,
    utf16_units,
)


def _expected_text(case: JudgeInput) -> str:
    """`expected == null ? '' : String(expected)`."""
    expected = case.expected
    return "" if expected is None or expected is UNDEFINED else js_string(expected)


class _Deterministic:
    """Shared plumbing: name, timing and the verdict shape."""

    default_name: ClassVar[str] = ""
    Options: ClassVar[type[Any]] = EmptyOptions

    def __init__(self, name: str | None = None) -> None:
        self.name = name or self.default_name

    @classmethod
    def from_options(cls, name: str, options: Any, context: BuildContext) -> _Deterministic:
        return cls(name)

    def describe(self) -> dict[str, Any]:
        return {}

    def score(self, case: JudgeInput) -> tuple[float, str | None]:
        raise NotImplementedError

    async def evaluate(self, case: JudgeInput) -> Verdict:
        start = time.perf_counter()
        score, reason = self.score(case)
        return Verdict(
            judge=self.name,
            score=score,
            reason=reason,
            cost_usd=0.0,
            latency_s=time.perf_counter() - start,
        )


class ExactJudge(_Deterministic):
    """`exactMatch`: the output equals `String(expected)`, case-sensitive, untrimmed."""

    default_name = "exact"

    def score(self, case: JudgeInput) -> tuple[float, str | None]:
        expected = _expected_text(case)
        output = case.output_text
        if output == expected:
            return 1.0, None
        return 0.0, (
            f'Output does not exactly match expected. Expected "{expected}" but got "{output}".'
        )


class IncludesJudge(_Deterministic):
    """`includes`: the output contains `String(expected)`."""

    default_name = "includes"

    def score(self, case: JudgeInput) -> tuple[float, str | None]:
        expected = _expected_text(case)
        if expected in case.output_text:
            return 1.0, None
        return 0.0, f'Output does not include expected substring "{expected}".'


class RegexJudge(_Deterministic):
    """`regex(pattern)`: 1 when the pattern matches anywhere in the output; no reason."""

    default_name = "regex"
    Options = RegexOptions

    def __init__(self, name: str | None = None, *, pattern: str, flags: str = "") -> None:
        super().__init__(name)
        self.pattern = pattern
        self.flags = flags
        self._regex = js_regex(pattern, flags)

    @classmethod
    def from_options(cls, name: str, options: Any, context: BuildContext) -> RegexJudge:
        assert isinstance(options, RegexOptions)
        return cls(name, pattern=options.pattern, flags=options.flags)

    def describe(self) -> dict[str, Any]:
        return {"pattern": self.pattern, "flags": self.flags}

    def score(self, case: JudgeInput) -> tuple[float, str | None]:
        return (1.0 if self._regex.search(case.output_text) else 0.0), None


class LevenshteinJudge(_Deterministic):
    """`levenshtein`: `1 - distance / max(length)` over UTF-16 code units; no reason.

    `units="codepoints"` follows the package's later local implementation instead.
    """

    default_name = "levenshtein"
    Options = LevenshteinOptions

    def __init__(
        self, name: str | None = None, *, units: Literal["utf16", "codepoints"] = "utf16"
    ) -> None:
        super().__init__(name)
        self.units = units

    @classmethod
    def from_options(cls, name: str, options: Any, context: BuildContext) -> LevenshteinJudge:
        assert isinstance(options, LevenshteinOptions)
        return cls(name, units=options.units)

    def describe(self) -> dict[str, Any]:
        return {"units": self.units}

    def score(self, case: JudgeInput) -> tuple[float, str | None]:
        output, expected = case.output_text, _expected_text(case)
        if self.units == "utf16":
            return levenshtein_similarity(utf16_units(output), utf16_units(expected)), None
        return levenshtein_similarity(output, expected), None


class JsonMatchJudge(_Deterministic):
    """`jsonMatch`: the output parses to JSON deeply equal to expected (a string expected is
    parsed too); key order is ignored, array order is not."""

    default_name = "json_match"

    def score(self, case: JudgeInput) -> tuple[float, str | None]:
        try:
            parsed_output = js_json_parse(case.output_text)
            expected = case.expected
            parsed_expected = js_json_parse(expected) if isinstance(expected, str) else expected
        except (ValueError, RecursionError):
            return 0.0, "Failed to parse JSON"
        if js_deep_equal(parsed_output, parsed_expected):
            return 1.0, None
        return 0.0, "JSON payload differs from expected JSON."
