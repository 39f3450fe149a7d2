"""One run as numpy columns: what a diff needs per case, a few dozen bytes a case.

Rows are streamed in (`ColumnsBuilder`), inputs are kept only as 16-byte blake2b digests,
and `build()` sorts the cases by (idx, rowid), the order of the package's `getCases`.
"""

from __future__ import annotations

import hashlib
import math
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from evaltui.diff.models import RunTotals

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
DigestArray = npt.NDArray[np.uint64]  # shape (n, 2): a 16-byte digest per case

DIGEST_SIZE = 16

# (rowid, idx, case id, latency_ms, tokens_in, tokens_out, errored, input text)
CaseRow = tuple[int, int, str, object, object, object, object, str | None]
# (case rowid, scorer name, score)
ScoreRow = tuple[int, str, object]


def fingerprint(text: str | None) -> bytes:
    """The 16-byte blake2b digest of a case's stored `input` text."""
    data = b"" if text is None else text.encode("utf-8", "surrogatepass")
    return hashlib.blake2b(data, digest_size=DIGEST_SIZE).digest()


def _number(value: object) -> int | float | None:
    """A numeric column value as stored, None for NULL or anything non-numeric."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return None


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

    def __len__(self) -> int:
        return len(self.case_ids)

    @property
    def scorer_names(self) -> tuple[str, ...]:
        return tuple(self.scores)

    def score(self, name: str) -> FloatArray:
        """A scorer's column, all NaN when this run has no such scorer."""
        column = self.scores.get(name)
        return column if column is not None else np.full(len(self), np.nan)


class ColumnsBuilder:
    """Accumulates streamed case and score rows of one run into compact arrays."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self._rowids: array[int] = array("q")
        self._idxs: array[int] = array("q")
        self._ids: list[str] = []
        self._digests = bytearray()
        self._errored = bytearray()
        self._cost: tuple[array[float], array[float], array[float]] = (
            array("d"),
            array("d"),
            array("d"),
        )
        # getRunSummary's COALESCE(SUM(col), 0): exact integer sums of the non-NULL values.
        self._sums: list[int | float] = [0, 0, 0]
        self._score_cases: array[int] = array("q")
        self._score_codes: array[int] = array("q")
        self._score_values: array[float] = array("d")
        self._names: dict[str, int] = {}

    def add_cases(self, rows: Sequence[CaseRow]) -> None:
        """A chunk of case rows, in any order; input texts are hashed and dropped at once."""
        if not rows:
            return
        rowids, idxs, ids, latency, tokens_in, tokens_out, errored, texts = zip(*rows, strict=True)
        self._rowids.extend(rowids)
        self._idxs.extend(idxs)
        self._ids.extend(ids)
        blake2b = hashlib.blake2b
        self._digests += b"".join(
            [
                blake2b(
                    b"" if t is None else t.encode("utf-8", "surrogatepass"), digest_size=16
                ).digest()
                for t in texts
            ]
        )
        self._errored.extend([1 if flag else 0 for flag in errored])
        for i, values in enumerate((latency, tokens_in, tokens_out)):
            try:
                self._cost[i].extend(array("d", values))  # all numbers: the fast path
                self._sums[i] += sum(values)
            except TypeError:
                numbers = [_number(value) for value in values]
                self._cost[i].extend([math.nan if v is None else float(v) for v in numbers])
                self._sums[i] += sum(v for v in numbers if v is not None)

    def add_scores(self, rows: Sequence[ScoreRow]) -> None:
        """A chunk of `(case rowid, scorer name, score)` rows, in the order SQLite returns
        them: for one case, that is score rowid order (the scan of `idx_scores_case_id`)."""
        if not rows:
            return
        case_rowids, names, scores = zip(*rows, strict=True)
        try:
            values = array("d", scores)
        except TypeError:  # a NULL or text score (not the package's): drop those rows
            keep = [i for i, score in enumerate(scores) if _number(score) is not None]
            case_rowids = tuple(case_rowids[i] for i in keep)
            names = tuple(names[i] for i in keep)
            values = array("d", [float(scores[i]) for i in keep])
        codes = self._names
        for name in set(names) - codes.keys():
            codes[name] = len(codes)
        self._score_cases.extend(case_rowids)
        self._score_codes.extend([codes[name] for name in names])
        self._score_values.extend(values)

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
