"""Pilot tests of selecting cases, J (re-judge) through to the diff, and cancelling."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import OptionList, RichLog, Static

from evaltui.app import StartAt
from evaltui.screens import DerivedScreen, RunScreen
from evaltui.screens.job import JobScreen, JobSetup
from evaltui.store import RunStore
from evaltui.widgets import CaseTable
from tests.ui.helpers import make_app, plain, settle

GPT_QA = "1f6bffdc-edc4-4e84-9911-cc81ff59a494"


async def choose(pilot, name: str) -> None:  # type: ignore[no-untyped-def]
    options = pilot.app.screen.query_one(OptionList)
    ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
    options.highlighted = ids.index(name)
    await pilot.press("enter")
    await settle(pilot)


async def test_select_and_rejudge_then_diff(real_store: Path) -> None:
    app = make_app(real_store, StartAt(run=GPT_QA))
    async with app.run_test(size=(110, 34)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RunScreen)
        table = screen.query_one(CaseTable)
        await pilot.press("space")  # idx 0
        assert screen.selected == {screen.case_id_at(0)} and table.cursor == 1
        await pilot.press("space")  # idx 1 unselected -> selected
        await pilot.press("x")
        assert not screen.selected
        table.move_to(3)
        await pilot.press("space")
        table.move_to(6)
        await pilot.press("V")
        assert len(screen.selected) == 4  # 3..6
        await pilot.press("x", "a")
        assert len(screen.selected) == 7  # the failing cases
        assert "7 selected" in plain(screen.query_one("#run-filters", Static))
        await pilot.press("J")
        await settle(pilot)
        assert isinstance(app.screen, JobSetup)
        await choose(pilot, "exact")
        summary = plain(app.screen.query_one("#job-summary", Static))
        assert "7 cases" in summary and "judge exact" in summary and "$0.0000" in summary
        await pilot.press("enter")
        await settle(pilot)
        job = app.screen
        assert isinstance(job, JobScreen)
        for _ in range(50):
            if job.finished:
                break
            await pilot.pause(0.1)
        assert job.run_id is not None
        assert "7/7 done" in plain(job.query_one("#job-totals", Static))
        assert len(job.query_one(RichLog).lines) >= 8
        await pilot.press("d")
        await settle(pilot)
        diff = app.screen  # a re-judge against its source: its own cases, no regression verdict
        assert isinstance(diff, DerivedScreen) and diff.comparison is not None
        assert diff.derived.id == job.run_id and len(diff.comparison.cases) == 7
        exact = next(p for p in diff.comparison.agreements if p.baseline_scorer == "exact")
        assert exact.agree == exact.compared == 7  # same outputs, same judge
    store = await RunStore.open(real_store)
    try:
        run = await store.get_run(job.run_id)
    finally:
        await store.close()
    assert run.status == "completed" and run.summary is not None
    assert run.summary.total_cases == 7


async def test_cancel_in_setup_and_rerun_needs_a_task(real_store: Path) -> None:
    app = make_app(real_store, StartAt(run=GPT_QA))
    async with app.run_test(size=(110, 34)) as pilot:
        await settle(pilot)
        await pilot.press("J")
        await settle(pilot)
        assert isinstance(app.screen, JobSetup)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, RunScreen)
        await pilot.press("R")
        await settle(pilot)
        setup = app.screen
        assert isinstance(setup, JobSetup) and setup.step == "task"
        assert "which task?" in plain(setup.query_one("#job-heading", Static))
        await pilot.press("escape")
