"""SpanTree: a trace as an expandable tree drawn line by line, with a waterfall column."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType

from evaltui.core.textsafe import one_line
from evaltui.traces.outline import Outline, OutlineRow
from evaltui.ui.widgets.case_table import Column, cell
from evaltui.ui.widgets.virtual_table import MOVE_BINDINGS, VirtualTable

KIND_TAG = {
    "agent": "agt",
    "llm": "llm",
    "tool": "tool",
    "retriever": "ret",
    "embedding": "emb",
    "chain": "chn",
    "custom": "span",
}
MAX_INDENT = 12  # levels drawn as indentation; deeper ones show their depth as a number
WATERFALL = 20


def format_ns(ns: int | None) -> str:
    if ns is None:
        return "-"
    if ns < 1_000_000:
        return f"{ns / 1000:.0f}\u00b5s"
    if ns < 1_000_000_000:
        return f"{ns / 1_000_000:.1f}ms"
    return f"{ns / 1_000_000_000:.2f}s"


def waterfall(start: int, end: int | None, trace_start: int, trace_ns: int, width: int) -> str:
    """The span's place and length within the trace as a bar of `width` cells."""
    if trace_ns <= 0 or end is None:
        return " " * width
    left = int((start - trace_start) / trace_ns * width)
    left = max(0, min(width - 1, left))
    length = max(1, round((end - start) / trace_ns * width))
    length = min(length, width - left)
    return " " * left + "\u2588" * length + " " * (width - left - length)


class SpanTree(VirtualTable):
    """In: `show(outline, rollup, trace_start, trace_end)`. Out: the VirtualTable messages."""

    COMPONENT_CLASSES: ClassVar[set[str]] = VirtualTable.COMPONENT_CLASSES | {
        "span-tree--error",
        "span-tree--kind",
        "span-tree--bar",
        "span-tree--pass",
        "span-tree--match",
    }

    DEFAULT_CSS = """
    SpanTree {
        & > .span-tree--error { color: $error; text-style: bold; }
        & > .span-tree--kind { color: $accent; }
        & > .span-tree--bar { color: $primary; }
        & > .span-tree--pass { color: $success; }
        & > .span-tree--match { text-style: underline; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        *MOVE_BINDINGS,
        Binding(
            "enter,space",
            "open",
            "Toggle",
            id="trace.toggle",
            tooltip="Expand or collapse the span (or show more children)",
        ),
        Binding("right,l", "expand", "Expand", show=False, id="trace.expand"),
        Binding(
            "left,h",
            "collapse",
            "Collapse",
            show=False,
            id="trace.collapse",
            tooltip="Collapse, or go to the parent",
        ),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.outline: Outline | None = None
        self.rollup: dict[int, tuple[int, int]] = {}
        self.matches: set[int] = set()
        self.trace_start = 0
        self.trace_ns = 0

    def show(
        self, outline: Outline, rollup: dict[int, tuple[int, int]], start: int, end: int
    ) -> None:
        self.outline = outline
        self.rollup = rollup
        self.trace_start = start
        self.trace_ns = max(0, end - start)
        self.set_count(len(outline.rows), cursor=0)

    def refresh_rows(self, cursor: int | None = None) -> None:
        if self.outline is not None:
            self.set_count(len(self.outline.rows), cursor)

    @property
    def current(self) -> OutlineRow | None:
        if self.outline is None or not 0 <= self.cursor < len(self.outline.rows):
            return None
        return self.outline.rows[self.cursor]

    def columns(self, width: int) -> tuple[list[Column], int]:
        fixed = [Column("dur", "time", 8, right=True)]
        if width >= 60:
            fixed.append(Column("bar", "waterfall", WATERFALL if width >= 100 else WATERFALL // 2))
        fixed.append(Column("scores", "scores", 9))
        return fixed, max(10, width - sum(c.width + 1 for c in fixed))

    def header_text(self, width: int) -> Text:
        columns, rest = self.columns(width)
        text = Text("span".ljust(rest)[:rest] + " ")
        for column in columns:
            text.append(cell(column.title, column))
        return text

    def row_text(self, position: int, width: int) -> Text:
        assert self.outline is not None
        row = self.outline.rows[position]
        columns, rest = self.columns(width)
        text = Text()
        indent = min(row.depth, MAX_INDENT)
        prefix = "  " * indent
        if row.depth > MAX_INDENT:
            prefix = prefix[:-4] + f"{row.depth:>3} "
        if row.node is None:
            text.append(
                f"{prefix}  \u2026 {row.hidden:,} more (enter)".ljust(rest)[:rest] + " ",
                style=self.style_of("vtable--muted"),
            )
            return text
        node = row.node
        span = node.span
        marker = "  "
        if node.children:
            marker = "\u25be " if self.outline.is_expanded(node) else "\u25b8 "
        head = Text(prefix + marker)
        head.append(
            f"{KIND_TAG.get(span.kind, span.kind)[:4]} ", style=self.style_of("span-tree--kind")
        )
        name_style = "span-tree--error" if span.status == "error" else ""
        if span.pk in self.matches:
            name_style = (name_style + " span-tree--match").strip()
        head.append(one_line(span.name, rest), style=self._styles(name_style))
        if node.children and not self.outline.is_expanded(node):
            head.append(f" ({len(node.children):,})", style=self.style_of("vtable--muted"))
        head.truncate(rest, pad=True)
        text.append_text(head)
        text.append(" ")
        for column in columns:
            if column.key == "dur":
                text.append(cell(format_ns(span.duration_ns), column))
            elif column.key == "bar":
                bar = waterfall(
                    span.start_ns, span.end_ns, self.trace_start, self.trace_ns, column.width
                )
                text.append(
                    bar + " ",
                    style=self.style_of(
                        "span-tree--error" if span.status == "error" else "span-tree--bar"
                    ),
                )
            else:
                passed, failed = self.rollup.get(span.pk, (0, 0))
                badge = Text()
                if passed:
                    badge.append(f"\u2713{passed} ", style=self.style_of("span-tree--pass"))
                if failed:
                    badge.append(f"\u2717{failed}", style=self.style_of("span-tree--error"))
                badge.truncate(column.width, pad=True)
                text.append_text(badge)
        return text

    def _styles(self, names: str) -> str | None:
        if not names:
            return None
        style = None
        for name in names.split():
            part = self.style_of(name)
            style = part if style is None else style + part
        return style  # type: ignore[return-value]

    def action_expand(self) -> None:
        row = self.current
        node = row.node if row is not None else None
        outline = self.outline
        if outline is not None and node is not None and node.children:
            expanded = outline.is_expanded(node)
            if not expanded:
                outline.toggle(node)
                self.refresh_rows()

    def action_collapse(self) -> None:
        row = self.current
        if self.outline is None or row is None:
            return
        node = row.node
        if node is not None and self.outline.is_expanded(node):
            self.outline.collapse(node)
            self.refresh_rows()
            return
        parent = self.outline.parent_of(node) if node is not None else row.parent
        if parent is not None:
            self.move_to(self.outline.row_of(parent))
