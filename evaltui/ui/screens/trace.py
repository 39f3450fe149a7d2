"""TraceScreen: one trace as a span tree, with a detail pane for the highlighted span."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any, ClassVar

from rich.console import Group, RenderableType
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, VerticalScroll
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from evaltui.core.cachedir import new_cache_file
from evaltui.core.formatting import clip
from evaltui.core.textsafe import safe_line, safe_text
from evaltui.store import RunStore, StoreError
from evaltui.store.traces import search_spans, span_detail, trace_scores, trace_spans
from evaltui.traces.clipboard import Copied, copy_or_spill
from evaltui.traces.models import SpanDetail, SpanNode, TraceSummary
from evaltui.traces.outline import Outline
from evaltui.traces.tree import (
    build_tree,
    iter_nodes_json,
    iter_tree_json,
    problem_nodes,
    score_rollup,
    walk,
)
from evaltui.ui.widgets.span_tree import SpanTree, format_ns

WIDE = 120
DETAIL_CHARS = 4000


def pretty(text: str | None) -> str:
    """JSON text pretty-printed; anything else as it is."""
    if text is None:
        return ""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def detail_view(node: SpanNode, detail: SpanDetail | None) -> RenderableType:
    span = node.span
    parts: list[RenderableType] = [
        Text.assemble(
            safe_line(span.name, style="bold", limit=80),
            (f"  {span.kind}", "cyan"),
            (
                "  ERROR" if span.status == "error" else f"  {span.status}",
                "bold red" if span.status == "error" else "dim",
            ),
        ),
        Text(
            f"{format_ns(span.duration_ns)}"
            + (f"  model {span.model}" if span.model else "")
            + (
                f"  tokens {span.tokens_in or 0}/{span.tokens_out or 0}"
                if span.tokens_in or span.tokens_out
                else ""
            )
            + (f"  cost ${span.cost:.4f}" if span.cost is not None else ""),
            style="dim",
        ),
    ]
    if span.error:
        parts.append(safe_text(span.error, style="red"))
    for score in node.scores:
        passed = score.passed
        mark, style = (
            ("\u2713", "green")
            if passed
            else ("\u2717", "bold red")
            if passed is False
            else ("?", "dim")
        )
        value = "-" if score.score is None else f"{score.score:.2f}"
        threshold = "" if score.threshold is None else f" (threshold {score.threshold:g})"
        parts.append(
            Text.assemble(
                (f"{mark} ", style), safe_line(score.name, limit=40), f" {value}{threshold}"
            )
        )
        if score.reason:
            parts.append(safe_text("  " + score.reason, style="italic"))
    if detail is None:
        parts.append(Text("\u2026", style="dim"))
        return Group(*parts)
    sections: list[tuple[str, Any]] = [
        ("input", pretty(detail.input)),
        ("output", pretty(detail.output)),
        (
            "attributes",
            json.dumps(detail.attributes, indent=2, ensure_ascii=False)
            if detail.attributes
            else "",
        ),
        (
            "events",
            json.dumps(detail.events, indent=2, ensure_ascii=False) if detail.events else "",
        ),
    ]
    for title, body in sections:
        if not body:
            continue
        shown, cut = clip(body, chars=DETAIL_CHARS, lines=60)
        parts.append(Text(f"\n{title}", style="bold underline"))
        parts.append(safe_text(shown))
        if cut:
            parts.append(
                Text(f"  \u2026 {len(body):,} characters in all (y copies the span)", style="dim")
            )
    return Group(*parts)


class TraceScreen(Screen[None]):
    """Keys: enter toggles, e/c expand/collapse all, n/p problems, / search, y/Y copy."""

    CSS_PATH = "trace.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "expand_all", "Expand", id="trace.expand_all", tooltip="Expand every span"),
        Binding(
            "c", "collapse_all", "Collapse", id="trace.collapse_all", tooltip="Collapse every span"
        ),
        Binding(
            "n",
            "problem(1)",
            "Next",
            id="trace.next_problem",
            tooltip="Next errored or failing span",
        ),
        Binding(
            "p",
            "problem(-1)",
            "Prev",
            id="trace.prev_problem",
            tooltip="Previous errored or failing span",
        ),
        Binding(
            "slash",
            "ask_search",
            "Find",
            id="trace.search",
            tooltip="Search span names and content",
        ),
        Binding(
            "right_square_bracket", "match(1)", "Next match", show=False, id="trace.next_match"
        ),
        Binding(
            "left_square_bracket", "match(-1)", "Prev match", show=False, id="trace.prev_match"
        ),
        Binding(
            "y",
            "copy_span",
            "Copy",
            id="trace.copy_span",
            tooltip="Copy the span and its subtree as JSON",
        ),
        Binding(
            "Y",
            "copy_trace",
            "Copy trace",
            show=False,
            id="trace.copy_trace",
            tooltip="Copy the whole trace as JSON",
        ),
        Binding("escape", "back", "Back", id="trace.back"),
    ]

    def __init__(self, store: RunStore, trace: TraceSummary) -> None:
        super().__init__()
        self.store = store
        self.trace = trace
        self.roots: list[SpanNode] = []
        self.outline: Outline | None = None
        self.problems: list[SpanNode] = []
        self.matches: list[SpanNode] = []
        self._searching = False

    def compose(self) -> ComposeResult:
        yield Static(id="trace-title")
        with Container(id="trace-body"):
            yield SpanTree(id="span-tree")
            with VerticalScroll(id="span-detail"):
                yield Static(id="span-detail-text")
        yield Input(id="trace-prompt", placeholder="search span names and content, Enter")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one(SpanTree).focus()
        self._layout(self.size.width)
        self.load()

    def on_resize(self, event: Resize) -> None:
        self._layout(event.size.width)

    def _layout(self, width: int) -> None:
        self.query_one("#trace-body").set_class(width >= WIDE, "-wide")

    def _title(self) -> Text:
        trace = self.trace
        title = Text.assemble(
            ("trace ", "dim"),
            safe_line(trace.name or trace.trace_id, style="bold", limit=50),
            f"  {trace.span_count:,} spans  {format_ns(trace.duration_ns)}",
        )
        if trace.error_count:
            title.append(f"  {trace.error_count} errored", style="bold red")
        if trace.failed_score_count:
            title.append(f"  {trace.failed_score_count} failing scores", style="bold red")
        if self.problems:
            title.append("  n: next problem", style="dim")
        return title

    @work(exclusive=True, group="trace-load")
    async def load(self) -> None:
        try:
            spans = await trace_spans(self.store, self.trace.trace_id)
            scores = await trace_scores(self.store, self.trace.trace_id)
        except StoreError as error:
            self.notify(str(error), title="Cannot read the trace", severity="error", markup=False)
            return
        self.roots = await asyncio.to_thread(build_tree, spans, scores)
        self.outline = Outline(self.roots)
        self.problems = problem_nodes(self.roots)
        rollup = score_rollup(self.roots)
        start = min((span.start_ns for span in spans), default=0)
        end = max((span.end_ns or span.start_ns for span in spans), default=0)
        tree = self.query_one(SpanTree)
        tree.show(self.outline, rollup, start, end)
        self.query_one("#trace-title", Static).update(self._title())
        if tree.row_count:
            self._show_detail(0)

    @on(SpanTree.Highlighted)
    def _highlighted(self, event: SpanTree.Highlighted) -> None:
        self._show_detail(event.position)

    def _show_detail(self, position: int) -> None:
        if self.outline is None or not 0 <= position < len(self.outline.rows):
            return
        node = self.outline.rows[position].node
        if node is not None:
            self.query_one("#span-detail-text", Static).update(detail_view(node, None))
            self.load_detail(node)

    @work(exclusive=True, group="span-detail", description="load span detail")
    async def load_detail(self, node: SpanNode) -> None:
        await asyncio.sleep(0.05)  # a held arrow key does not fetch every span it passes
        try:
            detail = await span_detail(self.store, node.span.pk)
        except StoreError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        self.query_one("#span-detail-text", Static).update(detail_view(node, detail))

    @on(SpanTree.Opened)
    def _toggle(self, event: SpanTree.Opened) -> None:
        if self.outline is None:
            return
        row = self.outline.rows[event.position]
        if row.node is None:
            self.outline.show_more(row.parent)
        else:
            self.outline.toggle(row.node)
        self.query_one(SpanTree).refresh_rows()

    def action_expand_all(self) -> None:
        if self.outline is not None:
            current = self.query_one(SpanTree).current
            self.outline.expand_all()
            self._keep(current.node if current else None)

    def action_collapse_all(self) -> None:
        if self.outline is not None:
            self.outline.collapse_all()
            self.query_one(SpanTree).refresh_rows(cursor=0)

    def _keep(self, node: SpanNode | None) -> None:
        tree = self.query_one(SpanTree)
        if self.outline is None or node is None:
            tree.refresh_rows()
            return
        tree.refresh_rows(cursor=self.outline.reveal(node))

    def _jump(self, targets: list[SpanNode], step: int, what: str) -> None:
        tree = self.query_one(SpanTree)
        if self.outline is None or not targets:
            self.notify(f"No {what} in this trace", timeout=2)
            return
        order = {id(node): i for i, node in enumerate(walk(self.roots))}
        current = tree.current
        here = order.get(id(current.node), -1) if current and current.node else -1
        ahead = [n for n in targets if (order[id(n)] - here) * step > 0]
        if not ahead:
            self.notify(f"No more {what} that way", timeout=2)
            return
        target = ahead[0] if step > 0 else ahead[-1]
        tree.refresh_rows(cursor=self.outline.reveal(target))

    def action_problem(self, step: int) -> None:
        self._jump(self.problems, step, "errored or failing spans")

    def action_match(self, step: int) -> None:
        self._jump(self.matches, step, "matches")

    def action_ask_search(self) -> None:
        prompt = self.query_one("#trace-prompt", Input)
        prompt.add_class("-open")
        prompt.focus()

    @on(Input.Submitted, "#trace-prompt")
    def _search_submitted(self, event: Input.Submitted) -> None:
        prompt = self.query_one("#trace-prompt", Input)
        prompt.remove_class("-open")
        self.query_one(SpanTree).focus()
        self.search(event.value.strip())

    @work(exclusive=True, group="trace-search")
    async def search(self, needle: str) -> None:
        tree = self.query_one(SpanTree)
        if not needle:
            self.matches, tree.matches = [], set()
            tree.refresh()
            return
        try:
            pks = await search_spans(self.store, self.trace.trace_id, needle)
        except StoreError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        self.matches = [node for node in walk(self.roots) if node.span.pk in pks]
        tree.matches = pks
        self.notify(f"{len(self.matches)} spans match {needle!r} (] and [ jump)", markup=False)
        self.action_match(1)

    def action_copy_span(self) -> None:
        current = self.query_one(SpanTree).current
        if current is not None and current.node is not None:
            self.copy_json(partial(iter_nodes_json, current.node), "the span")

    def action_copy_trace(self) -> None:
        self.copy_json(partial(iter_tree_json, self.roots, trace_name=self.trace.name), "the trace")

    @work(thread=True, exclusive=True, group="trace-copy", description="copy JSON")
    def copy_json(self, pieces: Callable[[], Iterator[str]], what: str) -> None:
        """Builds the JSON off the UI loop: to the clipboard when it fits OSC 52, else to a
        file in the cache directory (`evaltui.traces.clipboard`)."""
        prefix = f"trace-{self.trace.trace_id[:16]}-"
        try:
            copied = copy_or_spill(pieces(), partial(new_cache_file, prefix, ".json"))
        except OSError as error:
            self.notify(f"Could not write {what}: {error}", severity="error", markup=False)
            return
        self.app.call_from_thread(self._copied, copied, what)

    def _copied(self, copied: Copied, what: str) -> None:
        if copied.text is not None:
            self.app.copy_to_clipboard(copied.text)
            self.notify(f"Copied {what} as JSON", timeout=2)
        else:
            self.notify(
                f"{what.capitalize()} is {copied.size:,} bytes of JSON, too big for the terminal "
                f"clipboard: written to {copied.path}",
                markup=False,
                timeout=15,
            )

    def action_back(self) -> None:
        prompt = self.query_one("#trace-prompt", Input)
        if prompt.has_class("-open"):
            prompt.remove_class("-open")
            self.query_one(SpanTree).focus()
        else:
            self.dismiss()
