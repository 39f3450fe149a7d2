"""RunsScreen: every suite and run of the store, newest suite first."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from evaltui.core.formatting import (
    compact,
    duration,
    means,
    percent,
    run_duration,
    sparkline,
    tokens,
    when,
)
from evaltui.core.models import Run, RunSpend, RunStatus, RunSummary
from evaltui.core.textsafe import one_line, safe_line
from evaltui.store import RunStore, StoreError
from evaltui.ui.messages import OpenDiff, OpenRun

COLUMNS = (
    ("suite", "Suite"),
    ("model", "Model"),
    ("status", "Status"),
    ("cases", "Cases"),
    ("pass", "Pass"),
    ("trend", "Trend"),
    ("means", "Mean scores"),
    ("started", "Started"),
    ("duration", "Dur"),
    ("tokens", "Tok in/out"),
    ("latency", "Latency"),
    ("id", "Run"),
)


TREND_RUNS = 8


def suite_labels(runs: list[Run]) -> dict[str | None, str]:
    """Suite names, numbered when several suites share one (the package's retries do)."""
    ids_by_name: dict[str, list[str | None]] = {}
    for run in sorted(runs, key=lambda r: r.started_at):
        name = run.suite_name or "(no suite)"
        if run.suite_id not in ids_by_name.setdefault(name, []):
            ids_by_name[name].append(run.suite_id)
    labels: dict[str | None, str] = {}
    for name, suite_ids in ids_by_name.items():
        for number, suite_id in enumerate(suite_ids, start=1):
            labels[suite_id] = name if len(suite_ids) == 1 else f"{name} #{number}"
    return labels


def order_runs(runs: list[Run]) -> list[Run]:
    """Suites newest first (by their newest run), runs newest first within a suite."""
    by_suite: dict[str | None, list[Run]] = {}
    for run in runs:
        by_suite.setdefault(run.suite_id, []).append(run)
    groups = sorted(by_suite.values(), key=lambda group: group[-1].started_at, reverse=True)
    return [run for group in groups for run in reversed(group)]


class RunsScreen(Screen[None]):
    """Suites and runs. Enter opens a run; the list refreshes when the store changes."""

    CSS_PATH = "runs.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open_run", "Open run", id="runs.open", priority=True),
        Binding(
            "b",
            "mark_baseline",
            "Baseline",
            id="runs.baseline",
            tooltip="Mark the selected run as the diff baseline (again to unmark)",
        ),
        Binding(
            "d",
            "diff",
            "Diff",
            id="runs.diff",
            tooltip="Diff: the marked baseline against the selected run; with no mark, the"
            " selected run against the next newer run of its suite (a re-judge or re-run:"
            " against its source, on its own cases)",
        ),
        Binding(
            "h",
            "toggle_derived",
            "Hide derived",
            id="runs.hide_derived",
            tooltip="Hide or show the re-judges and re-runs (derived runs) in the list",
        ),
        Binding("T", "traces", "Traces", id="runs.traces", tooltip="All traces of the store"),
        Binding("r", "reload", "Reload", id="runs.reload"),
    ]

    def __init__(self, store: RunStore, clock: Callable[[], int]) -> None:
        super().__init__()
        self.store = store
        self.clock = clock
        self.runs: list[Run] = []
        self.suite_labels: dict[str | None, str] = {}
        self.baseline: Run | None = None
        self.chronological: list[Run] = []  # listRuns' order: started_at, then insertion
        self._series: dict[tuple[str | None, str], list[Run]] = {}
        self._series_end: dict[str, int] = {}
        self.summaries: dict[str, RunSummary] = {}
        self.spend: dict[str, RunSpend] = {}  # runs evaltui judged: what judging cost
        self.hide_derived = False
        self._all_runs: list[Run] = []  # every run, in list order, derived ones included
        self._data_version: int | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="runs-title")
        table: DataTable[Text] = DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static(id="runs-status")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        self.query_one("#runs-title", Static).update(
            Text.assemble(("evaltui", "bold"), "  ", safe_line(str(self.store.path)))
        )
        self.load()
        self.set_interval(1.0, self.poll)

    @property
    def now_ms(self) -> int:
        return self.clock()

    @work(exclusive=True, group="runs-load")
    async def load(self) -> None:
        try:
            self._data_version = await self.store.data_version()
            listed = await self.store.list_runs()
            runs = order_runs(listed)
            self.spend = await self.store.run_spend([run.id for run in listed])
        except StoreError as error:
            self.notify(str(error), title="Cannot read the store", severity="error", markup=False)
            return
        self._all_runs = runs
        self.chronological = listed
        self.suite_labels = suite_labels(runs)
        self._series = {}
        self._series_end = {}
        for run in sorted(runs, key=lambda r: r.started_at):
            if run.derived is not None:  # a re-judge or re-run is not a point of the trend
                continue
            series = self._series.setdefault((run.suite_name, run.model), [])
            series.append(run)
            self._series_end[run.id] = len(series)
        self.summaries = {run.id: run.summary for run in runs if run.summary is not None}
        self._show_rows()
        await self._compute_missing_summaries()

    def _show_rows(self) -> None:
        """The table from `_all_runs`, without the derived runs while they are hidden."""
        runs = [r for r in self._all_runs if not (self.hide_derived and r.derived is not None)]
        same_rows = [run.id for run in runs] == [run.id for run in self.runs]
        selected = self.selected_run
        self.runs = runs
        if same_rows:  # a live run moved on: update cells, do not rebuild a 1,000-row table
            for run in runs:
                self._update_row(run)
        else:
            self._fill_table(selected.id if selected is not None else None)
        self._show_counts()

    async def _compute_missing_summaries(self) -> None:
        """Runs without a stored summary (running, failed) get the package's getRunSummary."""
        for run in self._all_runs:
            if run.summary is not None:
                continue
            try:
                summary = await self.store.run_summary(run.id, run.threshold)
            except StoreError as error:
                self.notify(str(error), severity="error", markup=False)
                return
            self.summaries[run.id] = summary
            self._update_row(run)

    def _fill_table(self, selected_id: str | None) -> None:
        table = self.query_one(DataTable)
        table.clear()
        for row, run in enumerate(self.runs):
            table.add_row(*self._cells(run), key=run.id)
            if run.id == selected_id:
                table.move_cursor(row=row)

    def _show_counts(self) -> None:
        counts = dict.fromkeys(("completed", "running", "failed", "stale"), 0)
        for run in self.runs:
            key = "stale" if run.is_stale(self.now_ms) else run.status
            counts[key] = counts.get(key, 0) + 1
        suites = len({run.suite_id for run in self.runs})
        status = f"{suites} suites, {len(self.runs)} runs"
        details = ", ".join(f"{n} {name}" for name, n in counts.items() if n)
        derived = sum(1 for run in self._all_runs if run.derived is not None)
        if derived:
            state = "hidden: h shows them" if self.hide_derived else "h hides them"
            details += f"; {derived} re-judged/re-run ({state})"
        if self.baseline is not None:
            details += f"; baseline {self.baseline.id[:8]}: press d on a candidate"
        line = f"{status} ({details})" if details else status
        selected = self.selected_run
        spend = self.spend.get(selected.id) if selected is not None else None
        if selected is not None and spend is not None:  # first: the line is clipped at 80
            line = f"{selected.id[:8]} judging: {spend.describe()} | {line}"
        self.query_one("#runs-status", Static).update(line)

    @on(DataTable.RowHighlighted)
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self.spend:
            self._show_counts()

    def _update_row(self, run: Run) -> None:
        table = self.query_one(DataTable)
        if run.id not in table.rows:  # a hidden derived run
            return
        for (key, _), cell in zip(COLUMNS, self._cells(run), strict=True):
            table.update_cell(run.id, key, cell)

    def _cells(self, run: Run) -> list[Text]:
        summary = self.summaries.get(run.id)
        if run.is_stale(self.now_ms):
            status = Text("stale", style="bold yellow")
        elif run.status == RunStatus.FAILED:
            status = Text("failed", style="bold red")
        elif run.status == RunStatus.RUNNING:
            status = Text("running", style="bold cyan")
        else:
            status = Text(run.status)
        pending = Text("\u2026", style="dim")
        return [
            self._suite_cell(run),
            safe_line(run.model, limit=24),
            status,
            Text(compact(summary.total_cases), justify="right") if summary else pending,
            Text(percent(summary.pass_rate), justify="right") if summary else pending,
            Text(self.trend(run), style="cyan"),
            safe_line(means(summary)) if summary else pending,
            Text(when(run.started_at)),
            Text(run_duration(run, self.now_ms) if run.finished_at else duration(None)),
            Text(tokens(summary)) if summary else pending,
            Text(duration(summary.total_latency_ms)) if summary else pending,
            self._run_label(run),
        ]

    def _suite_cell(self, run: Run) -> Text:
        """The suite's label; a derived run's says what it is (`qa ↳ re-judge`)."""
        cell = safe_line(self.suite_labels.get(run.suite_id, "?"), limit=28)
        if run.derived is not None:
            cell.append(f" \u21b3 {run.derived.verb}", style="italic magenta")
        return cell

    def trend(self, run: Run) -> str:
        """Pass rate of the last runs of the same suite name and model, up to this one
        (re-judges and re-runs are not points of it, and show no trend)."""
        if run.derived is not None:
            return ""
        series = self._series.get((run.suite_name, run.model), [])
        end = self._series_end.get(run.id, len(series))
        rates = []
        for other in series[max(0, end - TREND_RUNS) : end]:
            summary = self.summaries.get(other.id)
            rates.append(summary.pass_rate if summary is not None else None)
        return sparkline(rates)

    def _run_label(self, run: Run) -> Text:
        """The id prefix, plus what a derived run was made from (`re-judge of 1a2b3c4d, 3
        cases, judge exact`), else the run's name when it is not the usual `suite [model]`."""
        label = Text(run.id[:8], style="dim")
        if self.baseline is not None and self.baseline.id == run.id:
            label = Text.assemble(("BASE ", "bold reverse"), label)
        if run.derived is not None:
            label.append(" ")
            label.append_text(safe_line(run.derived.label(), style="italic magenta", limit=60))
        elif run.name != f"{run.suite_name} [{run.model}]":
            label.append(" ")
            label.append_text(safe_line(run.name, limit=40))
        return label

    @property
    def selected_run(self) -> Run | None:
        table = self.query_one(DataTable)
        if not self.runs or table.cursor_row < 0 or table.cursor_row >= len(self.runs):
            return None
        return self.runs[table.cursor_row]

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open_run()

    def action_open_run(self) -> None:
        run = self.selected_run
        if run is not None:
            self.post_message(OpenRun(run))

    def action_reload(self) -> None:
        self.load()

    def action_toggle_derived(self) -> None:
        self.hide_derived = not self.hide_derived
        self._show_rows()

    def action_traces(self) -> None:
        from evaltui.ui.screens.traces import TracesScreen

        self.app.push_screen(TracesScreen(self.store))

    def action_mark_baseline(self) -> None:
        run = self.selected_run
        if run is None:
            return
        previous, self.baseline = self.baseline, None if self.baseline == run else run
        for changed in {r.id: r for r in (previous, run) if r is not None}.values():
            self._update_row(changed)
        if self.baseline is not None:
            self.notify(
                f"Baseline: {one_line(run.name, 80)} ({run.id[:8]}); press d on a candidate",
                markup=False,
            )
        self._show_counts()

    def action_diff(self) -> None:
        run = self.selected_run
        if run is None:
            return
        if self.baseline is not None and self.baseline.id != run.id:
            self.post_message(OpenDiff(self.baseline, run))
            return
        if run.derived is not None:  # against its source, on its own cases
            from evaltui.ui.screens.derived import DerivedScreen

            source_id = run.derived.source_run_id
            source = next((r for r in self._all_runs if r.id == source_id), None)
            self.app.push_screen(DerivedScreen(self.store, run, source))
            return
        newer = self.next_in_suite(run)
        if newer is None:
            self.notify(
                "No newer run of this suite: mark a baseline with b, then press d on a candidate",
                severity="warning",
            )
            return
        self.post_message(OpenDiff(run, newer))

    def next_in_suite(self, run: Run) -> Run | None:
        """The next newer run with the same suite name (the default candidate); re-judges
        and re-runs are skipped (`d` on one of them compares it with its source)."""
        ids = [other.id for other in self.chronological]
        start = ids.index(run.id) + 1 if run.id in ids else len(ids)
        return next(
            (
                other
                for other in self.chronological[start:]
                if other.suite_name == run.suite_name and other.derived is None
            ),
            None,
        )

    @work(exclusive=True, group="runs-poll")
    async def poll(self) -> None:
        """Reload when another process committed to the store (a live run)."""
        if not self.is_current:
            return
        try:
            version = await self.store.data_version()
        except StoreError:
            return
        if self._data_version is not None and version != self._data_version:
            self.load()
