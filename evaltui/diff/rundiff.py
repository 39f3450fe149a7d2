"""`RunDiff`: the summary of a diff plus its case table as columns.

Rows of the table: the paired cases (by baseline idx), then the removed ones (baseline only),
then the added ones (candidate only). Everything is vectorised; per-case models are built
only on demand (`RunDiff.case`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from evaltui.core.models import CaseStatus, case_status
from evaltui.diff.columns import FloatArray, IntArray, RunColumns
from evaltui.diff.models import (
    CaseChange,
    CaseDiff,
    CaseKind,
    Change,
    DiffFilter,
    DiffSummary,
    ErrorChange,
    Flip,
    ScorerDelta,
)

Int8Array = npt.NDArray[np.int8]
FlagArray = npt.NDArray[np.uint16]

# Row flags (`RunDiff.flags`).
REGRESSED = 1  # some scorer regressed
IMPROVED = 2  # some scorer improved
PASS_TO_FAIL = 4  # case level, at the threshold
FAIL_TO_PASS = 8
ERRORED_BASELINE = 16  # errored in the baseline only
ERRORED_CANDIDATE = 32  # errored in the candidate only
ADDED = 64
REMOVED = 128
SCORER_FLIP = 256  # some scorer flipped pass/fail

_CHANGE = {1: Change.IMPROVED, -1: Change.REGRESSED, 0: Change.UNCHANGED}
_FLIP = {-1: Flip.PASS_TO_FAIL, 1: Flip.FAIL_TO_PASS}


@dataclass(frozen=True, eq=False)
class RunDiff:
    """A diff of two runs: `summary` for the header, columns for the case table."""

    summary: DiffSummary
    baseline: RunColumns
    candidate: RunColumns
    scorer_names: tuple[str, ...]
    base_pos: IntArray  # per row, -1 when the case is not in the baseline
    cand_pos: IntArray
    base_scores: FloatArray  # (scorers, rows), NaN where absent
    cand_scores: FloatArray
    deltas: FloatArray  # (scorers, rows), compareRuns' delta; NaN on unpaired rows
    changes: Int8Array  # (scorers, rows): 1 improved, -1 regressed, 0 unchanged or unpaired
    scorer_flips: Int8Array  # (scorers, rows): -1 pass->fail, 1 fail->pass, 0 none
    flags: FlagArray
    worst: FloatArray  # lowest delta of a row; NaN on unpaired rows

    def __len__(self) -> int:
        return len(self.flags)

    @property
    def paired(self) -> int:
        return self.summary.pairing.compared

    def rows(self, only: DiffFilter = DiffFilter.ALL, scorer: str | None = None) -> IntArray:
        """Row numbers that pass the filter, worst first: lowest delta (of `scorer`, else the
        lowest over scorers), pass->fail flips first among equals, unpaired rows last."""
        flags = self.flags
        j = None if scorer is None else self.scorer_names.index(scorer)
        unpaired = (flags & (ADDED | REMOVED)) != 0
        if only == DiffFilter.ALL:
            mask = np.ones(len(flags), dtype=bool)
        elif only == DiffFilter.ADDED_REMOVED:
            mask = unpaired
        elif only == DiffFilter.ERRORED:
            mask = (flags & (ERRORED_BASELINE | ERRORED_CANDIDATE)) != 0
        elif j is not None:
            changes, flips = self.changes[j], self.scorer_flips[j]
            mask = {
                DiffFilter.CHANGED: (changes != 0) | unpaired,
                DiffFilter.REGRESSED: changes == -1,
                DiffFilter.IMPROVED: changes == 1,
                DiffFilter.FLIPS: flips != 0,
            }[only]
        else:
            bits = {
                DiffFilter.CHANGED: REGRESSED | IMPROVED | ADDED | REMOVED,
                DiffFilter.REGRESSED: REGRESSED,
                DiffFilter.IMPROVED: IMPROVED,
                DiffFilter.FLIPS: PASS_TO_FAIL | FAIL_TO_PASS,
            }[only]
            mask = (flags & bits) != 0
        key = self.worst if j is None else self.deltas[j]
        key = np.where(np.isnan(key), np.inf, key)
        drop = (flags & PASS_TO_FAIL) if j is None else (self.scorer_flips[j] == -1)
        first = np.where(drop != 0, 0, 1)
        selected = np.flatnonzero(mask)
        order = np.lexsort((selected, first[selected], key[selected]))
        return selected[order].astype(np.int64)

    def case(self, row: int) -> CaseDiff:
        """One row as a model (baseline/candidate ids, scores, deltas, flips, statuses)."""
        flags = int(self.flags[row])
        bpos, cpos = int(self.base_pos[row]), int(self.cand_pos[row])
        kind = CaseKind.ADDED if bpos < 0 else CaseKind.REMOVED if cpos < 0 else CaseKind.PAIRED
        names = self.scorer_names
        deltas: dict[str, ScorerDelta] = {}
        if kind == CaseKind.PAIRED:
            for j, name in enumerate(names):
                base, cand = float(self.base_scores[j, row]), float(self.cand_scores[j, row])
                deltas[name] = ScorerDelta(
                    baseline=0.0 if np.isnan(base) else base,
                    candidate=0.0 if np.isnan(cand) else cand,
                    delta=float(self.deltas[j, row]),
                    change=_CHANGE[int(self.changes[j, row])],
                    baseline_missing=bool(np.isnan(base)),
                    candidate_missing=bool(np.isnan(cand)),
                    flip=_FLIP.get(int(self.scorer_flips[j, row])),
                )
        threshold = self.summary.threshold
        return CaseDiff(
            row=row,
            kind=kind,
            change=_case_change(kind, flags),
            baseline_idx=int(self.baseline.idx[bpos]) if bpos >= 0 else None,
            candidate_idx=int(self.candidate.idx[cpos]) if cpos >= 0 else None,
            baseline_case_id=self.baseline.case_ids[bpos] if bpos >= 0 else None,
            candidate_case_id=self.candidate.case_ids[cpos] if cpos >= 0 else None,
            scorer_deltas=deltas,
            baseline_scores=_present(names, self.base_scores[:, row]),
            candidate_scores=_present(names, self.cand_scores[:, row]),
            baseline_status=_status(self.baseline, bpos, threshold),
            candidate_status=_status(self.candidate, cpos, threshold),
            flip=(
                Flip.PASS_TO_FAIL
                if flags & PASS_TO_FAIL
                else Flip.FAIL_TO_PASS
                if flags & FAIL_TO_PASS
                else None
            ),
            errored=_errored(self, bpos, cpos),
            worst_delta=None if np.isnan(self.worst[row]) else float(self.worst[row]),
            latency_delta_ms=_latency_delta(self, bpos, cpos),
        )


def _case_change(kind: CaseKind, flags: int) -> CaseChange:
    if kind == CaseKind.ADDED:
        return CaseChange.ADDED
    if kind == CaseKind.REMOVED:
        return CaseChange.REMOVED
    if flags & REGRESSED and flags & IMPROVED:
        return CaseChange.MIXED
    if flags & REGRESSED:
        return CaseChange.REGRESSED
    return CaseChange.IMPROVED if flags & IMPROVED else CaseChange.UNCHANGED


def _present(names: tuple[str, ...], column: FloatArray) -> dict[str, float]:
    return {name: float(v) for name, v in zip(names, column, strict=True) if not np.isnan(v)}


def _status(columns: RunColumns, pos: int, threshold: float) -> CaseStatus | None:
    if pos < 0:
        return None
    minimum = float(columns.min_scores[pos])
    return case_status(
        None if np.isnan(minimum) else minimum, bool(columns.errored[pos]), threshold
    )


def _errored(diff: RunDiff, bpos: int, cpos: int) -> ErrorChange | None:
    base = bpos >= 0 and bool(diff.baseline.errored[bpos])
    cand = cpos >= 0 and bool(diff.candidate.errored[cpos])
    if base and cand:
        return ErrorChange.BOTH
    if base:
        return ErrorChange.BASELINE_ONLY
    return ErrorChange.CANDIDATE_ONLY if cand else None


def _latency_delta(diff: RunDiff, bpos: int, cpos: int) -> float | None:
    if bpos < 0 or cpos < 0:
        return None
    delta = float(diff.candidate.latency_ms[cpos] - diff.baseline.latency_ms[bpos])
    return None if np.isnan(delta) else delta
