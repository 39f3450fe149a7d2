"""Pilot tests of the runs screen on the store written by the real package."""

from __future__ import annotations

from pathlib import Path

from textual.coordinate import Coordinate
from textual.widgets import DataTable, Static

from evaltui.ui.screens.help import HelpScreen
from evaltui.ui.screens.run import RunScreen
from evaltui.ui.screens.runs import RunsScreen
from tests.storebuilder import StoreBuilder
from tests.ui.helpers import make_app, plain, settle


async def test_lists_every_run_and_marks_failed_and_stale(real_store: Path) -> None:
    app = make_app(real_store)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        table = screen.query_one(DataTable)
        assert table.row_count == 8
        statuses = [str(table.get_cell_at(Coordinate(row, 2))) for row in range(8)]
        assert statuses.count("stale") == 1 and statuses.count("failed") == 1
        status = plain(screen.query_one("#runs-status", Static))
        assert "3 suites, 8 runs (6 completed, 1 failed, 1 stale)" in status
        # Runs without a stored summary get the package's getRunSummary: the stale run has 1 case.
        stale_row = statuses.index("stale")
        assert str(table.get_cell_at(Coordinate(stale_row, 3))).strip() == "1"


async def test_enter_opens_the_selected_run(real_store: Path) -> None:
    app = make_app(real_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        runs_screen = app.screen
        assert isinstance(runs_screen, RunsScreen)
        await pilot.press("down", "down")
        selected = runs_screen.selected_run
        assert selected is not None
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RunScreen)
        assert app.screen.eval_run.id == selected.id
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is runs_screen  # type: ignore[comparison-overlap]


async def test_reload_and_live_refresh_pick_up_new_runs(builder: StoreBuilder) -> None:
    suite = builder.suite("live")
    builder.run(suite, "m1")
    app = make_app(builder.path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        assert table.row_count == 1
        builder.run(suite, "m2", started_at=builder_ms(1))
        await pilot.press("r")
        await settle(pilot)
        assert table.row_count == 2
        builder.run(suite, "m3", started_at=builder_ms(2))
        await pilot.pause(1.3)  # the data_version poll runs every second
        await settle(pilot)
        assert table.row_count == 3


def builder_ms(minutes: int) -> int:
    from tests.storebuilder import BASE_MS

    return BASE_MS + minutes * 60_000


async def test_help_lists_the_keys_and_closes(real_store: Path) -> None:
    app = make_app(real_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        keys = plain(app.screen.query_one("#help-keys", Static))
        assert "Open run" in keys and "Reload" in keys and "Quit" in keys
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, RunsScreen)


async def test_q_quits(real_store: Path) -> None:
    app = make_app(real_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_command_palette_opens_a_run(real_store: Path) -> None:
    app = make_app(real_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        await pilot.press(*"broken")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, RunScreen)
        assert app.screen.eval_run.model == "broken-model"
