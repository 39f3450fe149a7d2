"""Frozen dataclasses shared by the store, the headless CLI and the screens (no Textual here).

Plain dataclasses rather than pydantic: these are on the path to the first screen and to
`evaltui runs --json`, and pydantic's import alone cost about 80 ms there. The store builds
them from values it has already typed (`evaltui.store.decode`), so nothing is validated here.
"""

from __future__ import annotations

import json
import math
from array import array
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

DEFAULT_THRESHOLD = 0.5
STALE_AFTER_MS = 60 * 60 * 1000  # a `running` run older than this is shown as stale


@dataclass(frozen=True, slots=True)
class JsonText:
    """A column that should hold JSON but may hold plain text, or be NULL.

    `raw` is the stored text; `value` the parsed value when `is_json`.
    """

    raw: str | None
    value: Any = None
    is_json: bool = False

    @classmethod
    def parse(cls, raw: str | None) -> JsonText:
        if raw is None:
            return cls(raw=None)
        try:
            return cls(raw=raw, value=json.loads(raw), is_json=True)
        except (ValueError, RecursionError):
            return cls(raw=raw)

    @property
    def display(self) -> str:
        """The value as a person reads it: strings bare, structures pretty-printed."""
        if self.raw is None:
            return ""
        if not self.is_json:
            return self.raw
        if isinstance(self.value, str):
            return self.value
        return json.dumps(self.value, indent=2, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class Suite:
    """A row of `suites`."""

    id: str
    name: str
    created_at: int


_SUMMARY_KEYS = {
    "total_cases": "totalCases",
    "pass_count": "passCount",
    "fail_count": "failCount",
    "total_latency_ms": "totalLatencyMs",
    "total_tokens_in": "totalTokensIn",
    "total_tokens_out": "totalTokensOut",
}


def _whole(value: object) -> int | None:
    """An int, or a float with no fraction, as an int (what JSON numbers of counts look like)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


@dataclass(frozen=True, slots=True)
class RunSummary:
    """The package's `RunSummary`, field for field (JSON keys are camelCase: `to_json`)."""

    total_cases: int
    pass_count: int
    fail_count: int
    mean_scores: dict[str, float]
    total_latency_ms: int
    total_tokens_in: int
    total_tokens_out: int

    @property
    def pass_rate(self) -> float | None:
        """passCount / totalCases (None for an empty run)."""
        return self.pass_count / self.total_cases if self.total_cases else None

    def to_json(self) -> dict[str, Any]:
        """The package's JSON shape (camelCase keys), numbers as they are (a mean of no
        number is NaN: the command's JSON output says what JSON can hold)."""
        return {
            "totalCases": self.total_cases,
            "passCount": self.pass_count,
            "failCount": self.fail_count,
            "meanScores": dict(self.mean_scores),
            "totalLatencyMs": self.total_latency_ms,
            "totalTokensIn": self.total_tokens_in,
            "totalTokensOut": self.total_tokens_out,
        }

    def to_json_text(self) -> str:
        """Compact JSON for `runs.summary`, a non-finite mean as null (as pydantic wrote it)."""
        payload = self.to_json()
        payload["meanScores"] = {k: _finite_or_none(v) for k, v in self.mean_scores.items()}
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, value: object) -> RunSummary | None:
        """A summary from parsed JSON (camelCase keys, or the field names); None when a field
        is missing or not a number of the right kind. Other keys are ignored."""
        if not isinstance(value, dict):
            return None
        counts: dict[str, int] = {}
        for name, key in _SUMMARY_KEYS.items():
            count = _whole(value.get(key, value.get(name)))
            if count is None:
                return None
            counts[name] = count
        means = value.get("meanScores", value.get("mean_scores"))
        if not isinstance(means, dict):
            return None
        mean_scores: dict[str, float] = {}
        for scorer, mean in means.items():
            number = _number(mean)
            if number is None:
                return None
            mean_scores[scorer] = number
        return cls(mean_scores=mean_scores, **counts)

    @classmethod
    def parse(cls, raw: str | None) -> RunSummary | None:
        """`runs.summary` as stored: None when absent or not a summary."""
        if raw is None:
            return None
        try:
            return cls.from_json(json.loads(raw))
        except (ValueError, RecursionError):
            return None


class RunStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


DERIVED_KINDS = {"rejudge": "re-judge", "rerun": "re-run"}


@dataclass(frozen=True, slots=True)
class DerivedRun:
    """What makes a run a re-judge or re-run that evaltui wrote (`runs.config.evaltui`)."""

    kind: str  # "rejudge" or "rerun"
    source_run_id: str | None  # None: the config does not say (malformed)
    case_ids: tuple[str, ...]  # the source cases it was made from
    judges: tuple[str, ...]  # judge profile names
    task: str | None  # the task profile of a re-run

    @property
    def verb(self) -> str:
        return DERIVED_KINDS.get(self.kind, self.kind)

    def label(self, source_label: str | None = None) -> str:
        """`re-judge of 1a2b3c4d, 3 cases, judge exact` (plain text; render it safely)."""
        source = source_label or (self.source_run_id or "?")[:8]
        count = len(self.case_ids)
        parts = [f"{self.verb} of {source}", f"{count} case{'' if count == 1 else 's'}"]
        if self.task:
            parts.append(f"task {self.task}")
        if self.judges:
            word = "judge" if len(self.judges) == 1 else "judges"
            parts.append(f"{word} {', '.join(self.judges)}")
        return ", ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "sourceRunId": self.source_run_id,
            "cases": len(self.case_ids),
            "judges": list(self.judges),
            "task": self.task,
        }


def _name_of(value: Any) -> str | None:
    """A judge's or task's name from its recorded profile (a dict with `name`, or a string)."""
    if isinstance(value, dict):
        value = value.get("name")
    return value if isinstance(value, str) else None


def parse_derived(config: JsonText) -> DerivedRun | None:
    """The one reading of `runs.config.evaltui` (rework.JobPlan.config writes it): a
    `DerivedRun` when `kind` is rejudge or rerun, else None. Anything can be stored there,
    so every field is checked and a malformed one is left out rather than raising."""
    value = config.value if config.is_json else None
    record = value.get("evaltui") if isinstance(value, dict) else None
    if not isinstance(record, dict):
        return None
    kind = record.get("kind")
    if not isinstance(kind, str) or kind not in DERIVED_KINDS:
        return None
    source = record.get("sourceRunId")
    case_ids = record.get("caseIds")
    judges = record.get("judges")
    return DerivedRun(
        kind=kind,
        source_run_id=source if isinstance(source, str) and source else None,
        case_ids=tuple(c for c in case_ids if isinstance(c, str))
        if isinstance(case_ids, list)
        else (),
        judges=tuple(n for n in map(_name_of, judges) if n is not None)
        if isinstance(judges, list)
        else (),
        task=_name_of(record.get("task")),
    )


def is_derived_of(candidate: Run, baseline: Run) -> bool:
    """True when `candidate` is a re-judge or re-run of `baseline`."""
    derived = candidate.derived
    return derived is not None and derived.source_run_id == baseline.id


@dataclass(frozen=True)
class Run:  # no slots: `derived` is a cached_property
    """A row of `runs`, with its suite's name and its stored summary when it parses."""

    id: str
    suite_id: str | None
    suite_name: str | None
    name: str
    model: str
    config: JsonText
    started_at: int
    finished_at: int | None
    status: str
    summary: RunSummary | None = None
    summary_raw: str | None = None
    unreadable: tuple[str, ...] = ()
    """Columns of the run's row that could not be read as stored (see evaltui.store.decode)."""

    @property
    def threshold(self) -> float:
        """`config.threshold` when the writer stored one, else the package default 0.5."""
        value = self.config.value if self.config.is_json else None
        if isinstance(value, dict):
            threshold = value.get("threshold")
            if isinstance(threshold, bool) or not isinstance(threshold, int | float):
                return DEFAULT_THRESHOLD
            if math.isfinite(threshold):
                return float(threshold)
        return DEFAULT_THRESHOLD

    @cached_property
    def derived(self) -> DerivedRun | None:
        """The re-judge or re-run this run is (None: an ordinary run)."""
        return parse_derived(self.config)

    def is_stale(self, now_ms: int, stale_after_ms: int = STALE_AFTER_MS) -> bool:
        """A `running` run nobody finished: its process most likely died."""
        return self.status == RunStatus.RUNNING and now_ms - self.started_at > stale_after_ms

    @property
    def summary_is_malformed(self) -> bool:
        return self.summary_raw is not None and self.summary is None


@dataclass(frozen=True, slots=True)
class Score:
    """A row of `scores`."""

    scorer_name: str
    score: float
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"scorer_name": self.scorer_name, "score": self.score, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Case:
    """One case read in full (big text included): only fetched when a case is opened."""

    id: str
    run_id: str
    idx: int
    input: JsonText
    output: str | None
    expected: JsonText
    latency_ms: int | None
    tokens_in: int | None
    tokens_out: int | None
    error: JsonText
    scores: tuple[Score, ...] = ()
    unreadable: tuple[str, ...] = ()
    """Columns of the case and its scores that could not be read as stored."""


@dataclass(frozen=True, slots=True)
class FailingCase:
    """An entry of the package's `getFailingCases`: only the failing scores are attached."""

    idx: int
    case_id: str
    scores: tuple[Score, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "idx": self.idx,
            "case_id": self.case_id,
            "scores": [score.to_json() for score in self.scores],
        }


@dataclass(frozen=True, slots=True)
class CaseRow:
    """What the case table shows for one case: small columns and short previews."""

    id: str
    idx: int
    input_preview: str
    output_preview: str
    latency_ms: int | None
    tokens_in: int | None
    tokens_out: int | None
    has_error: bool
    scores: dict[str, float]

    @property
    def min_score(self) -> float | None:
        return min(self.scores.values()) if self.scores else None


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    """One run's outcome for a dataset item, for the case screen's history line."""

    run_id: str
    model: str
    started_at: int
    present: bool
    min_score: float | None
    has_error: bool


@dataclass(frozen=True, slots=True)
class Prompt:
    """A row of `prompts` (version 1 in a legacy table without versions)."""

    id: str
    name: str
    version: int
    content: str
    created_at: int


class CaseStatus(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    UNSCORED = "unscored"


def case_status(min_score: float | None, has_error: bool, threshold: float) -> CaseStatus:
    """The reporters' status: error, else pass when every score >= threshold, else fail."""
    if has_error:
        return CaseStatus.ERROR
    if min_score is None or math.isnan(min_score):
        return CaseStatus.UNSCORED
    return CaseStatus.PASS if min_score >= threshold else CaseStatus.FAIL


@dataclass(eq=False)
class RunIndex:
    """Every case of one run in `idx` order, with its scores, held as compact columns.

    This is the one structure that grows with the run (about 120 bytes a case), so it is a
    columnar dataclass rather than 100,000 validated models. Missing scores are NaN.
    """

    ids: list[str] = field(default_factory=list)
    idxs: array[int] = field(default_factory=lambda: array("q"))
    min_scores: array[float] = field(default_factory=lambda: array("d"))
    scorer_scores: dict[str, array[float]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def scorer_names(self) -> list[str]:
        return sorted(self.scorer_scores)

    def column(self, scorer: str | None) -> array[float]:
        """Per-case scores of one scorer, or the per-case minimum when `scorer` is None."""
        return self.min_scores if scorer is None else self.scorer_scores[scorer]

    def failing(self, threshold: float, scorer: str | None = None) -> list[int]:
        """Positions of the cases with a score below `threshold` (NaN never fails)."""
        column = self.column(scorer)
        return [i for i, value in enumerate(column) if value < threshold]

    def pass_fail(self, threshold: float) -> tuple[int, int]:
        """(passCount, failCount) as `getRunSummary` counts them: unscored cases are neither."""
        passed = failed = 0
        for value in self.min_scores:
            if value >= threshold:
                passed += 1
            elif value < threshold:
                failed += 1
        return passed, failed


@dataclass(frozen=True, slots=True)
class RunSpend:
    """What judging and re-running cost a run evaltui wrote (from `evaltui_judgements`).

    `cost_usd` sums the priced calls; `unpriced_calls` counts calls that used tokens on a
    model with no price, so the true cost is unknown when it is not 0."""

    calls: int = 0
    """Judge and task steps recorded (one per judge per case, plus the task's)."""
    input_tokens: int = 0
    """Including cache reads and writes."""
    output_tokens: int = 0
    cost_usd: float = 0.0
    unpriced_calls: int = 0

    @property
    def cost_known(self) -> bool:
        return self.unpriced_calls == 0

    def to_json(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "tokens_in": self.input_tokens,
            "tokens_out": self.output_tokens,
            "cost_usd": round(self.cost_usd, 6) if self.cost_known else None,
            "cost_usd_priced": round(self.cost_usd, 6),
            "unpriced_calls": self.unpriced_calls,
        }

    def describe(self) -> str:
        """One short line: `12 calls  3,400/1,200 tok  $0.0123` (`+ ?` when unpriced)."""
        cost = f"${self.cost_usd:,.4f}" + ("" if self.cost_known else " + ?")
        calls = f"{self.calls} call" + ("" if self.calls == 1 else "s")
        return f"{calls}  {self.input_tokens:,}/{self.output_tokens:,} tok  {cost}"
