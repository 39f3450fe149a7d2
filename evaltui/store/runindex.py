"""Build a `RunIndex` from streamed `(idx, case_id, scorer_name, score, score_rowid)` rows.

Rows arrive in chunks and go straight into compact columns, so a 100,000-case run with
300,000 scores never exists as a list of tuples. Values come as stored: anything that is not
what the package writes is typed by `evaltui.store.decode.Values` (and counted there).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable

from evaltui.core.models import RunIndex
from evaltui.store.decode import Tally, Values

# (idx, case id, scorer name, score, score rowid: None when the case has no score)
Row = tuple[object, object, object, object, int | None]


class RunIndexBuilder:
    """Accumulates cases in arrival order; `finish()` sorts them by (idx, id)."""

    def __init__(self, values: Values | None = None) -> None:
        self.values = values or Values(Tally(), None)
        self.ids: list[str] = []
        self.idxs: array[int] = array("q")
        self.minimums: array[float] = array("d")
        self.by_scorer: dict[str, array[float]] = {}
        self.position: dict[str, int] = {}

    def add(self, rows: Iterable[Row]) -> None:
        nan = math.nan
        position = self.position
        values = self.values
        for idx, case_id, scorer, score, score_rowid in rows:
            if type(case_id) is not str:
                case_id = values.text(case_id, ("case", case_id, "id"))
            i = position.get(case_id)
            if i is None:
                i = position[case_id] = len(self.ids)
                self.ids.append(case_id)
                self.idxs.append(
                    idx if type(idx) is int else values.integer(idx, ("case", case_id, "idx"))
                )
                self.minimums.append(nan)
                for column in self.by_scorer.values():
                    column.append(nan)
            if score_rowid is None:
                continue  # a case without scores
            if type(scorer) is not str:
                scorer = values.text(scorer, ("score", case_id, scorer, "scorer_name"))
            if type(score) is not float:
                score = values.score(score, ("score", case_id, scorer, "score"))
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
