"""Build a `RunIndex` from streamed `(idx, case_id, scorer_name, score)` rows.

Rows arrive in chunks and go straight into compact columns, so a 100,000-case run with
300,000 scores never exists as a list of tuples.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable

from evaltui.core.models import RunIndex

Row = tuple[int, str, str | None, float | None]


class RunIndexBuilder:
    """Accumulates cases in arrival order; `finish()` sorts them by (idx, id)."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.idxs: array[int] = array("q")
        self.minimums: array[float] = array("d")
        self.by_scorer: dict[str, array[float]] = {}
        self.position: dict[str, int] = {}

    def add(self, rows: Iterable[Row]) -> None:
        nan = math.nan
        position = self.position
        for idx, case_id, scorer, score in rows:
            i = position.get(case_id)
            if i is None:
                i = position[case_id] = len(self.ids)
                self.ids.append(case_id)
                self.idxs.append(idx)
                self.minimums.append(nan)
                for values in self.by_scorer.values():
                    values.append(nan)
            if scorer is None or score is None:
                continue
            found = self.by_scorer.get(scorer)
            if found is None:
                found = self.by_scorer[scorer] = array("d", [nan]) * len(self.ids)
            column = found
            # A scorer stored twice for one case keeps its lowest score (any row below fails).
            if not column[i] <= score:
                column[i] = score
            if not self.minimums[i] <= score:
                self.minimums[i] = score

    def finish(self) -> RunIndex:
        ids, idxs = self.ids, self.idxs
        order = sorted(range(len(ids)), key=lambda i: (idxs[i], ids[i]))
        self.position.clear()
        return RunIndex(
            ids=[ids[i] for i in order],
            idxs=array("q", [idxs[i] for i in order]),
            min_scores=array("d", [self.minimums[i] for i in order]),
            scorer_scores={
                name: array("d", [column[i] for i in order])
                for name, column in self.by_scorer.items()
            },
        )


def build_run_index(rows: Iterable[Row]) -> RunIndex:
    builder = RunIndexBuilder()
    builder.add(rows)
    return builder.finish()
