"""Pilot tests of derived runs (re-judges and re-runs) on screen: marked and hideable in the
runs list, out of the trend, and `d` on one compares it with its source (issue 8, finding 4)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Static

from evaltui.core.formatting import sparkline
from evaltui.ui.app import StartAt
from evaltui.ui.messages import OpenDiff
from evaltui.ui.screens.case import CaseScreen
from evaltui.ui.screens.derived import DerivedScreen
from evaltui.ui.screens.diff import DiffScreen
from evaltui.ui.screens.run import RunScreen
from evaltui.ui.screens.runs import RunsScreen
from tests.derivedstores import CLAUDE_QA, derived_config, lineage, rejudge
from tests.storebuilder import StoreBuilder
from tests.ui.helpers import make_app, plain, settle


def select(screen: RunsScreen, run_id: str) -> None:
    row = next(i for i, run in enumerate(screen.runs) if run.id == run_id)
    screen.query_one(DataTable).move_cursor(row=row)


def screen_text(app_screen: object) -> str:
    """Every Static and DataTable cell of the screen as plain text."""
    from textual.screen import Screen

    assert isinstance(app_screen, Screen)
    parts = [plain(widget) for widget in app_screen.query(Static)]
    for table in app_screen.query(DataTable):
        for row in range(table.row_count):
            parts.append(" | ".join(str(cell) for cell in table.get_row_at(row)))
    console = Console(width=200, record=True, file=io.StringIO(), color_system=None)
    console.print("\n".join(parts), markup=False, highlight=False)
    return console.export_text()


@pytest.fixture
def rejudged(real_store: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, str]:
    """The real store with cases 0-2 of the claude qa run re-judged with `exact`."""
    return real_store, rejudge(real_store, capsys, "1342", "--judge", "exact", "--cases", "0-2")


async def test_runs_list_marks_the_rejudge_and_h_hides_it(rejudged: tuple[Path, str]) -> None:
    real_store, new = rejudged
    app = make_app(real_store)
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        table = screen.query_one(DataTable)
        assert table.row_count == 9
        row = next(i for i, run in enumerate(screen.runs) if run.id == new)
        label = str(table.get_cell_at(Coordinate(row, len(table.columns) - 1)))
        assert label == f"{new[:8]} re-judge of 1342ba1e, 3 cases, judge exact"
        status = plain(screen.query_one("#runs-status", Static))
        assert "1 re-judged/re-run (h hides them)" in status
        await pilot.press("h")
        await settle(pilot)
        assert table.row_count == 8 and new not in {run.id for run in screen.runs}
        assert "hidden: h shows them" in plain(screen.query_one("#runs-status", Static))
        await pilot.press("h")
        await settle(pilot)
        assert table.row_count == 9


async def test_trend_and_default_diff_skip_derived_runs(builder: StoreBuilder) -> None:
    runs = lineage(builder)  # A (50% pass), its re-judge D (50%), then B (100%)
    app = make_app(runs.path)
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        b = next(run for run in screen.runs if run.id == runs.b)
        d = next(run for run in screen.runs if run.id == runs.d)
        assert screen.trend(b) == sparkline([0.5, 1.0])  # A then B: D is not a point
        assert screen.trend(d) == ""
        a = next(run for run in screen.runs if run.id == runs.a)
        newer = screen.next_in_suite(a)
        assert newer is not None and newer.id == runs.b
        select(screen, runs.a)
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, DiffScreen)
        assert app.screen.candidate.id == runs.b


async def test_d_on_a_derived_run_compares_it_with_its_source(builder: StoreBuilder) -> None:
    runs = lineage(builder)
    app = make_app(runs.path)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        runs_screen = app.screen
        assert isinstance(runs_screen, RunsScreen)
        select(runs_screen, runs.d)
        await pilot.press("d")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DerivedScreen)
        text = screen_text(screen)
        assert f"re-judge of suite [m] {runs.a[:8]} \u00b7 4 cases \u00b7 judge exact" in text
        assert "REGRESSION" not in text.upper().replace("NO REGRESSION VERDICT", "")
        assert "removed" not in text
        flips = "exact changed its mind vs the source's case verdict: #1 fail\u2192pass, #2 pass"
        assert flips in text
        table = screen.query_one("#derived-table", DataTable)
        assert table.row_count == 4
        first = [str(cell) for cell in table.get_row_at(0)]  # flips first, in idx order
        assert first[:4] == ["1", "fail\u2192pass", "acc .00", "exact 1.00"]
        await pilot.press("f")
        assert table.row_count == 2
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is runs_screen


async def test_job_screen_diff_of_a_rejudge_shows_agreement_not_a_regression(
    rejudged: tuple[Path, str],
) -> None:
    """What the job screen's `d` posts (source, new run) after re-judging three cases."""
    real_store, new = rejudged
    app = make_app(real_store)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        assert app.store is not None
        source, derived = await app.store.get_run(CLAUDE_QA), await app.store.get_run(new)
        app.post_message(OpenDiff(source, derived))
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DerivedScreen)
        text = screen_text(screen)
        assert "\u00b7 3 cases \u00b7 judge exact" in text
        assert "POSSIBLE REGRESSION" not in text and "removed" not in text
        agreement = plain(screen.query_one("#derived-agreement", Static))
        exact = next(line for line in agreement.splitlines() if line.startswith("exact "))
        # exact vs exact on three passing cases: 3 of 3 agree, kappa undefined (a dash)
        assert exact.split() == ["exact", "exact", "3", "3", "100%", "\u2014", "0", "0"]
        assert "1.00" not in agreement


async def test_case_history_skips_the_rejudge_and_h_includes_it(builder: StoreBuilder) -> None:
    runs = lineage(builder)
    app = make_app(runs.path, StartAt(run=runs.b))
    async with app.run_test(size=(140, 30)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, RunScreen)
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CaseScreen)
        line = plain(screen.query_one("#case-history", Static))
        assert "same input in 2 of the last 2 runs" in line  # A and B, not the re-judge D
        await pilot.press("h")
        await settle(pilot)
        line = plain(screen.query_one("#case-history", Static))
        assert "same input in 3 of the last 3 runs" in line
        assert "re-judges and re-runs included" in line


async def test_d_on_a_derived_run_whose_source_is_gone_says_so(builder: StoreBuilder) -> None:
    suite = builder.suite("qa")
    builder.run(suite, "m")
    orphan = builder.run(
        suite, "m", config=derived_config("rejudge", "gone-run-id", [], ["exact"]), started_at=1
    )
    app = make_app(builder.path)
    async with app.run_test(size=(140, 30)) as pilot:
        await settle(pilot)
        runs_screen = app.screen
        assert isinstance(runs_screen, RunsScreen)
        select(runs_screen, orphan)
        await pilot.press("d")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DerivedScreen)  # not a diff with another run of the suite
        note = plain(screen.query_one("#derived-note", Static))
        assert "the source run gone-run of" in note and "is not in" in note
