"""A third-party judge package: found by evaltui through the `evaltui.judges` entry points."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from evaltui.judges import BuildContext, JudgeInput, Verdict


class LengthOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_chars: int = 10


class LengthJudge:
    """1 when the output has at most `max_chars` characters (a class with `Options`)."""

    Options = LengthOptions

    def __init__(self, name: str, max_chars: int) -> None:
        self.name = name
        self.max_chars = max_chars

    @classmethod
    def from_options(cls, name: str, options: Any, context: BuildContext) -> LengthJudge:
        return cls(name, options.max_chars)

    async def evaluate(self, case: JudgeInput) -> Verdict:
        ok = len(case.output_text) <= self.max_chars
        return Verdict(
            judge=self.name, score=1.0 if ok else 0.0, reason=f"{len(case.output_text)} chars"
        )


class ShoutyJudge:
    def __init__(self, name: str) -> None:
        self.name = name

    async def evaluate(self, case: JudgeInput) -> Verdict:
        return Verdict(judge=self.name, score=1.0 if case.output_text.isupper() else 0.0)


def make_shouty(name: str) -> ShoutyJudge:
    """A plain factory (no options model)."""
    return ShoutyJudge(name)


class KeywordOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keywords: list[str] = []


class KeywordJudge:
    """1 when the output names one of `keywords` (an option whose name looks secret-ish)."""

    Options = KeywordOptions

    def __init__(self, name: str, keywords: list[str]) -> None:
        self.name = name
        self.keywords = keywords

    @classmethod
    def from_options(cls, name: str, options: Any, context: BuildContext) -> KeywordJudge:
        return cls(name, list(options.keywords))

    async def evaluate(self, case: JudgeInput) -> Verdict:
        hit = any(word in case.output_text for word in self.keywords)
        return Verdict(judge=self.name, score=1.0 if hit else 0.0)
