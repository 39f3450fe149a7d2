"""The case and score rows of one run, streamed into compact buffers. Standard library only.

`ColumnsBuilder` turns the buffers into numpy columns. The worker process that reads the
second run of a diff (`evaltui.store.runload`) fills a `RunAccumulator` and ships it back
with `state()` / `from_state()`; it imports this module by path, so nothing here may import
more than the standard library.
"""

from __future__ import annotations

import hashlib
import math
from array import array
from collections.abc import Sequence
from typing import Any

DIGEST_SIZE = 16

# (rowid, idx, case id, latency_ms, tokens_in, tokens_out, errored, input text or its bytes)
CaseRow = tuple[int, int, str, object, object, object, object, str | bytes | None]
# (case rowid, scorer name, score)
ScoreRow = tuple[int, str, object]


def _input_bytes(value: object) -> bytes:
    """The bytes a digest is taken of: the stored UTF-8 of a text (what `CAST(input AS BLOB)`
    returns, so a blob read and a text read give the same digest), b"" for NULL."""
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8", "surrogatepass")


def fingerprint(text: str | bytes | None) -> bytes:
    """The 16-byte digest of a case's stored `input` (text, or its UTF-8 bytes): SHA-1,
    truncated. Only equality matters (no adversary), and OpenSSL's SHA-1 hashes these
    ~1 KB texts about 1.5x as fast as blake2b (CPU SHA extensions where present)."""
    return hashlib.sha1(_input_bytes(text), usedforsecurity=False).digest()[:DIGEST_SIZE]


def _number(value: object) -> int | float | None:
    """A numeric column value as stored, None for NULL or anything non-numeric."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return None


class RunAccumulator:
    """Accumulates streamed case and score rows of one run into compact buffers."""

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
        # False once `add_keys` was used: no input digests, costs or error flags (a quick
        # first look at a diff, paired by idx).
        self.complete = True

    def add_keys(self, rows: Sequence[tuple[int, int, str]]) -> None:
        """A chunk of `(rowid, idx, case id)` rows only: what lies before a case's big text
        columns. Digests are zeros, costs NaN and error flags unset; `complete` turns False."""
        self.complete = False
        if not rows:
            return
        rowids, idxs, ids = zip(*rows, strict=True)
        self._rowids.extend(rowids)
        self._idxs.extend(idxs)
        self._ids.extend(ids)
        self._digests += bytes(DIGEST_SIZE * len(rows))
        self._errored += bytes(len(rows))
        nan = array("d", [math.nan]) * len(rows)
        for column in self._cost:
            column.extend(nan)

    def add_cases(self, rows: Sequence[CaseRow]) -> None:
        """A chunk of case rows, in any order; inputs are hashed and dropped at once."""
        if not rows:
            return
        rowids, idxs, ids, latency, tokens_in, tokens_out, errored, texts = zip(*rows, strict=True)
        self._rowids.extend(rowids)
        self._idxs.extend(idxs)
        self._ids.extend(ids)
        sha1, size = hashlib.sha1, DIGEST_SIZE
        try:  # bytes, as `evaltui.store.runload` reads them
            digests = [sha1(text, usedforsecurity=False).digest()[:size] for text in texts]
        except TypeError:  # a NULL input, or texts
            digests = [fingerprint(text) for text in texts]
        self._digests += b"".join(digests)
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

    def state(self) -> dict[str, Any]:
        """Everything accumulated, as plain picklable values (bytes, lists, numbers)."""
        return {
            "run_id": self.run_id,
            "rowids": self._rowids.tobytes(),
            "idxs": self._idxs.tobytes(),
            "ids": self._ids,
            "digests": bytes(self._digests),
            "errored": bytes(self._errored),
            "cost": [column.tobytes() for column in self._cost],
            "sums": list(self._sums),
            "score_cases": self._score_cases.tobytes(),
            "score_codes": self._score_codes.tobytes(),
            "score_values": self._score_values.tobytes(),
            "names": list(self._names),
            "complete": self.complete,
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Take over a `state()` (of another process); this accumulator must be empty."""

        def filled(typecode: str, data: bytes) -> array[Any]:
            values = array(typecode)
            values.frombytes(data)
            return values

        self.run_id = state["run_id"]
        self._rowids = filled("q", state["rowids"])
        self._idxs = filled("q", state["idxs"])
        self._ids = list(state["ids"])
        self._digests = bytearray(state["digests"])
        self._errored = bytearray(state["errored"])
        latency, tokens_in, tokens_out = (filled("d", data) for data in state["cost"])
        self._cost = (latency, tokens_in, tokens_out)
        self._sums = list(state["sums"])
        self._score_cases = filled("q", state["score_cases"])
        self._score_codes = filled("q", state["score_codes"])
        self._score_values = filled("d", state["score_values"])
        self._names = {name: code for code, name in enumerate(state["names"])}
        self.complete = bool(state.get("complete", True))
