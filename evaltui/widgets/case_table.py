"""CaseTable: a virtual table of cases drawn line by line (Textual's Line API).

It never holds the run: it knows how many rows there are and asks a `RowSource` for the
row at a position when that row scrolls into view, so 10 cases and 100,000 cost the same.
Rows the source does not have yet are drawn as placeholders and requested with `RowsWanted`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from evaltui.formatting import format_latency, format_score
from evaltui.models import CaseRow, CaseStatus, case_status
from evaltui.textsafe import one_line

RowSource = Callable[[int], CaseRow | None]

STATUS_LABEL = {
    CaseStatus.PASS: "pass",
    CaseStatus.FAIL: "FAIL",
    CaseStatus.ERROR: "ERR",
    CaseStatus.UNSCORED: "--",
}


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    width: int
    right: bool = False


class CaseTable(ScrollView, can_focus=True):
    """Cases of one run. In: `set_rows(count, source)`. Out: Highlighted, Opened, RowsWanted."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "case-table--header",
        "case-table--cursor",
        "case-table--pass",
        "case-table--fail",
        "case-table--error",
        "case-table--muted",
    }

    DEFAULT_CSS = """
    CaseTable {
        height: 1fr;
        overflow-x: hidden;
        scrollbar-gutter: stable;
        & > .case-table--header { text-style: bold; background: $panel; }
        & > .case-table--cursor { background: $block-cursor-blurred-background; }
        & > .case-table--pass { color: $success; }
        & > .case-table--fail { color: $error; text-style: bold; }
        & > .case-table--error { color: $warning; text-style: bold; }
        & > .case-table--muted { color: $text-muted; }
    }
    CaseTable:focus > .case-table--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False, id="table.up"),
        Binding("down,j", "cursor(1)", "Down", show=False, id="table.down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="table.page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="table.page_down"),
        Binding("home,g", "jump(0)", "First case", show=False, id="table.first"),
        Binding("end,G", "jump(-1)", "Last case", show=False, id="table.last"),
        Binding("enter", "open", "Open", id="run.open", tooltip="Open the case"),
    ]

    cursor: reactive[int] = reactive(0, always_update=True)

    @dataclass
    class Highlighted(Message):
        position: int

    @dataclass
    class Opened(Message):
        position: int

    @dataclass
    class RowsWanted(Message):
        """The row at `position` is on screen but the source had none for it."""

        position: int

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.row_count = 0
        self.scorers: list[str] = []
        self.threshold = 0.5
        self.sort_key: str | None = None
        self._source: RowSource = lambda _position: None

    # -- inputs ----------------------------------------------------------------------------

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
        """Show `count` rows drawn from `source`; keep the cursor unless one is given."""
        self.row_count = count
        self._source = source
        self.scorers = scorers
        self.threshold = threshold
        self.sort_key = sort_key
        self.virtual_size = Size(self.size.width, count + 1)
        target = self.cursor if cursor is None else cursor
        self.cursor = max(0, min(target, count - 1)) if count else 0
        self.refresh()

    def set_threshold(self, threshold: float) -> None:
        self.threshold = threshold
        self.refresh()

    # -- geometry ----------------------------------------------------------------------------

    @property
    def page_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

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

    def _cells(self, row: CaseRow, columns: list[Column]) -> list[tuple[str, str]]:
        status = case_status(row.min_score, row.has_error, self.threshold)
        cells: list[tuple[str, str]] = []
        for column in columns:
            style = ""
            if column.key == "idx":
                text = str(row.idx)
            elif column.key == "status":
                text = STATUS_LABEL[status]
                style = {
                    CaseStatus.PASS: "case-table--pass",
                    CaseStatus.FAIL: "case-table--fail",
                    CaseStatus.ERROR: "case-table--error",
                    CaseStatus.UNSCORED: "case-table--muted",
                }[status]
            elif column.key == "min":
                text = format_score(row.min_score)
                style = self._score_style(row.min_score)
            elif column.key.startswith("s:"):
                value = row.scores.get(column.key[2:])
                text = format_score(value)
                style = self._score_style(value)
            elif column.key == "latency":
                text = format_latency(row.latency_ms)
            else:
                text = f"{row.tokens_in or 0}/{row.tokens_out or 0}"
            cells.append((text, style))
        return cells

    def _score_style(self, value: float | None) -> str:
        if value is None or math.isnan(value):
            return "case-table--muted"
        return "case-table--fail" if value < self.threshold else ""

    # -- drawing -----------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        columns, rest = self.columns(width)
        if y == 0:
            return self._header(columns, rest, width)
        position = int(self.scroll_y) + y - 1
        if position >= self.row_count:
            return Strip.blank(width, self.rich_style)
        row = self._source(position)
        if row is None:
            self.post_message(self.RowsWanted(position))
        return self._row_strip(position, row, columns, rest, width)

    def _header(self, columns: list[Column], rest: int, width: int) -> Strip:
        style = self.get_component_rich_style("case-table--header")
        text = Text(style=style, no_wrap=True, end="")
        for column in columns:
            title = column.title
            if self.sort_key and column.key == self.sort_key:
                title = f"{title}\u2191"
            cell = title[: column.width]
            text.append((cell.rjust if column.right else cell.ljust)(column.width) + " ")
        half = rest // 2
        text.append("input".ljust(half)[:half] + " " + "output".ljust(rest - half - 1))
        return self._strip(text, width, style)

    def _row_strip(
        self,
        position: int,
        row: CaseRow | None,
        columns: list[Column],
        rest: int,
        width: int,
    ) -> Strip:
        base = self.rich_style
        if position == self.cursor:
            base = base + self.get_component_rich_style("case-table--cursor")
        text = Text(no_wrap=True, end="")
        if row is None:
            text.append(
                "\u2026 loading",
                style=self.get_component_rich_style("case-table--muted", partial=True),
            )
            return self._strip(text, width, base)
        for column, (value, style_class) in zip(columns, self._cells(row, columns), strict=True):
            cell = value[: column.width]
            padded = (cell.rjust if column.right else cell.ljust)(column.width)
            style = (
                self.get_component_rich_style(style_class, partial=True) if style_class else None
            )
            text.append(padded, style=style)
            text.append(" ")
        half = rest // 2
        text.append(one_line(row.input_preview, half).ljust(half)[:half] + " ")
        text.append(one_line(row.output_preview, rest).ljust(rest - half - 1)[: rest - half - 1])
        return self._strip(text, width, base)

    def _strip(self, text: Text, width: int, base: Style) -> Strip:
        text.truncate(width, pad=True)
        segments = [
            Segment(segment.text, base + segment.style if segment.style else base)
            for segment in text.render(self.app.console)
            if segment.text != "\n"
        ]
        return Strip(segments, width).crop(0, width)

    # -- actions -----------------------------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        if self.row_count:
            self._scroll_to_cursor()
            self.post_message(self.Highlighted(new))
        self.refresh()

    def _scroll_to_cursor(self) -> None:
        top = int(self.scroll_y)
        rows = self.page_rows
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + rows:
            self.scroll_to(y=self.cursor - rows + 1, animate=False, immediate=True)

    def move_to(self, position: int) -> None:
        if self.row_count:
            self.cursor = max(0, min(position, self.row_count - 1))

    def action_cursor(self, delta: int) -> None:
        self.move_to(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self.move_to(self.cursor + direction * self.page_rows)

    def action_jump(self, where: int) -> None:
        self.move_to(self.row_count - 1 if where < 0 else where)

    def action_open(self) -> None:
        if self.row_count:
            self.post_message(self.Opened(self.cursor))

    def on_click(self, event: Click) -> None:
        if event.y == 0:
            return
        position = int(self.scroll_y) + event.y - 1
        if position < self.row_count:
            if position == self.cursor and event.chain >= 2:
                self.action_open()
            self.cursor = position
