"""A derived run (a re-judge or re-run) against its source, on the derived run's cases only.

No regression verdict here: a re-judge measures the judges, not the system. What it shows is
the old scores and the new ones side by side, how often each new judge agrees with each of
the source's scorers (rate and Cohen's kappa), and which judge changed its mind on which case.
Pure CPU work on rows already read (`evaltui.services.derived` reads them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from evaltui.core.models import CaseRow, CaseStatus, DerivedRun, Run, case_status
from evaltui.diff.agreement import Agreement, cohen_kappa
from evaltui.diff.models import Flip

VERDICTS = (CaseStatus.PASS, CaseStatus.FAIL)


@dataclass(frozen=True)
class DerivedCase:
    """One case of the derived run beside the source case it was made from."""

    idx: int
    derived_case_id: str
    source_case_id: str | None  # None: no source case with this idx among the job's cases
    input_preview: str
    source_scores: dict[str, float]
    derived_scores: dict[str, float]
    source_status: CaseStatus | None
    derived_status: CaseStatus
    flip: Flip | None  # the case's pass/fail, source -> derived (both must have one)


@dataclass(frozen=True)
class JudgeFlip:
    """A new judge that disagrees with the source on a case: `judge` now says `flip`."""

    judge: str
    against: str  # the source's scorer of the same name, else "case" (its lowest score)
    idx: int
    flip: Flip


@dataclass(frozen=True)
class DerivedComparison:
    source: Run
    derived: Run
    info: DerivedRun
    cases: tuple[DerivedCase, ...]  # idx order
    missing: int  # cases the job was given that the derived run does not hold (yet)
    agreements: tuple[Agreement, ...]  # (source scorer, new judge) pairs with a common case
    judge_flips: tuple[JudgeFlip, ...]
    source_threshold: float
    derived_threshold: float

    @property
    def judges(self) -> list[str]:
        return _judges(self.info, self.cases)

    @property
    def source_scorers(self) -> list[str]:
        return _source_scorers(self.cases)

    @property
    def case_flips(self) -> tuple[int, int]:
        """(pass->fail, fail->pass) of whole cases."""
        down = sum(1 for case in self.cases if case.flip == Flip.PASS_TO_FAIL)
        up = sum(1 for case in self.cases if case.flip == Flip.FAIL_TO_PASS)
        return down, up

    def header(self) -> str:
        """`re-judge of <source> · 3 cases · judge exact` (plain text)."""
        info = self.info
        count = len(self.cases)
        parts = [
            f"{info.verb} of {self.source.name} {self.source.id[:8]}",
            f"{count} case{'' if count == 1 else 's'}",
        ]
        if info.task:
            parts.append(f"task {info.task}")
        judges = self.judges
        if judges:
            parts.append(f"{'judge' if len(judges) == 1 else 'judges'} {', '.join(judges)}")
        return " \u00b7 ".join(parts)


def _judges(info: DerivedRun, cases: Sequence[DerivedCase]) -> list[str]:
    """The new run's scorers: the job's judges, then any other name found in its cases."""
    names = list(info.judges)
    for case in cases:
        names += [n for n in case.derived_scores if n not in names]
    return names


def _source_scorers(cases: Sequence[DerivedCase]) -> list[str]:
    names: list[str] = []
    for case in cases:
        names += [n for n in case.source_scores if n not in names]
    return names


def _status(scores: dict[str, float], errored: bool, threshold: float) -> CaseStatus:
    return case_status(min(scores.values()) if scores else None, errored, threshold)


def _flip(before: bool | None, after: bool | None) -> Flip | None:
    if before is None or after is None or before == after:
        return None
    return Flip.PASS_TO_FAIL if before else Flip.FAIL_TO_PASS


def _verdict(status: CaseStatus | None) -> bool | None:
    """pass -> True, fail -> False, anything else (error, unscored, absent) -> None."""
    return status == CaseStatus.PASS if status in VERDICTS else None


def judge_agreement(
    cases: Sequence[DerivedCase],
    source_scorer: str,
    judge: str,
    source_threshold: float,
    derived_threshold: float,
) -> Agreement:
    """Pass/fail agreement of the source's `source_scorer` with the new `judge` over the cases
    both scored; kappa None when it is undefined (nothing compared, or both raters gave one
    verdict only: agreement by chance is then certain and says nothing)."""
    both_pass = both_fail = base_only = cand_only = 0
    disagreeing: list[int] = []
    for row, case in enumerate(cases):
        before = case.source_scores.get(source_scorer)
        after = case.derived_scores.get(judge)
        if before is None or after is None or before != before or after != after:
            continue
        was, now = before >= source_threshold, after >= derived_threshold
        if was and now:
            both_pass += 1
        elif not was and not now:
            both_fail += 1
        elif was:
            base_only += 1
        else:
            cand_only += 1
        if was != now:
            disagreeing.append(row)
    return Agreement(
        baseline_scorer=source_scorer,
        candidate_scorer=judge,
        compared=both_pass + both_fail + base_only + cand_only,
        agree=both_pass + both_fail,
        base_pass_cand_fail=base_only,
        base_fail_cand_pass=cand_only,
        kappa=cohen_kappa(both_pass, both_fail, base_only, cand_only),
        disagreeing_rows=tuple(disagreeing),
    )


def compare_derived(
    source: Run,
    derived: Run,
    info: DerivedRun,
    source_rows: Sequence[CaseRow],
    derived_rows: Sequence[CaseRow],
) -> DerivedComparison:
    """Pair each case of the derived run with the source case of the same idx (among the
    cases the job was given, when its config lists them) and compare them."""
    source_threshold, derived_threshold = source.threshold, derived.threshold
    wanted = set(info.case_ids)
    by_idx: dict[int, CaseRow] = {}
    for row in source_rows:
        if (not wanted or row.id in wanted) and row.idx not in by_idx:
            by_idx[row.idx] = row
    cases = []
    for row in sorted(derived_rows, key=lambda r: (r.idx, r.id)):
        before = by_idx.get(row.idx)
        source_status = (
            _status(before.scores, before.has_error, source_threshold) if before else None
        )
        derived_status = _status(row.scores, row.has_error, derived_threshold)
        cases.append(
            DerivedCase(
                idx=row.idx,
                derived_case_id=row.id,
                source_case_id=before.id if before else None,
                input_preview=row.input_preview or (before.input_preview if before else ""),
                source_scores=dict(before.scores) if before else {},
                derived_scores=dict(row.scores),
                source_status=source_status,
                derived_status=derived_status,
                flip=_flip(_verdict(source_status), _verdict(derived_status)),
            )
        )
    judges = _judges(info, cases)
    pairs = [
        judge_agreement(cases, scorer, judge, source_threshold, derived_threshold)
        for scorer in _source_scorers(cases)
        for judge in judges
    ]
    flips: list[JudgeFlip] = []
    for judge in judges:
        for case in cases:
            score = case.derived_scores.get(judge)
            if score is None or score != score:
                continue
            now = score >= derived_threshold
            old = case.source_scores.get(judge)
            if old is not None and old == old:
                against, was = judge, old >= source_threshold
            else:
                verdict = _verdict(case.source_status)
                if verdict is None:
                    continue
                against, was = "case", verdict
            flip = _flip(was, now)
            if flip is not None:
                flips.append(JudgeFlip(judge=judge, against=against, idx=case.idx, flip=flip))
    return DerivedComparison(
        source=source,
        derived=derived,
        info=info,
        cases=tuple(cases),
        missing=max(0, len(wanted) - len(cases)),
        agreements=tuple(pair for pair in pairs if pair.compared),
        judge_flips=tuple(flips),
        source_threshold=source_threshold,
        derived_threshold=derived_threshold,
    )
