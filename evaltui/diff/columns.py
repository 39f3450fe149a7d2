"""One run as numpy columns: what a diff needs per case, a few dozen bytes a case.

Rows are streamed in (`ColumnsBuilder`), inputs are kept only as 16-byte blake2b digests,
and `build()` sorts the cases by (idx, rowid), the order of the package's `getCases`.
"""

from __future__ import annotations

import hashlib
import math
from array import array
from collections.abc import Iterable, Mapping
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
# (case rowid, score rowid, scorer name, score)
ScoreRow = tuple[int, int, str, object]


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
        self._score_rowids: array[int] = array("q")
        self._score_codes: array[int] = array("q")
        self._score_values: array[float] = array("d")
        self._names: dict[str, int] = {}

    def add_cases(self, rows: Iterable[CaseRow]) -> None:
        """Case rows in any order; each input text is hashed and dropped at once."""
        sums = self._sums
        for rowid, idx, case_id, latency, tokens_in, tokens_out, errored, text in rows:
            self._rowids.append(rowid)
            self._idxs.append(idx)
            self._ids.append(case_id)
            self._digests += fingerprint(text)
            self._errored.append(1 if errored else 0)
            for i, value in enumerate((latency, tokens_in, tokens_out)):
                number = _number(value)
                if number is None:
                    self._cost[i].append(math.nan)
                else:
                    self._cost[i].append(float(number))
                    sums[i] += number

    def add_scores(self, rows: Iterable[ScoreRow]) -> None:
        names = self._names
        for case_rowid, score_rowid, name, score in rows:
            number = _number(score)
            if number is None or math.isnan(number):
                continue
            code = names.get(name)
            if code is None:
                code = names[name] = len(names)
            self._score_cases.append(case_rowid)
            self._score_rowids.append(score_rowid)
            self._score_codes.append(code)
            self._score_values.append(float(number))

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
        score_rowids = np.frombuffer(self._score_rowids, dtype=np.int64)
        codes = np.frombuffer(self._score_codes, dtype=np.int64)
        values = np.frombuffer(self._score_values, dtype=np.float64)
        # Scores name their case by rowid: map it to the case's position in idx order.
        by_rowid = np.argsort(rowids, kind="stable")
        sorted_rowids = rowids[by_rowid]
        slot = np.minimum(np.searchsorted(sorted_rowids, case_rowids), size - 1)
        known = sorted_rowids[slot] == case_rowids
        cases = position[by_rowid[slot[known]]]
        codes, values, score_rowids = codes[known], values[known], score_rowids[known]
        minimums = np.full(size, np.inf)
        np.minimum.at(minimums, cases, values)
        minimums[np.bincount(cases, minlength=size) == 0] = np.nan
        # compareRuns builds `{scorer: score}` per case: a scorer stored twice keeps its last
        # row (rowid order); names are ordered by first appearance in idx order.
        ordered = np.lexsort((score_rowids, cases))
        cases, codes, values = cases[ordered], codes[ordered], values[ordered]
        names = list(self._names)
        first = {int(code): int(i) for code, i in zip(*np.unique(codes, return_index=True))}
        columns: dict[str, FloatArray] = {}
        for code in sorted(first, key=first.__getitem__):
            mine = codes == code
            at, scored = cases[mine], values[mine]
            last = np.append(at[1:] != at[:-1], True)
            column = np.full(size, np.nan)
            column[at[last]] = scored[last]
            columns[names[code]] = column
        return columns, minimums
