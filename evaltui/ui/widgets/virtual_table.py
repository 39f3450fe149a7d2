"""VirtualTable: a header line and any number of rows, drawn line by line (Line API).

It never holds its rows: a subclass draws the row at a position when it scrolls into view,
or returns None when it has no data for it yet; then a placeholder is drawn and
`RowsWanted` asks the owner to fetch it. 10 rows or 100,000 cost the same.
"""

from __future__ import annotations

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

MOVE_BINDINGS: list[BindingType] = [
    Binding("up,k", "cursor(-1)", "Up", show=False, id="table.up"),
    Binding("down,j", "cursor(1)", "Down", show=False, id="table.down"),
    Binding("pageup", "page(-1)", "Page up", show=False, id="table.page_up"),
    Binding("pagedown", "page(1)", "Page down", show=False, id="table.page_down"),
    Binding("home,g", "jump(0)", "First row", show=False, id="table.first"),
    Binding("end,G", "jump(-1)", "Last row", show=False, id="table.last"),
]


class VirtualTable(ScrollView, can_focus=True):
    """Base of the case and diff tables. Out: Highlighted, Opened, RowsWanted."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "vtable--header",
        "vtable--cursor",
        "vtable--muted",
    }

    DEFAULT_CSS = """
    VirtualTable {
        height: 1fr;
        overflow-x: hidden;
        scrollbar-gutter: stable;
        & > .vtable--header { text-style: bold; background: $panel; }
        & > .vtable--cursor { background: $block-cursor-blurred-background; }
        & > .vtable--muted { color: $text-muted; }
    }
    VirtualTable:focus > .vtable--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = list(MOVE_BINDINGS)

    cursor: reactive[int] = reactive(0, always_update=True)

    @dataclass
    class Highlighted(Message):
        position: int

    @dataclass
    class Opened(Message):
        position: int

    @dataclass
    class RowsWanted(Message):
        """The row at `position` is on screen but there is no data for it yet."""

        position: int

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.row_count = 0

    # -- for subclasses ----------------------------------------------------------------------

    def header_text(self, width: int) -> Text:
        raise NotImplementedError

    def row_text(self, position: int, width: int) -> Text | None:
        """The row's cells as one line, or None when its data is not loaded yet."""
        raise NotImplementedError

    def style_of(self, component: str) -> Style:
        """A component class's style without its background, to lay over the row's."""
        return self.get_component_rich_style(component, partial=True)

    # -- inputs ------------------------------------------------------------------------------

    def set_count(self, count: int, cursor: int | None = None) -> None:
        """Show `count` rows; keep the cursor unless one is given."""
        self.row_count = count
        self.virtual_size = Size(self.size.width, count + 1)
        target = self.cursor if cursor is None else cursor
        self.cursor = max(0, min(target, count - 1)) if count else 0
        self.refresh()

    # -- drawing -----------------------------------------------------------------------------

    @property
    def page_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y == 0:
            header_style = self.get_component_rich_style("vtable--header")
            return self._strip(self.header_text(width), width, header_style)
        position = int(self.scroll_y) + y - 1
        if position >= self.row_count:
            return Strip.blank(width, self.rich_style)
        base = self.rich_style
        if position == self.cursor:
            base = base + self.get_component_rich_style("vtable--cursor")
        text = self.row_text(position, width)
        if text is None:
            self.post_message(self.RowsWanted(position))
            text = Text("\u2026 loading", style=self.style_of("vtable--muted"))
        return self._strip(text, width, base)

    def _strip(self, text: Text, width: int, base: Style) -> Strip:
        text.no_wrap = True
        text.end = ""
        text.truncate(width, pad=True)
        segments = [
            Segment(segment.text, base + segment.style if segment.style else base)
            for segment in text.render(self.app.console)
            if segment.text != "\n"
        ]
        return Strip(segments, width).crop(0, width)

    # -- cursor ------------------------------------------------------------------------------

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
