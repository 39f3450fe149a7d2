"""Pilot tests of the case screen, including untrusted text shown literally."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static, TabbedContent, TextArea

from evaltui.ui.app import StartAt
from evaltui.ui.screens.case import CaseScreen
from evaltui.ui.screens.run import RunScreen
from evaltui.ui.widgets import CaseTable
from tests.storebuilder import StoreBuilder
from tests.ui.helpers import make_app, plain, settle

GPT_QA = "1f6bffdc"


async def open_case(pilot, position: int) -> CaseScreen:  # type: ignore[no-untyped-def]
    screen = pilot.app.screen
    assert isinstance(screen, RunScreen)
    screen.query_one(CaseTable).move_to(position)
    await pilot.press("enter")
    await settle(pilot)
    case_screen = pilot.app.screen
    assert isinstance(case_screen, CaseScreen)
    return case_screen


async def test_timeout_case_shows_error_scores_and_fields(real_store: Path) -> None:
    app = make_app(real_store, StartAt(run=GPT_QA))
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        screen = await open_case(pilot, 12)
        overview = plain(screen.query_one("#case-overview", Static))
        assert "Error: timeout exceeded" in overview
        assert "stack:" in overview and "(press 5)" in overview
        assert "Task failed: Error: timeout exceeded" in overview
        assert "What gas do plants absorb?" in overview
        assert "Carbon dioxide" in overview
        assert "(none)" in overview  # no output
        title = plain(screen.query_one("#case-title", Static))
        assert "case #12" in title and "ERROR" in title
        error_text = screen.query_one("#full-error", TextArea).text
        assert error_text.startswith("Error: timeout exceeded")
        assert "at Timeout" in error_text  # the whole stack in the Error tab


async def test_tabs_and_navigation_keys(real_store: Path) -> None:
    app = make_app(real_store, StartAt(run=GPT_QA))
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        screen = await open_case(pilot, 0)
        history = plain(screen.query_one("#case-history", Static))
        assert history.startswith("history \u2713  same input in 1 of the last 1 runs")
        tabs = screen.query_one(TabbedContent)
        for key, tab in (("2", "input"), ("3", "expected"), ("4", "output"), ("5", "error")):
            await pilot.press(key)
            assert tabs.active == tab
        await pilot.press("1")
        assert tabs.active == "overview"
        assert screen.query_one("#full-output", TextArea).text == "Paris"
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert screen.case is not None and screen.case.idx == 1
        await pilot.press("n")
        await settle(pilot)
        assert screen.case is not None and screen.case.idx == 2
        await pilot.press("n")
        await settle(pilot)
        assert screen.case is not None and screen.case.idx == 5
        await pilot.press("p")
        await settle(pilot)
        assert screen.case is not None and screen.case.idx == 2
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert screen.case is not None and screen.case.idx == 1
        await pilot.press("escape")
        await settle(pilot)
        run_screen = app.screen
        assert isinstance(run_screen, RunScreen)
        assert run_screen.query_one(CaseTable).cursor == 1  # the table followed


HOSTILE = "[bold red]ALERT[/] \x1b[2J\x1b[31mred \x1b]52;c;aGVsbG8=\x07 \u202eevil"


async def test_untrusted_text_is_shown_literally(builder: StoreBuilder) -> None:
    suite = builder.suite("[b]suite[/b]")
    run = builder.run(suite, "model[/]")
    builder.case(
        run,
        0,
        input={"input": "[link=http://x]click[/link]"},
        output=HOSTILE,
        scores={"exact": 0.0},
        reasons={"exact": "reason [red]x[/red] \x1b[1m"},
        error="plain text error \x1b[2J",
    )
    app = make_app(builder.path, StartAt(run=run[:8]))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(CaseTable)
        row = table.render_line(1).text
        assert "[link=http://x]click[/link]" in row
        assert "\x1b" not in row and "\x07" not in row
        screen = await open_case(pilot, 0)
        overview = plain(screen.query_one("#case-overview", Static))
        assert "[bold red]ALERT[/]" in overview
        assert "reason [red]x[/red]" in overview
        assert "plain text error" in overview
        assert "\x1b" not in overview and "\x07" not in overview and "\u202e" not in overview
        assert "\u241b[2J" in overview  # ESC shown as a visible control picture
        output = screen.query_one("#full-output", TextArea).text
        assert "\x1b" not in output and "[bold red]ALERT[/]" in output
        title = plain(screen.query_one("#case-title", Static))
        assert "model[/]" in title


async def test_big_output_is_clipped_in_overview_and_whole_in_its_tab(
    builder: StoreBuilder,
) -> None:
    suite = builder.suite("big")
    run = builder.run(suite, "m")
    big = "\n".join(f"line {i} " + "x" * 80 for i in range(20_000))  # ~1.8 MB
    builder.case(run, 0, output=big, scores={"exact": 1.0})
    app = make_app(builder.path, StartAt(run=run[:8]))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = await open_case(pilot, 0)
        overview = plain(screen.query_one("#case-overview", Static))
        assert f"{len(big):,} characters in all (press 4)" in overview
        await pilot.press("4")
        await settle(pilot)
        area = screen.query_one("#full-output", TextArea)
        assert area.document.line_count == 20_000
        area.focus()
        await pilot.press("pagedown", "pagedown", "pagedown")  # a 20,000-line value scrolls
        await pilot.pause()
        assert area.cursor_location[0] > 40
        assert area.scroll_y > 40
