"""One run as numpy columns: what a diff needs per case, a few dozen bytes a case.

Rows are streamed in (`ColumnsBuilder`, on `RunAccumulator`), inputs are kept only as 16-byte
digests (`fingerprint`), and `build()` sorts the cases by (idx, rowid), the order of the
package's `getCases`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from evaltui.diff.accumulate import (
    DIGEST_SIZE,
    CaseRow,
    RunAccumulator,
    ScoreRow,
    fingerprint,
)
from evaltui.diff.models import RunTotals

__all__ = [
    "DIGEST_SIZE",
    "BoolArray",
    "CaseRow",
    "ColumnsBuilder",
    "DigestArray",
    "FloatArray",
    "IntArray",
    "RunColumns",
    "ScoreRow",
    "fingerprint",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
DigestArray = npt.NDArray[np.uint64]  # shape (n, 2): a 16-byte digest per case


@dataclass(frozen=True, eq=False)
class RunColumns:
    """Every case of one run in (idx, rowid) order. Missing values are NaN."""

    run_id: str
    case_ids: tuple[str, ...]
    idx: IntArray
    digests: DigestArray
    errored: BoolArray
    latency_ms: FloatArray
    tokens_in: FloatArray
    tokens_out: FloatArray
    scores: Mapping[str, FloatArray]  # in compareRuns' order of first appearance
    min_scores: FloatArray  # NaN: no score at all (getRunSummary counts it nowhere)
    totals: RunTotals
    # False for a quick read (`RunAccumulator.add_keys`): digests, errored, latency/tokens
    # and totals are placeholders, only idx, ids and scores are real.
    complete: bool = True

    def __len__(self) -> int:
        return len(self.case_ids)

    @property
    def scorer_names(self) -> tuple[str, ...]:
        return tuple(self.scores)

    def score(self, name: str) -> FloatArray:
        """A scorer's column, all NaN when this run has no such scorer."""
        column = self.scores.get(name)
        return column if column is not None else np.full(len(self), np.nan)


class ColumnsBuilder(RunAccumulator):
    """Accumulates streamed case and score rows of one run (`add_cases`, `add_scores`, or a
    whole `load_state`) and lays them out as `RunColumns` (`build`)."""

    def build(self) -> RunColumns:
        """Sort by (idx, rowid) and lay the scores out per scorer (CPU work: run it off-loop)."""
        rowids = np.frombuffer(self._rowids, dtype=np.int64).copy()
        idxs = np.frombuffer(self._idxs, dtype=np.int64)
        size = len(rowids)
        order = np.lexsort((rowids, idxs))
        position = np.empty(size, dtype=np.int64)
        position[order] = np.arange(size)
        digests = np.frombuffer(bytes(self._digests), dtype=np.uint64).reshape(size, 2)
        errored = np.frombuffer(bytes(self._errored), dtype=np.uint8).astype(bool)
        scores, minimums = self._score_columns(rowids, position, size)
        latency, tokens_in, tokens_out = (np.frombuffer(c, dtype=np.float64) for c in self._cost)
        return RunColumns(
            run_id=self.run_id,
            case_ids=tuple(self._ids[i] for i in order.tolist()),
            idx=idxs[order],
            digests=digests[order],
            errored=errored[order],
            latency_ms=latency[order],
            tokens_in=tokens_in[order],
            tokens_out=tokens_out[order],
            scores=scores,
            min_scores=minimums,
            totals=RunTotals(
                cases=size,
                latency_ms=self._sums[0],
                tokens_in=self._sums[1],
                tokens_out=self._sums[2],
            ),
            complete=self.complete,
        )

    def _score_columns(
        self, rowids: IntArray, position: IntArray, size: int
    ) -> tuple[dict[str, FloatArray], FloatArray]:
        if size == 0:
            return {}, np.zeros(0)
        case_rowids = np.frombuffer(self._score_cases, dtype=np.int64)
        arrival = np.arange(len(case_rowids), dtype=np.int64)
        codes = np.frombuffer(self._score_codes, dtype=np.int64)
        values = np.frombuffer(self._score_values, dtype=np.float64)
        # Scores name their case by rowid: map it to the case's position in idx order.
        by_rowid = np.argsort(rowids, kind="stable")
        sorted_rowids = rowids[by_rowid]
        slot = np.minimum(np.searchsorted(sorted_rowids, case_rowids), size - 1)
        known = sorted_rowids[slot] == case_rowids
        cases = position[by_rowid[slot[known]]]
        codes, values, arrival = codes[known], values[known], arrival[known]
        minimums = np.full(size, np.inf)
        np.minimum.at(minimums, cases, values)
        minimums[np.bincount(cases, minlength=size) == 0] = np.nan
        # compareRuns builds `{scorer: score}` per case: a scorer stored twice keeps its last
        # row; names are ordered by first appearance in idx order.
        ordered = np.lexsort((arrival, cases))
        cases, codes, values = cases[ordered], codes[ordered], values[ordered]
        names = list(self._names)
        unique, first_at = np.unique(codes, return_index=True)
        first = dict(zip(unique.tolist(), first_at.tolist(), strict=True))
        columns: dict[str, FloatArray] = {}
        for code in sorted(first, key=first.__getitem__):
            mine = codes == code
            at, scored = cases[mine], values[mine]
            last = np.append(at[1:] != at[:-1], True)
            column = np.full(size, np.nan)
            column[at[last]] = scored[last]
            columns[names[code]] = column
        return columns, minimums
