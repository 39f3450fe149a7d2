"""Frozen models of a run diff: options, per-scorer statistics, one case, the summary."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from evaltui.core.models import DEFAULT_THRESHOLD, CaseStatus, Run

DEFAULT_TOLERANCE = 0.01  # compareRuns' default
DEFAULT_REGRESSION_THRESHOLD = 0.05  # compareRuns' default
DEFAULT_RESAMPLES = 1000
DEFAULT_SEED = 0
DEFAULT_CONFIDENCE = 0.95
DEFAULT_ALPHA = 0.05


class PairBy(StrEnum):
    """How cases of the two runs are matched."""

    AUTO = "auto"  # idx, unless the inputs at some common idx differ: then input
    IDX = "idx"  # compareRuns: the same `idx` value
    INPUT = "input"  # the same `cases.input` text; duplicates paired in idx order


class Change(StrEnum):
    """compareRuns' `ChangeType`."""

    IMPROVED = "improved"
    REGRESSED = "regressed"
    UNCHANGED = "unchanged"


class Flip(StrEnum):
    PASS_TO_FAIL = "pass_to_fail"
    FAIL_TO_PASS = "fail_to_pass"


class CaseKind(StrEnum):
    PAIRED = "paired"
    ADDED = "added"  # in the candidate only
    REMOVED = "removed"  # in the baseline only


class CaseChange(StrEnum):
    """A case's change over all its scorers."""

    REGRESSED = "regressed"  # some scorer regressed, none improved
    IMPROVED = "improved"  # some scorer improved, none regressed
    MIXED = "mixed"  # some scorers improved and others regressed
    UNCHANGED = "unchanged"
    ADDED = "added"
    REMOVED = "removed"


class ErrorChange(StrEnum):
    BASELINE_ONLY = "baseline_only"
    CANDIDATE_ONLY = "candidate_only"
    BOTH = "both"


class Verdict(StrEnum):
    """What a difference means; the rule is in `evaltui.diff.stats.scorer_verdict`."""

    REGRESSION = "regression"  # a regression beyond noise
    POSSIBLE_REGRESSION = "possible_regression"  # compareRuns' rule fires, but within noise
    IMPROVEMENT = "improvement"  # an improvement beyond noise
    NO_CHANGE = "no_change"  # nothing beyond noise
    NOT_COMPARED = "not_compared"  # no scorer is in both runs: nothing to judge by


class DiffFilter(StrEnum):
    """Row filters of the case table (`RunDiff.rows`)."""

    ALL = "all"
    CHANGED = "changed"  # any scorer improved or regressed, or added/removed
    REGRESSED = "regressed"
    IMPROVED = "improved"
    FLIPS = "flips"  # a pass/fail flip at the threshold
    ADDED_REMOVED = "added_removed"
    ERRORED = "errored"  # errored in one run only


class Model(BaseModel):
    """Frozen pydantic models; `Run` (a dataclass of evaltui.core) is held as it is."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)


class DiffOptions(Model):
    tolerance: float = Field(default=DEFAULT_TOLERANCE, ge=0)
    regression_threshold: float = Field(default=DEFAULT_REGRESSION_THRESHOLD, ge=0)
    pair_by: PairBy = PairBy.AUTO
    threshold: float | None = None  # None: the baseline's config.threshold, else 0.5
    resamples: int = Field(default=DEFAULT_RESAMPLES, ge=0)  # 0: no confidence intervals
    confidence: float = Field(default=DEFAULT_CONFIDENCE, gt=0, lt=1)
    seed: int = DEFAULT_SEED
    alpha: float = Field(default=DEFAULT_ALPHA, gt=0, lt=1)


class Pairing(Model):
    requested: PairBy
    used: PairBy  # IDX or INPUT
    mismatched_inputs: int  # common idx values whose inputs differ
    compared: int
    added: int
    removed: int
    reason: str


class ConfidenceInterval(Model):
    """A percentile bootstrap interval of the mean delta (None bounds: nothing compared)."""

    low: float | None
    high: float | None
    level: float = DEFAULT_CONFIDENCE
    resamples: int = DEFAULT_RESAMPLES
    seed: int = DEFAULT_SEED


class FlipCounts(Model):
    """Pass/fail flips of paired cases, with the exact two-sided McNemar p-value."""

    pass_to_fail: int
    fail_to_pass: int
    p_value: float


class ScorerSummary(Model):
    name: str
    mean_delta: float  # compareRuns' meanDelta (missing score = 0)
    improved: int
    regressed: int
    unchanged: int
    exceeds: bool  # compareRuns: meanDelta < -regressionThreshold
    baseline_mean: float | None  # over the compared cases, missing = 0
    candidate_mean: float | None
    missing_baseline: int  # compared cases without this score in the baseline
    missing_candidate: int
    ci: ConfidenceInterval
    flips: FlipCounts
    verdict: Verdict


class RunTotals(Model):
    """getRunSummary's sums over every case of a run."""

    cases: int
    latency_ms: int | float
    tokens_in: int | float
    tokens_out: int | float


class CostDelta(Model):
    """compareRuns' costDelta: candidate minus baseline of getRunSummary's totals."""

    latency_delta_ms: int | float
    token_in_delta: int | float
    token_out_delta: int | float
    baseline: RunTotals
    candidate: RunTotals


class ContextDifference(Model):
    """Something that should be held fixed but differs, as baseline -> candidate."""

    key: str  # suite, model, prompt, scorers, threshold, cases, config.<key>
    baseline: str | None  # None: absent
    candidate: str | None


class NotCompared(Model):
    """A scorer of one run only: compareRuns counts its missing scores as 0; evaltui leaves
    it out of the verdict."""

    scorer: str
    only_in: str  # "baseline" or "candidate"


class DiffSummary(Model):
    baseline: Run
    candidate: Run
    options: DiffOptions
    threshold: float = DEFAULT_THRESHOLD
    pairing: Pairing
    scorers: tuple[ScorerSummary, ...]  # compareRuns' order of scorer names
    case_flips: FlipCounts  # case level: min score < threshold (getRunSummary's rule)
    regressed_cases: int  # paired cases with a regressed scorer (mixed included)
    improved_cases: int
    errored_baseline_only: int
    errored_candidate_only: int
    cost: CostDelta
    context: tuple[ContextDifference, ...]
    regressed: bool  # compareRuns' regression.regressed
    verdict: Verdict
    verdict_reason: str
    not_compared: tuple[NotCompared, ...] = ()  # scorers of one run only
    regressed_compared: bool = False  # compareRuns' rule over the scorers of both runs only
    derived_candidate: bool = False  # the candidate is a re-judge or re-run (of any run)

    @property
    def outside_derived(self) -> int:
        """Baseline cases the derived candidate was never given (not `removed`)."""
        return self.pairing.removed if self.derived_candidate else 0

    @property
    def removed(self) -> int:
        """Baseline cases missing from the candidate (none, for a derived candidate)."""
        return 0 if self.derived_candidate else self.pairing.removed

    def is_compared(self, scorer: str) -> bool:
        return all(item.scorer != scorer for item in self.not_compared)

    @property
    def total_cases_compared(self) -> int:
        return self.pairing.compared

    def scorer(self, name: str) -> ScorerSummary:
        return next(summary for summary in self.scorers if summary.name == name)


class ScorerDelta(Model):
    baseline: float  # compareRuns' value: a missing score counts as 0
    candidate: float
    delta: float
    change: Change
    baseline_missing: bool = False
    candidate_missing: bool = False
    flip: Flip | None = None


class CaseDiff(Model):
    """One row of the diff, built on demand (`RunDiff.case`)."""

    row: int
    kind: CaseKind
    change: CaseChange
    baseline_idx: int | None
    candidate_idx: int | None
    baseline_case_id: str | None
    candidate_case_id: str | None
    scorer_deltas: dict[str, ScorerDelta]  # empty for added/removed cases
    baseline_scores: dict[str, float]  # as stored (absent scorers left out)
    candidate_scores: dict[str, float]
    baseline_status: CaseStatus | None
    candidate_status: CaseStatus | None
    flip: Flip | None  # case level, at the threshold
    errored: ErrorChange | None
    worst_delta: float | None  # lowest scorer delta (None: not paired or no scorer)
    latency_delta_ms: float | None
