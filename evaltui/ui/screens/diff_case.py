"""DiffCaseScreen: one pair of cases side by side (stacked when narrow), outputs word-diffed,
both score sets with their reasons."""

from __future__ import annotations

from typing import ClassVar, Protocol

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Footer, Static

from evaltui.core.formatting import clip, error_headline, format_score
from evaltui.core.models import Case
from evaltui.core.textsafe import printable, safe_line, safe_text
from evaltui.diff import CaseDiff, Change
from evaltui.diff.words import Op, word_diff
from evaltui.store import RunStore, StoreError
from evaltui.ui.widgets.diff_table import signed


class PairCursor(Protocol):
    """What a pair screen needs of the diff table it was opened from: the pair at a row and
    keeping the table's cursor in step. Not the diff screen itself."""

    def case_at(self, position: int) -> CaseDiff | None: ...

    def follow(self, position: int) -> None: ...


WIDE = 100  # columns from which the two sides stand side by side
OUTPUT_CHARS = 6000
OP_STYLE = {Op.SAME: "", Op.DELETED: "bold red strike", Op.INSERTED: "bold green underline"}


def diff_texts(baseline: str, candidate: str) -> tuple[Text, Text]:
    """Both outputs with the words that differ highlighted (printable, never markup)."""
    left, right = word_diff(baseline, candidate)
    texts = []
    for runs in (left, right):
        text = Text()
        for op, chunk in runs:
            text.append(printable(chunk), style=OP_STYLE[op])
        texts.append(text)
    return texts[0], texts[1]


class DiffCaseScreen(Screen[None]):
    """A baseline case and its candidate. `]`/`[` walk the diff's rows."""

    CSS_PATH = "diff_case.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="diffcase.back"),
        Binding("right_square_bracket", "step(1)", "Next", id="diffcase.next"),
        Binding("left_square_bracket", "step(-1)", "Prev", id="diffcase.prev"),
    ]

    def __init__(self, store: RunStore, table: PairCursor, position: int) -> None:
        super().__init__()
        self.store = store
        self.table = table
        self.position = position
        self.pair: tuple[Case | None, Case | None] = (None, None)

    def compose(self) -> ComposeResult:
        yield Static(id="pair-title")
        with VerticalScroll(id="pair-body"):
            yield Static(id="pair-scores")
            yield Static(id="pair-sides")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.load()

    def on_resize(self, event: Resize) -> None:
        if self.pair != (None, None):
            self._show_sides()

    @work(exclusive=True, group="pair-load")
    async def load(self) -> None:
        case = self.table.case_at(self.position)
        if case is None:
            return
        try:
            base = (
                await self.store.get_case(case.baseline_case_id) if case.baseline_case_id else None
            )
            cand = (
                await self.store.get_case(case.candidate_case_id)
                if case.candidate_case_id
                else None
            )
        except StoreError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        self.pair = (base, cand)
        self.query_one("#pair-title", Static).update(self._title(case))
        self.query_one("#pair-scores", Static).update(self._scores(case, base, cand))
        self._show_sides()

    def _title(self, case: CaseDiff) -> Text:
        title = Text.assemble(
            (f"idx {case.baseline_idx if case.baseline_idx is not None else '-'}", "bold"),
            " \u2192 ",
            (f"{case.candidate_idx if case.candidate_idx is not None else '-'}", "bold"),
            f"  {case.change.value}",
        )
        if case.flip is not None:
            title.append(
                f"  {case.flip.value.replace('_', ' ')}",
                style="bold red" if case.flip.value == "pass_to_fail" else "bold green",
            )
        if case.errored is not None:
            title.append(f"  errored: {case.errored.value.replace('_', ' ')}", style="yellow")
        return title

    def _scores(self, case: CaseDiff, base: Case | None, cand: Case | None) -> RenderableType:
        table = Table(box=None, padding=(0, 1, 0, 0), header_style="bold")
        for title in ("scorer", "base", "cand", "\u0394"):
            table.add_column(title, justify="left" if title == "scorer" else "right")
        names = sorted({*case.baseline_scores, *case.candidate_scores})
        for name in names:
            delta = case.scorer_deltas.get(name)
            style = (
                {Change.REGRESSED: "bold red", Change.IMPROVED: "green"}.get(delta.change, "")
                if delta
                else ""
            )
            table.add_row(
                safe_line(name, limit=24),
                format_score(case.baseline_scores.get(name)),
                format_score(case.candidate_scores.get(name)),
                Text(signed(delta.delta), style=style) if delta else "",
            )
        reasons: list[RenderableType] = [table]
        for label, side in (("base", base), ("cand", cand)):
            for score in side.scores if side else ():
                if score.reason:
                    reasons.append(
                        safe_text(
                            f"{label} {score.scorer_name}: {score.reason}", style="italic dim"
                        )
                    )
        return Group(*reasons)

    def _side(self, case: Case | None, output: Text) -> list[RenderableType]:
        if case is None:
            return [Text("(not in this run)", style="dim")]
        parts: list[RenderableType] = [Text("input", style="bold underline")]
        shown, _ = clip(case.input.display, chars=800, lines=8)
        parts.append(safe_text(shown))
        if case.expected.raw is not None:
            parts += [
                Text("expected", style="bold underline"),
                safe_text(clip(case.expected.display, 400, 6)[0]),
            ]
        parts.append(Text("output", style="bold underline"))
        parts.append(output if case.output is not None else Text("(none)", style="dim"))
        if case.error.raw is not None:
            parts += [
                Text("error", style="bold underline yellow"),
                safe_text(error_headline(case.error), style="yellow"),
            ]
        return parts

    def _show_sides(self) -> None:
        base, cand = self.pair
        left, right = diff_texts(
            (base.output or "")[:OUTPUT_CHARS] if base else "",
            (cand.output or "")[:OUTPUT_CHARS] if cand else "",
        )
        base_parts = [Text("BASELINE", style="bold reverse"), *self._side(base, left)]
        cand_parts = [Text("CANDIDATE", style="bold reverse"), *self._side(cand, right)]
        sides = self.query_one("#pair-sides", Static)
        if self.size.width >= WIDE:
            grid = Table.grid(expand=True, padding=(0, 2, 0, 0))
            grid.add_column(ratio=1)
            grid.add_column(ratio=1)
            grid.add_row(Group(*base_parts), Group(*cand_parts))
            sides.update(grid)
        else:
            sides.update(Group(*base_parts, Text(""), *cand_parts))

    def action_back(self) -> None:
        self.dismiss()

    def action_step(self, step: int) -> None:
        target = self.position + step
        if self.table.case_at(target) is None:
            self.notify("No more rows that way", timeout=2)
            return
        self.position = target
        self.table.follow(target)
        self.load()
