"""Snapshots of the three main screens on sample_data/, at 80x24 and wider."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from evaltui.ui.app import EvalTUI, StartAt
from evaltui.ui.messages import OpenDiff
from evaltui.ui.screens.run import RunScreen
from evaltui.ui.widgets import CaseTable
from tests.derivedstores import lineage
from tests.storebuilder import StoreBuilder
from tests.ui.helpers import make_app, settle

REGRESSED_RUN = "b18d5fc4"  # qa-accuracy [gpt-4o-mini], prompt v3: the regression


@pytest.fixture
def sample_store(sample_store: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The sample store under a stable relative name: the runs screen shows the path."""
    monkeypatch.chdir(sample_store.parent)
    return Path(sample_store.name)


async def wait(pilot: Pilot[None]) -> None:
    await settle(pilot)


def test_runs_screen(sample_store: Path, snap_compare: Any) -> None:
    assert snap_compare(make_app(sample_store), terminal_size=(80, 24), run_before=wait)


def test_runs_screen_wide(sample_store: Path, snap_compare: Any) -> None:
    assert snap_compare(make_app(sample_store), terminal_size=(140, 24), run_before=wait)


def test_run_screen_failing_only(sample_store: Path, snap_compare: Any) -> None:
    app = make_app(sample_store, StartAt(run=REGRESSED_RUN, failing_only=True))
    assert snap_compare(app, terminal_size=(80, 24), run_before=wait)


def test_run_screen_wide(sample_store: Path, snap_compare: Any) -> None:
    app = make_app(sample_store, StartAt(run=REGRESSED_RUN))
    assert snap_compare(app, terminal_size=(140, 30), run_before=wait)


async def open_rich_markup_case(pilot: Pilot[None]) -> None:
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, RunScreen)
    await pilot.press("slash", *"ALERT", "enter")
    await settle(pilot)
    screen.query_one(CaseTable).move_to(0)
    await pilot.press("enter")
    await settle(pilot)


def test_case_screen(sample_store: Path, snap_compare: Any) -> None:
    app = make_app(sample_store, StartAt(run=REGRESSED_RUN))
    assert snap_compare(app, terminal_size=(80, 24), run_before=open_rich_markup_case)


BASELINE_RUN = "b42e4bf8"  # qa-accuracy [claude-sonnet-4-5], prompt v2


async def open_regression_diff(pilot: Pilot[None]) -> None:
    await settle(pilot)
    app = pilot.app
    assert isinstance(app, EvalTUI) and app.store is not None
    baseline = await app.store.resolve_run(BASELINE_RUN)
    candidate = await app.store.resolve_run(REGRESSED_RUN)
    app.post_message(OpenDiff(baseline, candidate))
    await settle(pilot)


def test_diff_screen(sample_store: Path, snap_compare: Any) -> None:
    assert snap_compare(
        make_app(sample_store), terminal_size=(80, 24), run_before=open_regression_diff
    )


async def open_pair(pilot: Pilot[None]) -> None:
    await open_regression_diff(pilot)
    await pilot.press("enter")
    await settle(pilot)


def test_diff_pair_screen(sample_store: Path, snap_compare: Any) -> None:
    assert snap_compare(make_app(sample_store), terminal_size=(110, 30), run_before=open_pair)


def test_derived_screen(builder: StoreBuilder, snap_compare: Any) -> None:
    """A re-judge against its source: side by side, agreement, flips, no verdict."""
    runs = lineage(builder)

    async def open_derived(pilot: Pilot[None]) -> None:
        await settle(pilot)
        app = pilot.app
        assert isinstance(app, EvalTUI) and app.store is not None
        source, derived = await app.store.get_run(runs.a), await app.store.get_run(runs.d)
        app.post_message(OpenDiff(source, derived))
        await settle(pilot)

    assert snap_compare(make_app(runs.path), terminal_size=(80, 24), run_before=open_derived)
