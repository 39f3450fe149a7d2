"""DiffTable: the paired cases of two runs, worst first, as a `VirtualTable`."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType

from evaltui.core.textsafe import one_line
from evaltui.diff import CaseChange, CaseDiff, Change, Flip
from evaltui.ui.widgets.case_table import Column, cell
from evaltui.ui.widgets.virtual_table import MOVE_BINDINGS, VirtualTable

DiffRowSource = Callable[[int], tuple[CaseDiff, str | None] | None]

CHANGE_LABEL = {
    CaseChange.REGRESSED: ("regr", "diff-table--worse"),
    CaseChange.IMPROVED: ("impr", "diff-table--better"),
    CaseChange.MIXED: ("mixd", "diff-table--mixed"),
    CaseChange.UNCHANGED: ("same", "vtable--muted"),
    CaseChange.ADDED: ("+add", "diff-table--mixed"),
    CaseChange.REMOVED: ("-del", "diff-table--mixed"),
}
FLIP_LABEL = {
    Flip.PASS_TO_FAIL: ("P\u2192F", "diff-table--worse"),
    Flip.FAIL_TO_PASS: ("F\u2192P", "diff-table--better"),
}


def signed(value: float) -> str:
    text = f"{value:+.2f}"
    return text.replace("0.", ".", 1) if abs(value) < 1 else text


class DiffTable(VirtualTable):
    """Rows of a run diff. In: `set_rows(count, source, scorers)`."""

    COMPONENT_CLASSES: ClassVar[set[str]] = VirtualTable.COMPONENT_CLASSES | {
        "diff-table--worse",
        "diff-table--better",
        "diff-table--mixed",
    }

    DEFAULT_CSS = """
    DiffTable {
        & > .diff-table--worse { color: $error; text-style: bold; }
        & > .diff-table--better { color: $success; }
        & > .diff-table--mixed { color: $warning; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        *MOVE_BINDINGS,
        Binding("enter", "open", "Open", id="diff.open", tooltip="Compare the two cases"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.scorers: list[str] = []
        self._source: DiffRowSource | None = None

    def set_rows(self, count: int, source: DiffRowSource, scorers: list[str]) -> None:
        self._source = source
        self.scorers = scorers
        self.set_count(count, cursor=0)

    def columns(self, width: int) -> tuple[list[Column], int]:
        fixed = [
            Column("idx", "idx", 7, right=True),
            Column("change", "chg", 4),
            Column("flip", "flip", 4),
        ]
        for name in self.scorers:
            fixed.append(Column(f"d:{name}", f"\u0394{name}", min(max(5, len(name) + 1), 9), True))
        used = sum(column.width + 1 for column in fixed)
        return fixed, max(0, width - used)

    def header_text(self, width: int) -> Text:
        columns, rest = self.columns(width)
        text = Text()
        for column in columns:
            text.append(cell(column.title, column))
        text.append("input"[:rest])
        return text

    def row_text(self, position: int, width: int) -> Text | None:
        row = self._source(position) if self._source is not None else None
        if row is None:
            return None
        case, preview = row
        columns, rest = self.columns(width)
        text = Text()
        for column in columns:
            style = ""
            if column.key == "idx":
                value = _idx_label(case)
            elif column.key == "change":
                value, style = CHANGE_LABEL[case.change]
            elif column.key == "flip":
                value, style = FLIP_LABEL[case.flip] if case.flip else ("", "")
            else:
                delta = case.scorer_deltas.get(column.key[2:])
                if delta is None:
                    value, style = "", ""
                else:
                    value = signed(delta.delta)
                    style = {
                        Change.REGRESSED: "diff-table--worse",
                        Change.IMPROVED: "diff-table--better",
                        Change.UNCHANGED: "vtable--muted",
                    }[delta.change]
            text.append(cell(value, column), style=self.style_of(style) if style else None)
        if preview is None:  # scores are in memory; the input preview is fetched
            self.post_message(self.RowsWanted(position))
            text.append("\u2026", style=self.style_of("vtable--muted"))
        else:
            text.append(one_line(preview, rest))
        return text


def _idx_label(case: CaseDiff) -> str:
    base, cand = case.baseline_idx, case.candidate_idx
    if base is None:
        return f"+{cand}"
    if cand is None:
        return f"-{base}"
    return str(base) if base == cand else f"{base}\u2192{cand}"
