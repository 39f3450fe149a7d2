"""DiffScreen: a baseline and a candidate run, the verdict, per-scorer statistics, and the
paired cases worst first."""

from __future__ import annotations

import asyncio
import contextlib
from typing import ClassVar

import numpy as np
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Static

from evaltui.core.formatting import duration
from evaltui.core.models import Run
from evaltui.core.textsafe import safe_line
from evaltui.diff import CaseDiff, DiffFilter, DiffOptions, RunDiff, Verdict
from evaltui.services.compare import diff_runs, quick_diff_runs
from evaltui.store import RunStore, StoreError
from evaltui.ui.screens.diff_case import DiffCaseScreen
from evaltui.ui.widgets.diff_table import DiffTable, signed

FILTERS = (
    DiffFilter.ALL,
    DiffFilter.CHANGED,
    DiffFilter.REGRESSED,
    DiffFilter.FLIPS,
    DiffFilter.IMPROVED,
    DiffFilter.ADDED_REMOVED,
    DiffFilter.ERRORED,
)
VERDICT_STYLE = {
    Verdict.REGRESSION: ("REGRESSION", "bold white on red"),
    Verdict.POSSIBLE_REGRESSION: ("POSSIBLE REGRESSION (within noise)", "bold black on yellow"),
    Verdict.IMPROVEMENT: ("IMPROVEMENT", "bold black on green"),
    Verdict.NO_CHANGE: ("NO CHANGE beyond noise", "bold"),
    Verdict.NOT_COMPARED: ("NOT COMPARED", "bold"),
}
PREVIEW_PAGE = 100
CHECKING = "checking\u2026"
PAINT_WAIT = 0.5  # s: at most this long for the first look to be painted before checking


def is_quick(diff: RunDiff) -> bool:
    """A first look (`quick_diff_runs`): pairing, CIs, cost and errors not yet known."""
    return not (diff.baseline.complete and diff.candidate.complete)


def scorer_table(diff: RunDiff) -> Table:
    table = Table(box=None, padding=(0, 1, 0, 0), header_style="bold", expand=False)
    for title in (
        "scorer",
        "\u0394mean",
        "95% CI",
        "\u2191",
        "\u2193",
        "=",
        "P\u2192F",
        "F\u2192P",
        "p",
    ):
        table.add_column(title, justify="left" if title == "scorer" else "right")
    for scorer in diff.summary.scorers:
        ci = scorer.ci
        interval = (
            CHECKING
            if is_quick(diff)
            else "-"
            if ci.low is None or ci.high is None
            else f"{signed(ci.low)}..{signed(ci.high)}"
        )
        compared = diff.summary.is_compared(scorer.name)
        style = "bold red" if compared and scorer.verdict == Verdict.REGRESSION else ""
        name = safe_line(scorer.name, limit=16)
        if not compared:
            name.append(" not compared", style="dim")
        table.add_row(
            name,
            Text(signed(scorer.mean_delta), style=style),
            interval,
            str(scorer.improved),
            str(scorer.regressed),
            str(scorer.unchanged),
            str(scorer.flips.pass_to_fail),
            str(scorer.flips.fail_to_pass),
            f"{scorer.flips.p_value:.2g}",
        )
    return table


class DiffScreen(Screen[None]):
    """Keys: f cycles the row filter, s the scorer, w swaps the runs, enter opens a pair."""

    CSS_PATH = "diff.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "f",
            "cycle_filter",
            "Filter",
            id="diff.filter",
            tooltip="Cycle the row filter: all, changed, regressed, flips, improved,"
            " added/removed, errored",
        ),
        Binding(
            "s",
            "cycle_scorer",
            "Scorer",
            id="diff.scorer",
            tooltip="Filter and sort by one scorer (cycles, then all)",
        ),
        Binding("w", "swap", "Swap", id="diff.swap", tooltip="Swap baseline and candidate"),
        Binding(
            "a",
            "agreement",
            "Agreement",
            id="diff.agreement",
            tooltip="Judge agreement: how often each scorer of one run agrees with each of the"
            " other on pass/fail, with Cohen's kappa",
        ),
        Binding("escape", "back", "Back", id="diff.back", tooltip="Back to the runs"),
    ]

    def __init__(self, store: RunStore, baseline: Run, candidate: Run) -> None:
        super().__init__()
        self.store = store
        self.baseline = baseline
        self.candidate = candidate
        self.diff: RunDiff | None = None
        self.filter = DiffFilter.ALL
        self.scorer: str | None = None
        self.rows = np.zeros(0, dtype=np.int64)
        self.previews: dict[str, str] = {}
        self._pending: set[int] = set()

    def compose(self) -> ComposeResult:
        yield Static(id="diff-title")
        yield Static(id="diff-verdict")
        yield Static(id="diff-context")
        yield Static(id="diff-scorers")
        yield Static(id="diff-cost")
        yield Static(id="diff-filters")
        yield DiffTable(id="diff-table")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one(DiffTable).focus()
        self.load()

    def _title(self) -> Text:
        return Text.assemble(
            ("base ", "dim"),
            safe_line(self.baseline.name, style="bold", limit=34),
            (f" {self.baseline.id[:8]}", "dim"),
            ("  \u2192  cand ", "dim"),
            safe_line(self.candidate.name, style="bold", limit=34),
            (f" {self.candidate.id[:8]}", "dim"),
        )

    @work(exclusive=True, group="diff-load")
    async def load(self) -> None:
        """Two stages: a quick first look (idx, ids and scores only, paired by idx, no
        confidence intervals) painted at once, then the full diff (input pairing check,
        cost, errors, CIs), which replaces it."""
        self.query_one("#diff-title", Static).update(self._title())
        self.query_one("#diff-verdict", Static).update(Text("comparing\u2026", style="dim"))
        self.previews.clear()
        try:
            quick = await quick_diff_runs(self.store, self.baseline, self.candidate)
        except StoreError as error:
            self.notify(str(error), title="Cannot compare", severity="error", markup=False)
            return
        self.diff = quick
        self._show_summary(quick)
        self._apply()
        # Let the first look be painted before the full read takes the CPUs.
        painted = asyncio.Event()
        self.call_after_refresh(painted.set)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(painted.wait(), PAINT_WAIT)
        try:
            diff = await diff_runs(self.store, self.baseline, self.candidate, DiffOptions())
        except StoreError as error:
            self.notify(str(error), title="Cannot compare", severity="error", markup=False)
            return
        self._replace(diff)

    def _replace(self, diff: RunDiff) -> None:
        """Show the full diff in place of the first look, on the cursor's case if it moved."""
        table = self.query_one(DiffTable)
        keep = self.case_at(table.cursor) if table.cursor > 0 else None
        previous = self.diff
        self.diff = diff
        self._show_summary(diff)
        self._apply()
        if keep is not None:
            position = self._position_of(keep)
            if position is not None:
                table.move_to(position)
        pairing = diff.summary.pairing
        if previous is not None and pairing.used != previous.summary.pairing.used:
            self.notify(
                f"Paired by {pairing.used.value}, not idx: {pairing.reason}",
                title="Pairing changed",
                severity="warning",
                markup=False,
            )

    def _position_of(self, case: CaseDiff) -> int | None:
        """Where the case (by its candidate, else baseline, case id) is in the rows now."""
        diff = self.diff
        if diff is None:
            return None
        for case_id, columns, positions in (
            (case.candidate_case_id, diff.candidate, diff.cand_pos),
            (case.baseline_case_id, diff.baseline, diff.base_pos),
        ):
            if case_id is None:
                continue
            try:
                at = columns.case_ids.index(case_id)
            except ValueError:
                continue
            rows = np.flatnonzero(positions == at)
            if len(rows):
                found = np.flatnonzero(self.rows == rows[0])
                if len(found):
                    return int(found[0])
        return None

    def _show_summary(self, diff: RunDiff) -> None:
        summary = diff.summary
        quick = is_quick(diff)
        word, style = VERDICT_STYLE[summary.verdict]
        verdict = Text.assemble((f" {word} ", style), " ")
        if quick:
            verdict.append("provisional: pairing and CIs still being checked\u2026 ", style="dim")
        verdict.append_text(safe_line(summary.verdict_reason, limit=300))
        if summary.regressed_compared:
            verdict.append("  compareRuns: regressed", style="red")
        elif summary.regressed:
            verdict.append(
                "  compareRuns: regressed only through a scorer of one run (not compared)",
                style="dim",
            )
        self.query_one("#diff-verdict", Static).update(verdict)
        context = self.query_one("#diff-context", Static)
        if summary.context:
            changes = "  \u00b7  ".join(
                f"{c.key} {c.baseline or '-'} \u2192 {c.candidate or '-'}" for c in summary.context
            )
            context.update(
                Text.assemble(("not held fixed: ", "bold yellow"), safe_line(changes, limit=400))
            )
            context.display = True
        else:
            context.display = False
        self.query_one("#diff-scorers", Static).update(scorer_table(diff))
        if quick:
            line = f"cost \u0394 {CHECKING}  \u00b7  pairing {CHECKING}"
            self.query_one("#diff-cost", Static).update(safe_line(line, limit=400))
            return
        cost = summary.cost
        pairing = summary.pairing
        sign = "+" if cost.latency_delta_ms >= 0 else "-"
        line = (
            f"cost \u0394 latency {sign}{duration(abs(int(cost.latency_delta_ms)))}"
            f"  tokens in {int(cost.token_in_delta):+,}  out {int(cost.token_out_delta):+,}"
            f"  \u00b7  paired by {pairing.used.value}: {pairing.compared} compared,"
            f" {pairing.added} added, {summary.removed} removed"
        )
        if summary.derived_candidate:
            line += f", {summary.outside_derived} not in the derived run"
        if pairing.used != pairing.requested or pairing.mismatched_inputs:
            line += f" ({pairing.reason})"
        self.query_one("#diff-cost", Static).update(safe_line(line, limit=400))

    def _apply(self) -> None:
        if self.diff is None:
            return
        quick = is_quick(self.diff)
        if quick and self.filter == DiffFilter.ERRORED:  # errors are not read yet
            self.rows = self.rows[:0]
            count = CHECKING
        else:
            self.rows = self.diff.rows(self.filter, self.scorer)
            count = f"{len(self.rows)} of {len(self.diff)} rows"
        scorers = [self.scorer] if self.scorer else list(self.diff.scorer_names)
        self.query_one(DiffTable).set_rows(len(self.rows), self.row_at, scorers)
        parts = [count, f"filter {self.filter.value}"]
        if self.scorer:
            parts.append(f"scorer {self.scorer}")
        parts.append("worst first")
        self.query_one("#diff-filters", Static).update(safe_line("  \u00b7  ".join(parts)))

    def case_at(self, position: int) -> CaseDiff | None:
        if self.diff is None or not 0 <= position < len(self.rows):
            return None
        return self.diff.case(int(self.rows[position]))

    def row_at(self, position: int) -> tuple[CaseDiff, str | None] | None:
        case = self.case_at(position)
        if case is None:
            return None
        case_id = case.candidate_case_id or case.baseline_case_id
        return case, self.previews.get(case_id or "")

    @on(DiffTable.RowsWanted)
    def _rows_wanted(self, event: DiffTable.RowsWanted) -> None:
        if self.diff is None:
            return
        page = event.position // PREVIEW_PAGE
        if page not in self._pending:
            self._pending.add(page)
            self.fetch_previews(page)

    @work(group="diff-previews")
    async def fetch_previews(self, page: int) -> None:
        ids = []
        for position in range(page * PREVIEW_PAGE, min((page + 1) * PREVIEW_PAGE, len(self.rows))):
            case = self.case_at(position)
            if case is not None:
                case_id = case.candidate_case_id or case.baseline_case_id
                if case_id is not None:
                    ids.append(case_id)
        try:
            rows = await self.store.case_rows(ids)
        except StoreError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        finally:
            self._pending.discard(page)
        self.previews.update({row.id: row.input_preview for row in rows})
        self.query_one(DiffTable).refresh()

    def action_cycle_filter(self) -> None:
        self.filter = FILTERS[(FILTERS.index(self.filter) + 1) % len(FILTERS)]
        self._apply()

    def action_cycle_scorer(self) -> None:
        if self.diff is None:
            return
        names: list[str | None] = [None, *self.diff.scorer_names]
        self.scorer = names[(names.index(self.scorer) + 1) % len(names)]
        self._apply()

    def action_swap(self) -> None:
        self.baseline, self.candidate = self.candidate, self.baseline
        self.diff = None
        self.rows = self.rows[:0]
        self.query_one(DiffTable).set_count(0)
        self.load()

    def action_back(self) -> None:
        self.dismiss()

    def _checking(self) -> bool:
        """True (and says so) while only the first look is shown: its pairing may change."""
        if self.diff is not None and is_quick(self.diff):
            self.notify("Still checking the pairing\u2026", timeout=2)
            return True
        return False

    def action_agreement(self) -> None:
        from evaltui.ui.screens.agreement import AgreementScreen

        if self.diff is not None and not self._checking():
            self.app.push_screen(AgreementScreen(self.diff, self.diff.summary.threshold))

    @on(DiffTable.Opened)
    def _open(self, event: DiffTable.Opened) -> None:
        if (
            self.diff is not None
            and self.case_at(event.position) is not None
            and not self._checking()
        ):
            self.app.push_screen(DiffCaseScreen(self.store, self, event.position))

    def follow(self, position: int) -> None:
        self.query_one(DiffTable).move_to(position)

    @property
    def threshold(self) -> float:
        return self.diff.summary.threshold if self.diff is not None else 0.5
