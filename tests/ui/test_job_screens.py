"""Pilot tests of selecting cases, J (re-judge) through to the diff, and cancelling."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from textual.widgets import OptionList, ProgressBar, RichLog, Static

from evaltui.core.models import Case
from evaltui.jobs import CaseResult, JobTotals
from evaltui.services.config import Config, ConfigError, load_config
from evaltui.services.rework import JobPlan, execute
from evaltui.store import RunStore
from evaltui.store.writer import StoreWriter
from evaltui.ui.app import StartAt
from evaltui.ui.screens.derived import DerivedScreen
from evaltui.ui.screens.job import JobScreen, JobSetup
from evaltui.ui.screens.run import RunScreen
from evaltui.ui.widgets import CaseTable
from tests.storebuilder import StoreBuilder
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


async def test_the_app_reads_no_config_file_and_shows_the_settings_it_was_handed(
    real_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Settings are loaded once at entry and handed down: a broken config.toml under
    XDG_CONFIG_HOME and a broken ./evaltui.toml are never read by the app or its screens
    (the job setup used to call load_config() itself, reading the developer's own files)."""
    broken = "this is [not toml\n"
    (tmp_path / "evaltui").mkdir()
    (tmp_path / "evaltui" / "config.toml").write_text(broken)
    (tmp_path / "evaltui.toml").write_text(broken)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError):
        load_config()  # the files are broken indeed
    handed = Config()
    app = make_app(real_store, StartAt(run=GPT_QA), handed)
    async with app.run_test(size=(110, 34)) as pilot:
        await settle(pilot)
        await pilot.press("J")
        await settle(pilot)
        setup = app.screen
        assert isinstance(setup, JobSetup) and setup.config is handed
        assert "which judge?" in plain(setup.query_one("#job-heading", Static))
        await pilot.press("escape")


async def test_a_config_error_found_at_entry_is_shown_when_a_job_is_asked_for(
    real_store: Path,
) -> None:
    app = make_app(real_store, StartAt(run=GPT_QA), ConfigError("evaltui.toml: line 1: bad"))
    async with app.run_test(size=(110, 34)) as pilot:
        await settle(pilot)
        await pilot.press("J")
        await settle(pilot)
        assert isinstance(app.screen, RunScreen)  # the setup closed at once
        assert any("line 1: bad" in str(n.message) for n in app._notifications)


def ten_case_run(builder: StoreBuilder) -> str:
    suite = builder.suite("s")
    run = builder.run(suite, "m")
    for idx in range(10):
        builder.case(run, idx, output=f"a{idx}", expected=f"a{idx}", scores={"exact": 1.0})
    builder.finish(run)
    return run


class Interrupt(Exception):
    pass


async def wait_finished(pilot, job: JobScreen) -> None:  # type: ignore[no-untyped-def]
    for _ in range(100):
        if job.finished:
            break
        await pilot.pause(0.1)
    await settle(pilot)


async def test_progress_after_a_resume_reaches_100_percent(builder: StoreBuilder) -> None:
    run_id = ten_case_run(builder)
    config = load_config(None)
    profile = config.judge_profile("exact")
    store = await RunStore.open(builder.path)
    writer = StoreWriter.open(builder.path)
    try:
        run = await store.get_run(run_id)
        ids = tuple((await store.run_index(run_id)).ids)
        plan = JobPlan("rejudge", run, ids, ((profile, config.build_judge(profile)),))

        def stop(result: CaseResult | None, case: Case, totals: JobTotals) -> None:
            if totals.done >= 4:
                raise Interrupt

        with pytest.raises(Interrupt):  # an interrupted attempt saved 4 of the 10 cases
            await execute(plan, store, writer, on_result=stop)
    finally:
        writer.close()
        await store.close()
    app = make_app(builder.path, StartAt(run=run_id))
    async with app.run_test(size=(110, 34)) as pilot:
        await settle(pilot)
        assert app.store is not None
        job = JobScreen(app.store, plan, config)
        await app.push_screen(job)
        await wait_finished(pilot, job)
        bar = job.query_one(ProgressBar)
        assert bar.percentage == 1.0  # not 60 %: the resumed cases count in total and done
        totals = plain(job.query_one("#job-totals", Static))
        assert "10/10 done (4 saved earlier)" in totals


async def test_a_401_stops_the_job_screen_with_one_line(
    builder: StoreBuilder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.fakes.anthropic import FakeAnthropic, error

    run_id = ten_case_run(builder)
    monkeypatch.setenv("FAKE_ANTHROPIC_KEY", "wrong")
    with FakeAnthropic() as fake:
        fake.faults = [error(401) for _ in range(50)]
        toml = tmp_path / "evaltui.toml"
        toml.write_text(
            f'[judges.strict]\ntype = "anthropic"\nmodel = "claude-test"\nbase_url = "{fake.url}"'
            '\napi_key = "${FAKE_ANTHROPIC_KEY}"\nrubric = "Correct."\nconcurrency = 1\n'
        )
        config = load_config(toml, cwd=tmp_path)
        profile = config.judge_profile("strict")
        app = make_app(builder.path, StartAt(run=run_id))
        async with app.run_test(size=(110, 34)) as pilot:
            await settle(pilot)
            assert app.store is not None
            run = await app.store.get_run(run_id)
            ids = tuple((await app.store.run_index(run_id)).ids)
            plan = JobPlan("rejudge", run, ids, ((profile, config.build_judge(profile)),))
            job = JobScreen(app.store, plan, config)
            await app.push_screen(job)
            await wait_finished(pilot, job)
            lines = [line.text for line in job.query_one(RichLog).lines]
            assert job.finished and job.run_id is not None and job.run_id != run_id
            stopped = [line for line in lines if line.startswith("stopped:")]
            assert len(stopped) == 1 and "401" in stopped[0] and "marked failed" in stopped[0]
            await pilot.press("d")  # still compares what the stopped job saved with the source
            await settle(pilot)
            assert isinstance(app.screen, DerivedScreen)
        assert fake.message_calls <= 2
    with sqlite3.connect(builder.path) as db:
        statuses = db.execute("SELECT status FROM runs WHERE id != ?", (run_id,)).fetchall()
    assert statuses == [("failed",)]


async def test_rejudge_from_a_run_whose_threshold_is_out_of_range_is_refused(
    builder: StoreBuilder,
) -> None:
    suite = builder.suite("s")
    run_id = builder.run(suite, "m", config={"threshold": 5})
    builder.case(run_id, 0, output="a", expected="a", scores={"exact": 1.0})
    builder.finish(run_id)
    app = make_app(builder.path, StartAt(run=run_id))
    async with app.run_test(size=(110, 34)) as pilot:
        await settle(pilot)
        await pilot.press("J")
        await settle(pilot)
        setup = app.screen
        assert isinstance(setup, JobSetup)
        await choose(pilot, "exact")
        assert setup.plan is None  # refused before anything is written
        assert "enter: start" not in plain(setup.query_one("#job-summary", Static))
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, JobScreen)
    with sqlite3.connect(builder.path) as db:
        assert db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 1
