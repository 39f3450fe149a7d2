"""CaseTable: the cases of one run, a `VirtualTable` fed by a `RowSource`."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType

from evaltui.core.formatting import format_latency, format_score
from evaltui.core.models import CaseRow, CaseStatus, case_status
from evaltui.core.textsafe import one_line
from evaltui.ui.widgets.virtual_table import MOVE_BINDINGS, VirtualTable

RowSource = Callable[[int], CaseRow | None]

STATUS_LABEL = {
    CaseStatus.PASS: "pass",
    CaseStatus.FAIL: "FAIL",
    CaseStatus.ERROR: "ERR",
    CaseStatus.UNSCORED: "--",
}
STATUS_CLASS = {
    CaseStatus.PASS: "case-table--pass",
    CaseStatus.FAIL: "case-table--fail",
    CaseStatus.ERROR: "case-table--error",
    CaseStatus.UNSCORED: "vtable--muted",
}


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    width: int
    right: bool = False


def cell(value: str, column: Column) -> str:
    """`value` (any stored text: a scorer's name, a status) as one printable, padded cell."""
    value = one_line(value, column.width)
    return (value.rjust if column.right else value.ljust)(column.width) + " "


def two_previews(left: str, right: str, width: int) -> str:
    """Two one-line previews side by side in `width` characters."""
    half = width // 2
    return (
        one_line(left, half).ljust(half)[:half] + " " + one_line(right, width)[: width - half - 1]
    )


class CaseTable(VirtualTable):
    """Cases of one run. In: `set_rows(count, source, scorers, threshold)`."""

    COMPONENT_CLASSES: ClassVar[set[str]] = VirtualTable.COMPONENT_CLASSES | {
        "case-table--pass",
        "case-table--fail",
        "case-table--error",
        "case-table--selected",
    }

    DEFAULT_CSS = """
    CaseTable {
        & > .case-table--pass { color: $success; }
        & > .case-table--fail { color: $error; text-style: bold; }
        & > .case-table--error { color: $warning; text-style: bold; }
        & > .case-table--selected { color: $accent; text-style: bold; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        *MOVE_BINDINGS,
        Binding("enter", "open", "Open", id="run.open", tooltip="Open the case"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.scorers: list[str] = []
        self.threshold = 0.5
        self.sort_key: str | None = None
        self._source: RowSource = lambda _position: None
        self.selected: set[str] = set()
        """Ids of the cases picked for a re-judge or re-run (marked with a dot)."""

    def set_rows(
        self,
        count: int,
        source: RowSource,
        scorers: list[str],
        threshold: float,
        *,
        cursor: int | None = None,
        sort_key: str | None = None,
    ) -> None:
        self._source = source
        self.scorers = scorers
        self.threshold = threshold
        self.sort_key = sort_key
        self.set_count(count, cursor)

    def set_threshold(self, threshold: float) -> None:
        self.threshold = threshold
        self.refresh()

    def columns(self, width: int) -> tuple[list[Column], int]:
        """Fixed columns for this width, and the width left for the two previews."""
        digits = max(4, len(str(max(self.row_count - 1, 0))) + 1)
        fixed = [
            Column("idx", "#", digits, right=True),
            Column("status", "stat", 4),
            Column("min", "min", 4, right=True),
        ]
        for name in self.scorers:
            fixed.append(Column(f"s:{name}", name, min(max(4, len(name)), 8), right=True))
        fixed.append(Column("latency", "time", 6, right=True))
        if width >= 110:
            fixed.append(Column("tokens", "tok in/out", 11, right=True))
        used = sum(column.width + 1 for column in fixed)
        return fixed, max(0, width - used)

    def header_text(self, width: int) -> Text:
        columns, rest = self.columns(width)
        text = Text()
        for column in columns:
            title = column.title
            if self.sort_key and column.key == self.sort_key:
                title = f"{title}\u2191"
            text.append(cell(title, column))
        text.append(two_previews("input", "output", rest))
        return text

    def row_text(self, position: int, width: int) -> Text | None:
        row = self._source(position)
        if row is None:
            return None
        columns, rest = self.columns(width)
        status = case_status(row.min_score, row.has_error, self.threshold)
        text = Text()
        for column in columns:
            style = ""
            if column.key == "idx":
                value = ("\u25cf" if row.id in self.selected else "") + str(row.idx)
                style = "case-table--selected" if row.id in self.selected else ""
            elif column.key == "status":
                value, style = STATUS_LABEL[status], STATUS_CLASS[status]
            elif column.key == "min":
                value, style = format_score(row.min_score), self._score_class(row.min_score)
            elif column.key.startswith("s:"):
                score = row.scores.get(column.key[2:])
                value, style = format_score(score), self._score_class(score)
            elif column.key == "latency":
                value = format_latency(row.latency_ms)
            else:
                value = f"{row.tokens_in or 0}/{row.tokens_out or 0}"
            text.append(cell(value, column), style=self.style_of(style) if style else None)
        text.append(two_previews(row.input_preview, row.output_preview, rest))
        return text

    def _score_class(self, value: float | None) -> str:
        if value is None or math.isnan(value):
            return "vtable--muted"
        return "case-table--fail" if value < self.threshold else ""
