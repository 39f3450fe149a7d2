"""Which cases of a run are shown, and in which order: pure logic over a `RunIndex`.

Filters (failing only, one scorer, text matches) and the sort produce a list of positions
into the index; recomputing it for 100,000 cases takes a few milliseconds, so a threshold
change or a toggle never goes back to disk.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum

from evaltui.core.models import RunIndex


class SortOrder(StrEnum):
    IDX = "idx"
    SCORE = "score"  # worst first: by the chosen scorer, or by the case's minimum


@dataclass(frozen=True)
class ViewSpec:
    threshold: float
    failing_only: bool = False
    scorer: str | None = None
    sort: SortOrder = SortOrder.IDX
    search: str = ""

    def with_(self, **changes: object) -> ViewSpec:
        return replace(self, **changes)  # type: ignore[arg-type]


def view_positions(index: RunIndex, spec: ViewSpec, matches: set[str] | None = None) -> list[int]:
    """Positions of the index to show, in display order.

    `matches` is the set of case ids the text search found (None: no search active).
    """
    column = index.column(spec.scorer)
    positions: list[int] | range = range(len(index))
    if spec.failing_only:
        threshold = spec.threshold
        positions = [i for i in positions if column[i] < threshold]
    if matches is not None:
        ids = index.ids
        positions = [i for i in positions if ids[i] in matches]
    if spec.sort is SortOrder.SCORE:
        return sorted(positions, key=lambda i: (math.isnan(column[i]), column[i], i))
    return list(positions)


def is_failing(index: RunIndex, position: int, spec: ViewSpec) -> bool:
    return index.column(spec.scorer)[position] < spec.threshold


def next_failing(
    index: RunIndex, view: list[int], start: int, step: int, spec: ViewSpec
) -> int | None:
    """The next view row after `start` (step +1) or before it (step -1) that fails."""
    row = start + step
    while 0 <= row < len(view):
        if is_failing(index, view[row], spec):
            return row
        row += step
    return None
