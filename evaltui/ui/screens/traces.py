"""TracesScreen: a list of traces (all, one run's, or one case's), newest first."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from evaltui.core.formatting import when
from evaltui.core.textsafe import safe_line
from evaltui.store import RunStore, StoreError
from evaltui.store.traces import list_traces, traces_for_case
from evaltui.traces.models import TraceSummary
from evaltui.ui.screens.trace import TraceScreen
from evaltui.ui.widgets.span_tree import format_ns

LIMIT = 1000  # a table, not a virtual list: beyond this, narrow by run or case


class TracesScreen(Screen[None]):
    """Traces to open; `case_id` or `run_id` narrows the list."""

    CSS_PATH = "traces.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open_trace", "Open trace", id="traces.open", priority=True),
        Binding(
            "u",
            "toggle_unlinked",
            "Unlinked only",
            id="traces.unlinked",
            tooltip="Show only traces not linked to a case",
        ),
        Binding("escape", "back", "Back", id="traces.back"),
    ]

    def __init__(
        self, store: RunStore, *, case_id: str | None = None, title: str = "traces"
    ) -> None:
        super().__init__()
        self.store = store
        self.case_id = case_id
        self.title_text = title
        self.traces: list[TraceSummary] = []
        self.unlinked_only = False

    def compose(self) -> ComposeResult:
        yield Static(id="traces-title")
        table: DataTable[Text] = DataTable(id="traces-table", cursor_type="row", zebra_stripes=True)
        yield table
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label in ("Name", "Source", "Spans", "Errors", "Failed", "Duration", "Started", "Case"):
            table.add_column(label)
        self.load()

    @work(exclusive=True, group="traces-load")
    async def load(self) -> None:
        try:
            if self.case_id is not None:
                traces = await traces_for_case(self.store, self.case_id)
            else:
                traces = await list_traces(
                    self.store, unlinked_only=self.unlinked_only, limit=LIMIT + 1
                )
        except StoreError as error:
            self.notify(str(error), title="Cannot read traces", severity="error", markup=False)
            return
        more = len(traces) > LIMIT
        self.traces = traces[:LIMIT]
        table = self.query_one(DataTable)
        table.clear()
        for trace in self.traces:
            table.add_row(
                safe_line(trace.name or trace.trace_id, limit=40),
                Text(trace.source),
                Text(f"{trace.span_count:,}", justify="right"),
                Text(
                    str(trace.error_count),
                    style="bold red" if trace.error_count else "",
                    justify="right",
                ),
                Text(
                    str(trace.failed_score_count),
                    style="bold red" if trace.failed_score_count else "",
                    justify="right",
                ),
                Text(format_ns(trace.duration_ns)),
                Text(when(trace.start_ns // 1_000_000 if trace.start_ns else None)),
                Text(trace.case_label()),
            )
        note = f"{len(self.traces)} traces" + (f" (the newest {LIMIT})" if more else "")
        if self.unlinked_only:
            note += ", not linked to a case"
        self.query_one("#traces-title", Static).update(
            Text.assemble(safe_line(self.title_text, style="bold", limit=60), f"  {note}")
        )
        if not self.traces:
            self.notify("No traces here: import some with `evaltui import FILE`", timeout=4)

    def action_open_trace(self) -> None:
        table = self.query_one(DataTable)
        if 0 <= table.cursor_row < len(self.traces):
            self.app.push_screen(TraceScreen(self.store, self.traces[table.cursor_row]))

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open_trace()

    def action_toggle_unlinked(self) -> None:
        if self.case_id is None:
            self.unlinked_only = not self.unlinked_only
            self.load()

    def action_back(self) -> None:
        self.dismiss()
