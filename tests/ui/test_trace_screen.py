"""Pilot tests of the span tree: opening a case's trace, every key, and the traces list."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Static

from evaltui.services.ingest.sample import write_sample_traces
from evaltui.ui.app import StartAt
from evaltui.ui.screens.case import CaseScreen
from evaltui.ui.screens.runs import RunsScreen
from evaltui.ui.screens.trace import TraceScreen
from evaltui.ui.screens.traces import TracesScreen
from evaltui.ui.widgets import CaseTable
from evaltui.ui.widgets.span_tree import SpanTree
from tests.ui.helpers import make_app, plain, settle

GPT_QA = "1f6bffdc-edc4-4e84-9911-cc81ff59a494"


@pytest.fixture
def traced_store(real_store: Path) -> Path:
    """The real store with sample traces; its first run's first case gets a 2,000-span trace."""
    write_sample_traces(real_store, [GPT_QA], big_trace_spans=2_000)
    return real_store


async def open_trace(pilot, position: int = 0) -> TraceScreen:  # type: ignore[no-untyped-def]
    run_screen = pilot.app.screen
    run_screen.query_one(CaseTable).move_to(position)
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, CaseScreen)
    await pilot.press("t")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, TraceScreen)
    return screen


async def test_big_trace_keys(traced_store: Path) -> None:
    app = make_app(traced_store, StartAt(run=GPT_QA))
    async with app.run_test(size=(130, 40)) as pilot:
        await settle(pilot)
        screen = await open_trace(pilot, 0)
        tree = screen.query_one(SpanTree)
        assert screen.outline is not None
        assert tree.row_count == 1  # only the root, collapsed
        assert "2,000 spans" in plain(screen.query_one("#trace-title", Static))
        await pilot.press("enter")
        assert tree.row_count > 1
        await pilot.press("c")
        assert tree.row_count == 1
        await pilot.press("e")
        expanded = tree.row_count
        assert expanded > 200
        # long sibling lists are paged behind a "more" row
        more = [row for row in screen.outline.rows if row.node is None]
        assert more and all(row.hidden > 0 for row in more)
        await pilot.press("c", "home")
        assert screen.problems, "the sample has errored and failing spans"
        await pilot.press("n")
        current = tree.current
        assert current is not None and current.node is screen.problems[0]
        await pilot.press("n", "p")
        current = tree.current
        assert current is not None and current.node is screen.problems[0]
        await settle(pilot)
        detail = plain(screen.query_one("#span-detail-text", Static))
        assert current.node.span.name in detail
        await pilot.press("y")
        await settle(pilot)
        copied = json.loads(app.clipboard)
        assert copied["span_id"] == current.node.span.span_id
        assert set(copied) >= {"span_id", "parent_id", "kind", "name", "children", "scores"}
        await pilot.press("Y")
        await settle(pilot)
        # 2,000 spans are past what OSC 52 carries: the trace goes to a file, not the clipboard
        assert app.clipboard == json.dumps(copied, indent=2, ensure_ascii=False)
        (written,) = (Path(os.environ["XDG_CACHE_HOME"]) / "evaltui").glob("trace-*.json")
        whole = json.loads(written.read_text(encoding="utf-8"))
        assert whole["span_id"] == screen.roots[0].span.span_id
        await pilot.press("left")  # collapse, or go to the parent
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)


async def test_search_and_small_trace(traced_store: Path) -> None:
    app = make_app(traced_store, StartAt(run=GPT_QA))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = await open_trace(pilot, 1)
        tree = screen.query_one(SpanTree)
        await pilot.press("e")
        assert screen.outline is not None and tree.row_count == len(screen.outline.rows)
        await pilot.press("slash")
        prompt = screen.query_one("#trace-prompt", Input)
        assert prompt.has_focus
        await pilot.press(*"retriev", "enter")
        await settle(pilot)
        assert screen.matches
        current = tree.current
        assert current is not None and current.node is screen.matches[0]
        await pilot.press("right_square_bracket", "left_square_bracket")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)


async def test_traces_list_from_the_runs_screen(traced_store: Path) -> None:
    app = make_app(traced_store)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, RunsScreen)
        await pilot.press("T")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, TracesScreen)
        assert screen.query_one(DataTable).row_count == len(screen.traces) > 0
        await pilot.press("u")
        await settle(pilot)
        assert screen.traces == []  # the sample links every trace to a case
        await pilot.press("u")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, TraceScreen)
        await pilot.press("escape", "escape")
        await settle(pilot)
        assert isinstance(app.screen, RunsScreen)


async def test_no_trace_tables_is_not_an_error(real_store: Path) -> None:
    app = make_app(real_store, StartAt(run=GPT_QA))
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await settle(pilot)
        app.screen.query_one(CaseTable).move_to(0)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("t")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)
        assert any("No trace for this case" in str(n.message) for n in app._notifications)
