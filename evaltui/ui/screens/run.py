"""RunScreen: one run's cases in a virtual table, with live filters and failing-case jumps."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from evaltui.core.formatting import compact, duration, percent
from evaltui.core.models import CaseRow, Run, RunIndex, RunSummary
from evaltui.core.runview import SortOrder, ViewSpec, next_failing, view_positions
from evaltui.core.textsafe import safe_line
from evaltui.store import RunStore, StoreError
from evaltui.ui.messages import StartJob
from evaltui.ui.screens.case import CaseScreen
from evaltui.ui.widgets.case_table import CaseTable

PAGE = 100
CACHE_LIMIT = 3000
THRESHOLD_STEP = 0.05


class RunScreen(Screen[None]):
    """The cases of one run. The first page shows before the run is indexed, whatever its size."""

    CSS_PATH = "run.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "space",
            "select",
            "Select",
            show=False,
            id="run.select",
            tooltip="Select or unselect the case (for J and R)",
        ),
        Binding(
            "V",
            "select_range",
            "Select range",
            show=False,
            id="run.select_range",
            tooltip="Select every case from the last selected one to the cursor",
        ),
        Binding(
            "a",
            "select_failing",
            "Select failing",
            show=False,
            id="run.select_failing",
            tooltip="Select every failing case shown (at the threshold and scorer)",
        ),
        Binding("x", "clear_selection", "Clear selection", show=False, id="run.clear_selection"),
        Binding(
            "J",
            "rejudge",
            "Re-judge",
            id="run.rejudge",
            tooltip="Re-judge the selected cases (or the one under the cursor) with a judge",
        ),
        Binding(
            "R",
            "rerun",
            "Re-run",
            show=False,
            id="run.rerun",
            tooltip="Re-run the task on the selected cases, then judge the new outputs",
        ),
        Binding(
            "f",
            "toggle_failing",
            "Fail",
            id="run.failing",
            tooltip="Show only failing cases (any score below the threshold)",
        ),
        Binding(
            "n",
            "jump_failing(1)",
            "Next",
            id="run.next_failing",
            tooltip="Jump to the next failing case",
        ),
        Binding(
            "p",
            "jump_failing(-1)",
            "Prev",
            id="run.prev_failing",
            tooltip="Jump to the previous failing case",
        ),
        Binding("t", "ask_threshold", "Thr", id="run.threshold", tooltip="Type a new threshold"),
        Binding(
            "plus",
            "nudge_threshold(1)",
            "Thr+",
            show=False,
            id="run.threshold_up",
            tooltip="Raise the threshold by 0.05",
        ),
        Binding(
            "minus",
            "nudge_threshold(-1)",
            "Thr-",
            show=False,
            id="run.threshold_down",
            tooltip="Lower the threshold by 0.05",
        ),
        Binding(
            "s",
            "cycle_scorer",
            "Scorer",
            id="run.scorer",
            tooltip="Filter and sort by one scorer (cycles through them, then all)",
        ),
        Binding(
            "o",
            "toggle_sort",
            "Sort",
            id="run.sort",
            tooltip="Sort worst score first / by idx",
        ),
        Binding(
            "slash",
            "ask_search",
            "Find",
            id="run.search",
            tooltip="Search input, output and expected (Esc clears)",
        ),
        Binding("r", "reload", "Reload", show=False, id="run.reload", tooltip="Re-read the run"),
        Binding("escape", "back", "Back", id="run.back", tooltip="Back to the runs"),
    ]

    def __init__(
        self,
        store: RunStore,
        run: Run,
        spec: ViewSpec | None = None,
        clock: Callable[[], int] | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self.clock = clock or (lambda: int(time.time() * 1000))
        self.eval_run = run
        self.spec = spec or ViewSpec(threshold=run.threshold)
        self.index: RunIndex | None = None
        self.view: list[int] = []
        self.total = 0
        self.first_ids: list[str] = []
        self.matches: set[str] | None = None
        self.summary: RunSummary | None = None
        self.rows: dict[str, CaseRow] = {}
        self._pending_pages: set[int] = set()
        self._data_version: int | None = None
        self._prompt: str | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="run-title")
        yield Static(id="run-summary")
        yield Static(id="run-filters")
        yield CaseTable(id="cases")
        yield Input(id="run-prompt")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self._show_title()
        self._show_filters()
        self.query_one(CaseTable).focus()
        self.load()
        self.set_interval(1.0, self.poll)

    # -- loading -----------------------------------------------------------------------------

    @work(exclusive=True, group="run-load")
    async def load(self) -> None:
        """First rows at once; then the run's index (ids and scores) for filters and jumps."""
        try:
            self._data_version = await self.store.data_version()
            if self.index is None:
                self.total = await self.store.count_cases(self.eval_run.id)
                failing_below = self.spec.threshold if self.spec.failing_only else None
                self.first_ids = await self.store.first_case_ids(
                    self.eval_run.id, PAGE, failing_below
                )
                self._remember(await self.store.case_rows(self.first_ids))
                self._refresh_table()
            index = await self.store.run_index(self.eval_run.id)
        except StoreError as error:
            self.notify(str(error), title="Cannot read the run", severity="error", markup=False)
            return
        self._install_index(index)
        await self._load_summary()

    def _install_index(self, index: RunIndex) -> None:
        current = self.current_case_id
        self.index = index
        self.total = len(index)
        if self.spec.scorer is not None and self.spec.scorer not in index.scorer_scores:
            self.spec = self.spec.with_(scorer=None)
        self._recompute_view(keep=current)

    async def _load_summary(self) -> None:
        """The engine's stored summary for a completed run; getRunSummary for the others."""
        if self.eval_run.status == "completed" and self.eval_run.summary is not None:
            self.summary = self.eval_run.summary
            self._show_title()
            return
        try:
            self.summary = await self.store.run_summary(self.eval_run.id, self.eval_run.threshold)
        except StoreError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        self._show_title()

    @work(group="run-rows")
    async def fetch_page(self, page: int) -> None:
        ids = [
            case_id
            for position in range(page * PAGE, min((page + 1) * PAGE, len(self.view)))
            if (case_id := self.case_id_at(position)) is not None
        ]
        try:
            rows = await self.store.case_rows(ids)
        except StoreError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        finally:
            self._pending_pages.discard(page)
        self._remember(rows)
        self.query_one(CaseTable).refresh()

    def _remember(self, rows: list[CaseRow]) -> None:
        if len(self.rows) + len(rows) > CACHE_LIMIT:
            for case_id in list(self.rows)[: len(self.rows) // 2]:
                del self.rows[case_id]
        self.rows.update((row.id, row) for row in rows)

    @work(exclusive=True, group="run-poll")
    async def poll(self) -> None:
        """A live run: reload when the writer commits (one transaction per case)."""
        try:
            version = await self.store.data_version()
        except StoreError:
            return
        if self._data_version is None or version == self._data_version:
            return
        self._data_version = version
        try:
            self.eval_run = await self.store.get_run(self.eval_run.id)
            index = await self.store.run_index(self.eval_run.id)
        except StoreError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        self.rows.clear()
        self._install_index(index)
        self._show_title()
        await self._load_summary()

    # -- rows --------------------------------------------------------------------------------

    def case_id_at(self, position: int) -> str | None:
        if self.index is not None:
            if 0 <= position < len(self.view):
                return self.index.ids[self.view[position]]
            return None
        return self.first_ids[position] if 0 <= position < len(self.first_ids) else None

    def row_at(self, position: int) -> CaseRow | None:
        case_id = self.case_id_at(position)
        return self.rows.get(case_id) if case_id is not None else None

    @property
    def current_case_id(self) -> str | None:
        return self.case_id_at(self.query_one(CaseTable).cursor)

    @on(CaseTable.RowsWanted)
    def _rows_wanted(self, event: CaseTable.RowsWanted) -> None:
        if self.index is None:
            return
        page = event.position // PAGE
        if page not in self._pending_pages:
            self._pending_pages.add(page)
            self.fetch_page(page)

    def _recompute_view(self, keep: str | None = None) -> None:
        if self.index is None:
            return
        self.view = view_positions(self.index, self.spec, self.matches)
        cursor = 0
        if keep is not None:
            ids = self.index.ids
            cursor = next((row for row, i in enumerate(self.view) if ids[i] == keep), 0)
        self._refresh_table(cursor)
        self._show_filters()

    def _refresh_table(self, cursor: int | None = None) -> None:
        table = self.query_one(CaseTable)
        if self.index is not None:
            count = len(self.view)
        else:
            count = len(self.first_ids) if self.spec.failing_only else self.total
        scorers = self.index.scorer_names if self.index is not None else self._page_scorers()
        sort_key = None
        if self.spec.sort is SortOrder.SCORE:
            sort_key = f"s:{self.spec.scorer}" if self.spec.scorer else "min"
        table.set_rows(
            count, self.row_at, scorers, self.spec.threshold, cursor=cursor, sort_key=sort_key
        )

    def _page_scorers(self) -> list[str]:
        return sorted({name for row in self.rows.values() for name in row.scores})

    # -- header lines ------------------------------------------------------------------------

    def _show_title(self) -> None:
        run = self.eval_run
        status = "stale" if run.is_stale(self.clock()) else run.status
        style = {"failed": "bold red", "stale": "bold yellow"}.get(status, "bold cyan")
        title = Text.assemble(
            safe_line(run.name, style="bold", limit=60),
            "  ",
            (status, style),
            ("  " + run.id[:8], "dim"),
        )
        self.query_one("#run-title", Static).update(title)
        self._show_summary()

    def _show_summary(self) -> None:
        parts: list[str] = []
        if self.index is not None:
            passed, failed = self.index.pass_fail(self.spec.threshold)
            rate = percent(passed / self.total) if self.total else "-"
            parts.append(f"pass {passed}  fail {failed}  of {self.total} ({rate})")
        else:
            parts.append(f"{self.total} cases")
        summary = self.summary
        if summary is not None:
            parts.append("  ".join(f"{k} {v:.2f}" for k, v in sorted(summary.mean_scores.items())))
            parts.append(
                f"{duration(summary.total_latency_ms)}  tok {compact(summary.total_tokens_in)}"
                f"/{compact(summary.total_tokens_out)}"
            )
        self.query_one("#run-summary", Static).update(safe_line("  \u00b7  ".join(parts)))

    def _show_filters(self) -> None:
        spec = self.spec
        shown = len(self.view) if self.index is not None else self.total
        parts = [f"{shown} of {self.total} cases"]
        if self.index is None:
            parts = [f"{self.total} cases (indexing\u2026)"]
        parts.append(f"threshold {spec.threshold:.2f}")
        if spec.failing_only:
            parts.append("failing only")
        if spec.scorer:
            parts.append(f"scorer {spec.scorer}")
        if spec.sort is SortOrder.SCORE:
            parts.append("worst first")
        if spec.search:
            parts.append(f"search {spec.search!r}")
        if self.query_one(CaseTable).selected:
            parts.append(
                f"{len(self.query_one(CaseTable).selected)} selected (J re-judge, R re-run)"
            )
        self.query_one("#run-filters", Static).update(safe_line("  \u00b7  ".join(parts)))
        self._show_summary()

    # -- actions -----------------------------------------------------------------------------

    def _change(self, **changes: object) -> None:
        self.spec = self.spec.with_(**changes)
        self._recompute_view(keep=self.current_case_id)

    def _needs_index(self) -> bool:
        if self.index is None:
            self.notify("Still indexing the run's scores\u2026", timeout=2)
            return True
        return False

    def action_toggle_failing(self) -> None:
        if not self._needs_index():
            self._change(failing_only=not self.spec.failing_only)

    def action_nudge_threshold(self, direction: int) -> None:
        value = round(self.spec.threshold + direction * THRESHOLD_STEP, 4)
        self._set_threshold(value)

    def _set_threshold(self, value: float) -> None:
        value = min(1.0, max(0.0, value))
        self.spec = self.spec.with_(threshold=value)
        if self.spec.failing_only:
            self._recompute_view(keep=self.current_case_id)
        else:
            self.query_one(CaseTable).set_threshold(value)
            self._show_filters()

    def action_cycle_scorer(self) -> None:
        if self._needs_index() or self.index is None:
            return
        names: list[str | None] = [None, *self.index.scorer_names]
        current = names.index(self.spec.scorer) if self.spec.scorer in names else 0
        self._change(scorer=names[(current + 1) % len(names)])

    def action_toggle_sort(self) -> None:
        if not self._needs_index():
            order = SortOrder.IDX if self.spec.sort is SortOrder.SCORE else SortOrder.SCORE
            self._change(sort=order)

    def action_jump_failing(self, step: int) -> None:
        if self._needs_index() or self.index is None:
            return
        table = self.query_one(CaseTable)
        row = next_failing(self.index, self.view, table.cursor, step, self.spec)
        if row is None:
            self.notify("No more failing cases that way", timeout=2)
        else:
            table.move_to(row)

    def action_ask_threshold(self) -> None:
        self._open_prompt("threshold", f"{self.spec.threshold:g}", "threshold 0..1, Enter")

    def action_ask_search(self) -> None:
        if not self._needs_index():
            self._open_prompt("search", self.spec.search, "search input/output/expected")

    def _open_prompt(self, mode: str, value: str, placeholder: str) -> None:
        self._prompt = mode
        prompt = self.query_one("#run-prompt", Input)
        prompt.placeholder = placeholder
        prompt.value = value
        prompt.add_class("-open")
        prompt.focus()

    def _close_prompt(self) -> None:
        self._prompt = None
        prompt = self.query_one("#run-prompt", Input)
        prompt.remove_class("-open")
        self.query_one(CaseTable).focus()

    @on(Input.Submitted, "#run-prompt")
    def _prompt_submitted(self, event: Input.Submitted) -> None:
        mode, text = self._prompt, event.value.strip()
        self._close_prompt()
        if mode == "threshold":
            try:
                value = float(text)
            except ValueError:
                self.notify(f"Not a number: {text!r}", severity="error", markup=False)
                return
            if not math.isfinite(value) or not 0 <= value <= 1:
                self.notify("The threshold must be within 0..1", severity="error")
                return
            self._set_threshold(value)
        elif mode == "search":
            self.search(text)

    @work(exclusive=True, group="run-search")
    async def search(self, text: str) -> None:
        if not text:
            self.matches = None
            self._change(search="")
            return
        self.query_one("#run-filters", Static).update(safe_line(f"searching {text!r}\u2026"))
        try:
            matches = await self.store.search_case_ids(self.eval_run.id, text)
        except StoreError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        self.matches = matches
        self._change(search=text)

    def action_back(self) -> None:
        if self._prompt is not None:
            self._close_prompt()
        elif self.spec.search:
            self.search("")
        else:
            self.dismiss()

    # -- selection and jobs ------------------------------------------------------------------

    @property
    def selected(self) -> set[str]:
        return self.query_one(CaseTable).selected

    def _selection_changed(self) -> None:
        self.query_one(CaseTable).refresh()
        self._show_filters()

    def action_select(self) -> None:
        table = self.query_one(CaseTable)
        case_id = self.case_id_at(table.cursor)
        if case_id is None:
            return
        self.selected.symmetric_difference_update({case_id})
        self._anchor = table.cursor
        table.move_to(table.cursor + 1)
        self._selection_changed()

    def action_select_range(self) -> None:
        table = self.query_one(CaseTable)
        start, end = sorted((getattr(self, "_anchor", table.cursor), table.cursor))
        for position in range(start, end + 1):
            case_id = self.case_id_at(position)
            if case_id is not None:
                self.selected.add(case_id)
        self._selection_changed()

    def action_select_failing(self) -> None:
        if self._needs_index() or self.index is None:
            return
        column = self.index.column(self.spec.scorer)
        self.selected.update(
            self.index.ids[i] for i in self.view if column[i] < self.spec.threshold
        )
        self._selection_changed()

    def action_clear_selection(self) -> None:
        self.selected.clear()
        self._selection_changed()

    def chosen_case_ids(self) -> list[str]:
        """The selection in idx order, or the case under the cursor when none is selected."""
        if self.selected:
            if self.index is None:
                return sorted(self.selected)
            order = {
                case_id: i for i, case_id in enumerate(self.index.ids) if case_id in self.selected
            }
            return sorted(self.selected, key=lambda case_id: order.get(case_id, 0))
        current = self.current_case_id
        return [current] if current is not None else []

    def action_rejudge(self) -> None:
        self._start_job("rejudge")

    def action_rerun(self) -> None:
        self._start_job("rerun")

    def _start_job(self, kind: str) -> None:
        case_ids = self.chosen_case_ids()
        if not case_ids:
            self.notify("No case to send: select some with space or a", severity="warning")
            return
        self.post_message(StartJob(self.eval_run, case_ids, kind, self.spec.threshold))

    def action_reload(self) -> None:
        self.rows.clear()
        self.index = None
        self.load()

    @on(CaseTable.Opened)
    def _open_case(self, event: CaseTable.Opened) -> None:
        if self.case_id_at(event.position) is None:
            return
        self.app.push_screen(CaseScreen(self.store, self.eval_run, self, event.position))

    # -- the case screen walks the same view -------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self.view) if self.index is not None else len(self.first_ids)

    def step_from(self, position: int, step: int, failing: bool) -> int | None:
        """The view row `step` away from `position`, or the next failing one."""
        if failing:
            if self.index is None:
                return None
            return next_failing(self.index, self.view, position, step, self.spec)
        target = position + step
        return target if 0 <= target < self.row_count else None

    def follow(self, position: int) -> None:
        """Keep the table's cursor on the case the case screen shows."""
        self.query_one(CaseTable).move_to(position)
