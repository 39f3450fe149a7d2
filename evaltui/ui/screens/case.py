"""CaseScreen: one case in full: scores with reasons, input, expected, output and error."""

from __future__ import annotations

import json
from typing import Any, ClassVar, Protocol

from rich.console import Group
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static, TabbedContent, TabPane, TextArea

from evaltui.core.formatting import clip, error_headline, format_latency, format_score
from evaltui.core.models import Case, CaseStatus, HistoryPoint, JsonText, Run, case_status
from evaltui.core.runview import ViewSpec
from evaltui.core.textsafe import printable, safe_line, safe_text
from evaltui.store import RunStore, StoreError


class CaseCursor(Protocol):
    """What a case screen needs of the table it was opened from (the run screen): the case at
    a row, the next row to show, and keeping the table's cursor in step. Not the screen itself."""

    spec: ViewSpec

    def case_id_at(self, position: int) -> str | None: ...

    def step_from(self, position: int, step: int, failing: bool) -> int | None: ...

    def follow(self, position: int) -> None: ...


HISTORY_RUNS = 12
HISTORY_SYMBOLS = {
    CaseStatus.PASS: ("✓", "green"),
    CaseStatus.FAIL: ("✗", "bold red"),
    CaseStatus.ERROR: ("E", "bold yellow"),
    CaseStatus.UNSCORED: ("?", "dim"),
}
FULL_LIMIT = 2_000_000  # characters put into a full view; beyond, the rest is cut and said so

TABS = (
    ("overview", "Overview"),
    ("input", "Input"),
    ("expected", "Expected"),
    ("output", "Output"),
    ("error", "Error"),
)


def error_full(error: JsonText) -> str:
    """The whole error: headline, then the stack and any other fields."""
    value = error.value if error.is_json else None
    if not isinstance(value, dict):
        return error.display
    lines = [error_headline(error)]
    stack = value.get("stack")
    if isinstance(stack, str):
        lines += ["", stack]
    cause = value.get("cause")
    if cause is not None:  # the headline names it; here it is whole (its own stack, fields)
        lines += ["", "cause:", json.dumps(cause, indent=2, ensure_ascii=False)]
    rest: dict[str, Any] = {
        k: v for k, v in value.items() if k not in {"name", "message", "stack", "cause"}
    }
    if rest:
        lines += ["", json.dumps(rest, indent=2, ensure_ascii=False)]
    return "\n".join(lines)


class CaseScreen(Screen[None]):
    """A case of a run. `[`/`]` walk the run's table, `n`/`p` its failing cases."""

    CSS_PATH = "case.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="case.back"),
        Binding("right_square_bracket", "step(1, False)", "Next", id="case.next"),
        Binding("left_square_bracket", "step(-1, False)", "Prev", id="case.prev"),
        Binding("n", "step(1, True)", "Next fail", id="case.next_failing"),
        Binding("p", "step(-1, True)", "Prev fail", id="case.prev_failing"),
        Binding(
            "t", "traces", "Trace", id="case.traces", tooltip="The case's trace as a span tree"
        ),
        Binding(
            "h",
            "toggle_derived_history",
            "Derived in history",
            show=False,
            id="case.history_derived",
            tooltip="History: include the re-judges and re-runs (again: skip them)",
        ),
        *(
            Binding(str(number), f"tab('{tab}')", title, show=False, id=f"case.tab_{tab}")
            for number, (tab, title) in enumerate(TABS, start=1)
        ),
    ]

    def __init__(self, store: RunStore, run: Run, table: CaseCursor, position: int) -> None:
        super().__init__()
        self.store = store
        self.eval_run = run
        self.table = table
        self.position = position
        self.case: Case | None = None
        self.history_derived = False  # re-judges and re-runs in the history line

    def compose(self) -> ComposeResult:
        yield Static(id="case-title")
        yield Static(id="case-history")
        with TabbedContent(id="case-tabs"):
            with TabPane("1 Overview", id="overview"), VerticalScroll():
                yield Static(id="case-overview")
            for number, (tab, title) in enumerate(TABS[1:], start=2):
                with TabPane(f"{number} {title}", id=tab):
                    yield TextArea(id=f"full-{tab}", read_only=True, soft_wrap=True)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.load()

    @work(exclusive=True, group="case-load")
    async def load(self) -> None:
        case_id = self.table.case_id_at(self.position)
        if case_id is None:
            return
        try:
            case = await self.store.get_case(case_id)
        except StoreError as error:
            self.notify(str(error), title="Cannot read the case", severity="error", markup=False)
            return
        self.case = case
        self._show(case)
        self.load_history(case)

    @work(exclusive=True, group="case-history")
    async def load_history(self, case: Case) -> None:
        """This dataset item across the last runs of the suite (same input)."""
        history = self.query_one("#case-history", Static)
        if case.input.raw is None:
            return
        history.update(Text("history: …", style="dim"))
        try:
            points = await self.store.case_history(
                self.eval_run, case.input.raw, HISTORY_RUNS, include_derived=self.history_derived
            )
        except StoreError as error:
            history.update(Text(f"history unavailable: {error}", style="dim"))
            return
        history.update(self._history_line(points))

    def _history_line(self, points: list[HistoryPoint]) -> Text:
        threshold = self.table.spec.threshold
        line = Text("history ", style="dim")
        for point in points:
            status = case_status(point.min_score, point.has_error, threshold)
            symbol, style = HISTORY_SYMBOLS[status] if point.present else ("·", "dim")
            if point.run_id == self.eval_run.id:
                style += " reverse"
            line.append(symbol, style=style)
        shown = sum(1 for point in points if point.present)
        line.append(
            f"  same input in {shown} of the last {len(points)} runs of this suite name,"
            " oldest first",
            style="dim",
        )
        if self.history_derived:
            line.append(", re-judges and re-runs included", style="dim")
        return line

    def action_toggle_derived_history(self) -> None:
        self.history_derived = not self.history_derived
        if self.case is not None:
            self.load_history(self.case)

    def _show(self, case: Case) -> None:
        threshold = self.table.spec.threshold
        scores = [score.score for score in case.scores]
        status = case_status(min(scores) if scores else None, case.error.raw is not None, threshold)
        style = {
            CaseStatus.PASS: "bold green",
            CaseStatus.FAIL: "bold red",
            CaseStatus.ERROR: "bold yellow",
            CaseStatus.UNSCORED: "dim",
        }[status]
        self.query_one("#case-title", Static).update(
            Text.assemble(
                (f"case #{case.idx}", "bold"),
                "  ",
                (status.value.upper(), style),
                f"  {format_latency(case.latency_ms)}  tok {case.tokens_in or 0}"
                f"/{case.tokens_out or 0}  ",
                safe_line(self.eval_run.name, style="dim", limit=50),
            )
        )
        self.query_one("#case-overview", Static).update(self._overview(case, threshold))
        self._fill("input", case.input.display)
        self._fill("expected", case.expected.display if case.expected.raw is not None else "")
        self._fill("output", case.output or "")
        self._fill("error", error_full(case.error))

    def _fill(self, tab: str, text: str) -> None:
        if len(text) > FULL_LIMIT:
            cut = len(text) - FULL_LIMIT
            text = text[:FULL_LIMIT] + f"\n\n[evaltui: {cut:,} more characters not shown]"
        self.query_one(f"#full-{tab}", TextArea).load_text(printable(text))

    def _overview(self, case: Case, threshold: float) -> Group:
        parts: list[Text] = [Text("Scores", style="bold underline")]
        if not case.scores:
            parts.append(Text("  no scores yet", style="dim"))
        for score in case.scores:
            failed = score.score < threshold
            line = Text.assemble(
                "  ",
                safe_line(score.scorer_name, style="bold", limit=30),
                "  ",
                (format_score(score.score), "bold red" if failed else "green"),
                ("  FAIL" if failed else "  pass", "red" if failed else "green"),
            )
            parts.append(line)
            if score.reason:
                parts.append(safe_text("    " + score.reason, style="italic"))
        if case.error.raw is not None:
            parts.append(Text("\nError", style="bold underline yellow"))
            parts.append(safe_text(error_headline(case.error), style="yellow"))
            stack = case.error.value.get("stack") if isinstance(case.error.value, dict) else None
            if isinstance(stack, str):
                lines = stack.count("\n") + 1
                parts.append(Text(f"  stack: {lines} lines (press 5)", style="dim"))
        sections = (
            ("input", "Input", 2, case.input.display, case.input),
            ("expected", "Expected", 3, case.expected.display, case.expected),
            ("output", "Output", 4, case.output, None),
        )
        for _key, title, number, text, column in sections:
            parts.append(Text(f"\n{title}", style="bold underline"))
            if text is None or (column is not None and column.raw is None):
                parts.append(Text("  (none)", style="dim"))
                continue
            shown, cut = clip(text)
            if column is not None and column.raw is not None and not column.is_json:
                parts.append(Text("  (not JSON: shown as stored)", style="dim"))
            parts.append(safe_text(shown))
            if cut:
                parts.append(
                    Text(f"  \u2026 {len(text):,} characters in all (press {number})", style="dim")
                )
        return Group(*parts)

    def action_back(self) -> None:
        self.dismiss()

    @work(exclusive=True, group="case-traces")
    async def action_traces(self) -> None:
        from evaltui.store.traces import traces_for_case
        from evaltui.ui.screens.trace import TraceScreen
        from evaltui.ui.screens.traces import TracesScreen

        if self.case is None:
            return
        try:
            traces = await traces_for_case(self.store, self.case.id)
        except StoreError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        if not traces:
            self.notify("No trace for this case: import one with `evaltui import FILE`", timeout=3)
        elif len(traces) == 1:
            self.app.push_screen(TraceScreen(self.store, traces[0]))
        else:
            title = f"traces of case #{self.case.idx}"
            self.app.push_screen(TracesScreen(self.store, case_id=self.case.id, title=title))

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def action_step(self, step: int, failing: bool) -> None:
        target = self.table.step_from(self.position, step, failing)
        if target is None:
            what = "failing case" if failing else "case"
            self.notify(f"No {what} that way", timeout=2)
            return
        self.position = target
        self.table.follow(target)
        self.load()
