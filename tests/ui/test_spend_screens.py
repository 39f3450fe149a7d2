"""Pilot tests: what judging cost shows in the job screen (as stored) and the runs list."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from textual.widgets import DataTable, OptionList, RichLog, Static

from evaltui.services.config import load_config
from evaltui.ui.app import StartAt
from evaltui.ui.screens.job import JobScreen, JobSetup
from evaltui.ui.screens.runs import RunsScreen
from tests.storebuilder import StoreBuilder
from tests.ui.helpers import make_app, plain, settle

JUDGE = (
    "import json, sys\njson.load(sys.stdin)\n"
    "print(json.dumps({'score': 1, 'reason': 'ok', 'model': 'grader',"
    " 'usage': {'input_tokens': 1000, 'output_tokens': 10}, 'cost_usd': 0.25}))\n"
)


@pytest.fixture
def judged_store(
    builder: StoreBuilder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, str]:
    """A store with one run of 3 cases, and `./evaltui.toml` with a priced command judge."""
    suite = builder.suite("qa")
    run = builder.run(suite, "gpt")
    for idx in range(3):
        builder.case(run, idx, output="x", scores={"exact": 0.0})
    builder.finish(run)
    builder.close()
    script = tmp_path / "judge.py"
    script.write_text(JUDGE)
    (tmp_path / "evaltui.toml").write_text(
        f'[judges.paid]\ntype = "command"\nargv = ["{sys.executable}", "{script}"]\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    return builder.path, run


async def test_job_screen_final_totals_are_the_stored_ones(judged_store: tuple[Path, str]) -> None:
    path, run = judged_store
    app = make_app(path, StartAt(run=run), load_config())
    async with app.run_test(size=(80, 30)) as pilot:
        await settle(pilot)
        await pilot.press("J")
        await settle(pilot)
        assert isinstance(app.screen, JobSetup)
        options = app.screen.query_one(OptionList)
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        options.highlighted = ids.index("paid")
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        job = app.screen
        assert isinstance(job, JobScreen)
        for _ in range(100):
            if job.run_id is not None:
                break
            await pilot.pause(0.1)
        await settle(pilot)
        totals = plain(job.query_one("#job-totals", Static))
        assert "tokens 1,000/10" in totals and "cost $0.2500" in totals  # the one case shown
        lines = [strip.text for strip in job.query_one(RichLog).lines]
        stored = next(line for line in lines if line.startswith("stored for the new run"))
        assert "1 call  1,000/10 tok  $0.2500" in stored
        new_run = job.run_id
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        runs = app.screen
        assert isinstance(runs, RunsScreen)
        runs.action_reload()
        await settle(pilot)
        table = runs.query_one(DataTable)
        table.move_cursor(row=[r.id for r in runs.runs].index(new_run))
        await settle(pilot)
        status = plain(runs.query_one("#runs-status", Static))
        assert status.startswith(f"{new_run[:8]} judging: 1 call  1,000/10 tok  $0.2500 |")
