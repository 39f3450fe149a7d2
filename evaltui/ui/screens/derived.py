"""DerivedScreen: a re-judge or re-run beside its source, on the re-judged cases only.

The old scores and the new ones side by side, each new judge's agreement with the source's
scorers (rate and Cohen's kappa) and which judge changed its mind on which case. No
regression verdict: the derived run never had the source's other cases or scorers.
"""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from evaltui.core.formatting import format_score
from evaltui.core.models import CaseStatus, Run
from evaltui.core.textsafe import safe_line
from evaltui.diff.derived import DerivedCase, DerivedComparison
from evaltui.diff.models import Flip
from evaltui.services.derived import load_derived_comparison
from evaltui.store import RunStore, StoreError

SHOW_CASES = 2000  # rows put in the table (flips first); the rest are counted
SHOW_FLIPS = 12  # cases listed per judge in the flips line
FLIP_WORD = {Flip.PASS_TO_FAIL: "pass\u2192fail", Flip.FAIL_TO_PASS: "fail\u2192pass"}
STATUS_MARK = {
    CaseStatus.PASS: ("\u2713", "green"),
    CaseStatus.FAIL: ("\u2717", "bold red"),
    CaseStatus.ERROR: ("E", "bold yellow"),
    CaseStatus.UNSCORED: ("?", "dim"),
}
COLUMNS = (
    ("idx", "idx"),
    ("flip", "Flip"),
    ("source", "Source scores"),
    ("derived", "New scores"),
    ("input", "Input"),
)


def kappa_text(kappa: float | None) -> str:
    """Cohen's kappa to two places; an undefined one is a dash, never 1.00."""
    return "\u2014" if kappa is None else f"{kappa:.2f}"


def agreement_table(comparison: DerivedComparison) -> Table:
    table = Table(box=None, padding=(0, 1, 0, 0), header_style="bold")
    for title in ("source scorer", "new judge", "cases", "agree", "rate", "kappa", "P/F", "F/P"):
        table.add_column(title, justify="left" if " " in title else "right")
    for pair in comparison.agreements:
        table.add_row(
            safe_line(pair.baseline_scorer, limit=20),
            safe_line(pair.candidate_scorer, limit=20),
            str(pair.compared),
            str(pair.agree),
            "-" if pair.rate is None else f"{pair.rate:.0%}",
            kappa_text(pair.kappa),
            str(pair.base_pass_cand_fail),
            str(pair.base_fail_cand_pass),
        )
    return table


def flips_text(comparison: DerivedComparison) -> Text:
    """Per new judge, the cases on which it disagrees with the source."""
    text = Text()
    by_judge: dict[tuple[str, str], list[str]] = {}
    for flip in comparison.judge_flips:
        by_judge.setdefault((flip.judge, flip.against), []).append(
            f"#{flip.idx} {FLIP_WORD[flip.flip]}"
        )
    for (judge, against), items in by_judge.items():
        versus = "the source's case verdict" if against == "case" else f"the source's {against}"
        shown = ", ".join(items[:SHOW_FLIPS])
        more = len(items) - SHOW_FLIPS
        text.append_text(safe_line(judge, style="bold", limit=30))
        text.append(" changed its mind vs ")
        text.append_text(safe_line(versus, limit=60))
        text.append(f": {shown}" + (f" (+{more} more)" if more > 0 else "") + "\n")
    if not text.plain:
        if comparison.cases:
            text.append(
                "No verdict flips against the source's own verdicts (its scorer of the same"
                " name, else the case's); each source scorer is compared in the table above."
            )
        else:
            text.append("No case of this run has been saved yet.")
    return text


def _scores(scores: dict[str, float], threshold: float) -> Text:
    text = Text()
    for n, (name, value) in enumerate(sorted(scores.items())):
        if n:
            text.append("  ")
        text.append_text(safe_line(name, limit=16))
        style = "red" if value < threshold else ""
        text.append(f" {format_score(value)}", style=style)
    return text if scores else Text("-", style="dim")


def _mark(status: CaseStatus | None) -> Text:
    if status is None:
        return Text("\u00b7", style="dim")
    symbol, style = STATUS_MARK[status]
    return Text(symbol, style=style)


class DerivedScreen(Screen[None]):
    """A derived run against its source on its own cases: scores, agreement, flips."""

    CSS_PATH = "derived.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "f",
            "toggle_flips",
            "Flips only",
            id="derived.flips",
            tooltip="Show only the cases whose pass/fail flipped (again: every case)",
        ),
        Binding("escape", "back", "Back", id="derived.back", tooltip="Back"),
    ]

    def __init__(self, store: RunStore, derived: Run, source: Run | None = None) -> None:
        super().__init__()
        self.store = store
        self.derived = derived
        self.source = source
        self.comparison: DerivedComparison | None = None
        self.flips_only = False

    def compose(self) -> ComposeResult:
        yield Static(id="derived-title")
        yield Static(id="derived-note")
        yield Static(id="derived-agreement")
        yield Static(id="derived-flips")
        yield Static(id="derived-count")
        table: DataTable[Text] = DataTable(id="derived-table", cursor_type="row")
        yield table
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        info = self.derived.derived
        title = info.label() if info is not None else self.derived.name
        self.query_one("#derived-title", Static).update(safe_line(title, style="bold"))
        self.query_one("#derived-note", Static).update(Text("comparing\u2026", style="dim"))
        table.focus()
        self.load()

    @work(exclusive=True, group="derived-load")
    async def load(self) -> None:
        try:
            comparison = await load_derived_comparison(self.store, self.derived, self.source)
        except StoreError as error:
            self.notify(str(error), title="Cannot compare", severity="error", markup=False)
            self.query_one("#derived-note", Static).update(safe_line(str(error)))
            return
        self.comparison = comparison
        self._show(comparison)

    def _show(self, comparison: DerivedComparison) -> None:
        self.query_one("#derived-title", Static).update(
            safe_line(comparison.header(), style="bold", limit=300)
        )
        down, up = comparison.case_flips
        thresholds = (
            f"threshold {comparison.derived_threshold:g}"
            if comparison.source_threshold == comparison.derived_threshold
            else f"thresholds: source {comparison.source_threshold:g},"
            f" new {comparison.derived_threshold:g}"
        )
        note = (
            f"Compared on these cases only, no regression verdict: the {comparison.info.verb}"
            f" never had the source's other cases or scorers. Cases pass\u2192fail {down},"
            f" fail\u2192pass {up}; {thresholds}."
        )
        if comparison.missing:
            note += f" {comparison.missing} of the job's cases are not in the run (yet)."
        self.query_one("#derived-note", Static).update(Text(note, style="dim"))
        agreement = self.query_one("#derived-agreement", Static)
        if comparison.agreements:
            agreement.update(agreement_table(comparison))
        else:
            agreement.update(Text("No case was scored by both runs.", style="dim"))
        self.query_one("#derived-flips", Static).update(flips_text(comparison))
        self._fill()

    def _rows(self) -> list[DerivedCase]:
        if self.comparison is None:
            return []
        cases = list(self.comparison.cases)
        if self.flips_only:
            flipped = {f.idx for f in self.comparison.judge_flips}
            cases = [c for c in cases if c.flip is not None or c.idx in flipped]
        return sorted(cases, key=lambda c: (c.flip is None, c.idx))

    def _fill(self) -> None:
        comparison = self.comparison
        if comparison is None:
            return
        table = self.query_one(DataTable)
        table.clear()
        rows = self._rows()
        for case in rows[:SHOW_CASES]:
            if case.flip is not None:
                style = "bold red" if case.flip == Flip.PASS_TO_FAIL else "green"
                flip = Text(FLIP_WORD[case.flip], style=style)
            else:
                flip = Text.assemble(
                    _mark(case.source_status), "\u2192", _mark(case.derived_status)
                )
            table.add_row(
                Text(str(case.idx), justify="right"),
                flip,
                _scores(case.source_scores, comparison.source_threshold),
                _scores(case.derived_scores, comparison.derived_threshold),
                safe_line(case.input_preview, limit=80),
                key=case.derived_case_id,
            )
        shown = min(len(rows), SHOW_CASES)
        count = f"{shown} of {len(comparison.cases)} cases"
        if len(rows) > SHOW_CASES:
            count += f" (first {SHOW_CASES} shown)"
        count += " \u00b7 flips only" if self.flips_only else " \u00b7 flips first"
        self.query_one("#derived-count", Static).update(Text(count, style="dim"))

    def action_toggle_flips(self) -> None:
        self.flips_only = not self.flips_only
        self._fill()

    def action_back(self) -> None:
        self.dismiss()
