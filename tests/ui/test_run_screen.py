"""Pilot tests of every key of the run (case table) screen."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, Static

from evaltui.core.runview import SortOrder
from evaltui.store import RunStore
from evaltui.ui.app import StartAt
from evaltui.ui.screens.case import CaseScreen
from evaltui.ui.screens.run import RunScreen
from evaltui.ui.screens.runs import RunsScreen
from evaltui.ui.widgets import CaseTable
from tests.storebuilder import StoreBuilder
from tests.ui.helpers import make_app, plain, settle

GPT_QA = "1f6bffdc"
FAILING_AT_05 = [2, 5, 8, 11, 12, 13, 17]


def shown_idx(screen: RunScreen) -> list[int]:
    assert screen.index is not None
    return [screen.index.idxs[i] for i in screen.view]


async def test_opens_on_all_cases_with_counts(real_store: Path) -> None:
    app = make_app(real_store, StartAt(run=GPT_QA))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RunScreen)
        assert shown_idx(screen) == list(range(20))
        assert "20 of 20 cases" in plain(screen.query_one("#run-filters", Static))
        assert "pass 13  fail 7  of 20" in plain(screen.query_one("#run-summary", Static))
        table = screen.query_one(CaseTable)
        first_row = table.render_line(1).text
        assert first_row.split()[:2] == ["0", "pass"]


async def test_failing_toggle_threshold_and_jumps(real_store: Path) -> None:
    app = make_app(real_store, StartAt(run=GPT_QA))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RunScreen)
        table = screen.query_one(CaseTable)

        await pilot.press("n")
        assert table.cursor == 2
        await pilot.press("n", "n")
        assert table.cursor == 8
        await pilot.press("p")
        assert table.cursor == 5

        await pilot.press("f")
        assert shown_idx(screen) == FAILING_AT_05
        assert table.row_count == 7
        assert "7 of 20 cases" in plain(screen.query_one("#run-filters", Static))

        await pilot.press("plus")  # 0.55: levenshtein 0.5 at idx 17 was already failing on exact
        assert screen.spec.threshold == 0.55
        store = await RunStore.open(real_store)
        run = await store.resolve_run(GPT_QA)
        expected = [case.idx for case in await store.failing_cases(run.id, 0.55)]
        await store.close()
        assert shown_idx(screen) == expected

        await pilot.press("minus", "minus")
        assert screen.spec.threshold == 0.45
        await pilot.press("t")
        prompt = screen.query_one("#run-prompt", Input)
        assert prompt.has_focus
        prompt.value = ""
        await pilot.press(*"0.2", "enter")
        assert screen.spec.threshold == 0.2
        assert not prompt.has_focus
        # every failing case has a 0 score except none above 0.2: all 7 still fail
        assert shown_idx(screen) == FAILING_AT_05

        await pilot.press("f")
        assert len(screen.view) == 20


async def test_bad_threshold_is_refused(real_store: Path) -> None:
    app = make_app(real_store, StartAt(run=GPT_QA))
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RunScreen)
        await pilot.press("t")
        screen.query_one("#run-prompt", Input).value = ""
        await pilot.press(*"1.7", "enter")
        assert screen.spec.threshold == 0.5
        assert any("0..1" in str(n.message) for n in app._notifications)


async def test_scorer_filter_and_sort(real_store: Path) -> None:
    app = make_app(real_store, StartAt(run=GPT_QA))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RunScreen)
        await pilot.press("f", "s")
        assert screen.spec.scorer == "exact"
        assert shown_idx(screen) == FAILING_AT_05
        await pilot.press("s")
        assert screen.spec.scorer == "levenshtein"
        assert shown_idx(screen) == [2, 5, 8, 11, 12, 13]  # idx 17 has levenshtein 0.5
        await pilot.press("o")
        assert screen.spec.sort is SortOrder.SCORE
        assert screen.index is not None
        scores = [screen.index.scorer_scores["levenshtein"][i] for i in screen.view]
        assert scores == sorted(scores)
        await pilot.press("s")
        assert screen.spec.scorer is None
        await pilot.press("o")
        assert screen.spec.sort is SortOrder.IDX


async def test_search_and_escape(real_store: Path) -> None:
    app = make_app(real_store, StartAt(run=GPT_QA))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RunScreen)
        await pilot.press("slash", *"plants", "enter")
        await settle(pilot)
        assert shown_idx(screen) == [12]
        assert "search 'plants'" in plain(screen.query_one("#run-filters", Static))
        await pilot.press("escape")
        await settle(pilot)
        assert len(screen.view) == 20 and screen.spec.search == ""
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, RunsScreen)


async def test_cursor_keys_and_open(real_store: Path) -> None:
    app = make_app(real_store, StartAt(run=GPT_QA))
    async with app.run_test(size=(100, 16)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RunScreen)
        table = screen.query_one(CaseTable)
        await pilot.press("down", "j")
        assert table.cursor == 2
        await pilot.press("up")
        assert table.cursor == 1
        await pilot.press("end")
        assert table.cursor == 19
        assert table.scroll_y > 0
        await pilot.press("home")
        assert table.cursor == 0 and table.scroll_y == 0
        await pilot.press("pagedown")
        assert table.cursor == table.page_rows
        await pilot.press("pageup")
        assert table.cursor == 0
        await pilot.press("r")
        await settle(pilot)
        assert len(screen.view) == 20
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)


async def test_large_run_pages_rows_lazily(builder: StoreBuilder) -> None:
    suite = builder.suite("big")
    run = builder.run(suite, "m")
    for idx in range(1500):
        builder.case(run, idx, scores={"exact": float(idx % 3 == 0)})
    app = make_app(builder.path, StartAt(run=run[:8]))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RunScreen)
        assert len(screen.rows) <= 200  # only the pages on screen were fetched
        await pilot.press("end")
        await settle(pilot)
        table = screen.query_one(CaseTable)
        assert table.render_line(table.page_rows).text.split()[0] == "1499"
        assert len(screen.rows) <= 300


async def test_live_run_shows_new_cases(builder: StoreBuilder) -> None:
    suite = builder.suite("live")
    run = builder.run(suite, "m")
    builder.case(run, 0, scores={"exact": 1.0})
    app = make_app(builder.path, StartAt(run=run[:8]))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RunScreen)
        assert len(screen.view) == 1
        builder.case(run, 1, scores={"exact": 0.0})
        builder.case(run, 2)  # saved, not scored yet
        await pilot.pause(1.3)
        await settle(pilot)
        assert len(screen.view) == 3
        assert "pass 1  fail 1  of 3" in plain(screen.query_one("#run-summary", Static))


async def test_empty_failed_run_and_malformed_columns(builder: StoreBuilder) -> None:
    suite = builder.suite("s")
    empty = builder.run(suite, "broken")
    builder.finish(empty, status="failed")
    odd = builder.run(suite, "odd", config="{not json", started_at=2)
    builder.case(odd, 0, raw_input="plain text input", scores={"exact": 0.0}, error="boom")
    builder.finish(odd, summary="{broken")
    app = make_app(builder.path, StartAt(run=empty))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RunScreen)
        assert screen.query_one(CaseTable).row_count == 0
        await pilot.press("n", "f", "enter", "o", "s")
        await settle(pilot)
        assert "0 of 0 cases" in plain(screen.query_one("#run-filters", Static))
    app = make_app(builder.path, StartAt(run=odd))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        case_screen = app.screen
        assert isinstance(case_screen, CaseScreen)
        overview = plain(case_screen.query_one("#case-overview", Static))
        assert "(not JSON: shown as stored)" in overview and "plain text input" in overview
        assert "boom" in overview
