"""AgreementScreen: how often the judges of two runs agree on the same cases."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from evaltui.core.textsafe import safe_line
from evaltui.diff import RunDiff
from evaltui.diff.agreement import Agreement, all_agreements

SHOW_DISAGREEMENTS = 12


def agreement_table(pairs: list[Agreement]) -> Table:
    table = Table(box=None, padding=(0, 1, 0, 0), header_style="bold")
    for title in ("baseline", "candidate", "cases", "agree", "rate", "kappa", "P/F", "F/P"):
        table.add_column(title, justify="left" if title in ("baseline", "candidate") else "right")
    for pair in pairs:
        rate = "-" if pair.rate is None else f"{pair.rate:.0%}"
        kappa = "\u2014" if pair.kappa is None else f"{pair.kappa:.2f}"
        table.add_row(
            safe_line(pair.baseline_scorer, limit=20),
            safe_line(pair.candidate_scorer, limit=20),
            str(pair.compared),
            str(pair.agree),
            rate,
            kappa,
            str(pair.base_pass_cand_fail),
            str(pair.base_fail_cand_pass),
        )
    return table


class AgreementScreen(ModalScreen[None]):
    """Pass/fail agreement and Cohen's kappa for every pair of scorers of the two runs."""

    CSS_PATH = "agreement.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,a", "dismiss", "Close", id="agreement.close"),
    ]

    def __init__(self, diff: RunDiff, threshold: float) -> None:
        super().__init__()
        self.diff = diff
        self.threshold = threshold
        self.pairs = all_agreements(diff, threshold)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="agreement-box"):
            yield Static(
                Text(f"Judge agreement at threshold {self.threshold:g}", style="bold"),
                id="agreement-title",
            )
            yield Static(agreement_table(self.pairs), id="agreement-table")
            yield Static(self._disagreements(), id="agreement-cases")
            yield Static(
                Text(
                    "P/F: passed by the baseline's scorer, failed by the candidate's. kappa is "
                    "agreement beyond chance (1 perfect, 0 chance; \u2014 undefined: one "
                    "verdict on every case on both sides). Esc closes.",
                    style="dim",
                )
            )

    def _disagreements(self) -> Text:
        text = Text()
        for pair in self.pairs:
            if not pair.disagreeing_rows:
                continue
            cases = [self.diff.case(row) for row in pair.disagreeing_rows[:SHOW_DISAGREEMENTS]]
            shown = ", ".join(f"#{c.baseline_idx}" for c in cases)
            more = len(pair.disagreeing_rows) - len(cases)
            text.append(f"{pair.baseline_scorer} vs {pair.candidate_scorer}: ", style="bold")
            text.append(shown + (f" (+{more} more)" if more > 0 else "") + "\n")
        if not text.plain:
            text.append("No disagreements." if self.pairs else "No case was scored by both runs.")
        return text
