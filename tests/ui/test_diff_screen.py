"""Pilot tests of the diff screens: choosing runs, every key, and the pair view."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Static

from evaltui.diff import DiffFilter
from evaltui.ui.screens.diff import DiffScreen
from evaltui.ui.screens.diff_case import DiffCaseScreen
from evaltui.ui.screens.runs import RunsScreen
from evaltui.ui.widgets.diff_table import DiffTable
from tests.ui.helpers import make_app, plain, settle

CLAUDE_QA = "1342ba1e-a935-4f10-9b2c-7a1ff0fda1e7"
GPT_QA = "1f6bffdc-edc4-4e84-9911-cc81ff59a494"


def select(screen: RunsScreen, run_id: str) -> None:
    row = next(i for i, run in enumerate(screen.runs) if run.id == run_id)
    screen.query_one(DataTable).move_cursor(row=row)


async def test_mark_baseline_then_diff_a_candidate(real_store: Path) -> None:
    app = make_app(real_store)
    async with app.run_test(size=(100, 34)) as pilot:
        await settle(pilot)
        runs = app.screen
        assert isinstance(runs, RunsScreen)
        select(runs, CLAUDE_QA)
        await pilot.press("b")
        assert runs.baseline is not None and runs.baseline.id == CLAUDE_QA
        assert "baseline 1342ba1e" in plain(runs.query_one("#runs-status", Static))
        select(runs, GPT_QA)
        await pilot.press("d")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DiffScreen)
        assert screen.diff is not None
        exact = screen.diff.summary.scorer("exact")
        assert round(exact.mean_delta, 4) == -0.15
        assert (exact.improved, exact.regressed, exact.unchanged) == (3, 6, 11)
        assert screen.diff.summary.regressed
        assert "model claude-sonnet-4-5 \u2192 gpt-4o-mini" in plain(
            screen.query_one("#diff-context", Static)
        )
        table = screen.query_one(DiffTable)
        assert table.row_count == 20
        first = table.render_line(1).text
        assert "regr" in first  # worst first
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is runs


async def test_d_without_a_mark_compares_with_the_next_run_of_the_suite(real_store: Path) -> None:
    app = make_app(real_store)
    async with app.run_test(size=(100, 34)) as pilot:
        await settle(pilot)
        runs = app.screen
        assert isinstance(runs, RunsScreen)
        select(runs, GPT_QA)
        await pilot.press("d")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DiffScreen)
        assert (screen.baseline.id, screen.candidate.id) == (GPT_QA, CLAUDE_QA)
        exact = screen.diff.summary.scorer("exact") if screen.diff else None
        assert exact is not None and round(exact.mean_delta, 4) == 0.15


async def test_filter_scorer_swap_and_pair_view(real_store: Path) -> None:
    app = make_app(real_store)
    async with app.run_test(size=(110, 40)) as pilot:
        await settle(pilot)
        runs = app.screen
        assert isinstance(runs, RunsScreen)
        select(runs, CLAUDE_QA)
        await pilot.press("b")
        select(runs, GPT_QA)
        await pilot.press("d")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DiffScreen) and screen.diff is not None
        await pilot.press("f")
        assert screen.filter is DiffFilter.CHANGED
        await pilot.press("f")
        assert screen.filter is DiffFilter.REGRESSED  # type: ignore[comparison-overlap]
        assert len(screen.rows) == screen.diff.summary.regressed_cases
        await pilot.press("f")
        assert screen.filter is DiffFilter.FLIPS
        assert len(screen.rows) == sum(
            1 for row in range(len(screen.diff)) if screen.diff.case(row).flip is not None
        )
        await pilot.press("s")
        assert screen.scorer == "exact"
        assert "\u0394exact" in screen.query_one(DiffTable).render_line(0).text
        await pilot.press("s", "s")
        assert screen.scorer is None
        for _ in range(4):
            await pilot.press("f")
        assert screen.filter is DiffFilter.ALL
        await pilot.press("enter")
        await settle(pilot)
        pair = app.screen
        assert isinstance(pair, DiffCaseScreen)
        title = plain(pair.query_one("#pair-title", Static))
        assert "regressed" in title
        sides = plain(pair.query_one("#pair-sides", Static))
        assert "BASELINE" in sides and "CANDIDATE" in sides
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert pair.position == 1
        assert screen.query_one(DiffTable).cursor == 1
        await pilot.press("left_square_bracket", "escape")
        await settle(pilot)
        assert app.screen is screen
        await pilot.press("w")
        await settle(pilot)
        assert screen.baseline.id == GPT_QA and screen.diff is not None
        assert round(screen.diff.summary.scorer("exact").mean_delta, 4) == 0.15


async def test_renumbered_retry_is_paired_by_input(real_store: Path) -> None:
    app = make_app(real_store)
    async with app.run_test(size=(100, 34)) as pilot:
        await settle(pilot)
        runs = app.screen
        assert isinstance(runs, RunsScreen)
        select(runs, "c723c00c-8f1f-4576-85c1-792797cf72fd")
        await pilot.press("b")
        select(runs, "b2c5363e-9681-44f4-9a4e-e06db1420844")
        await pilot.press("d")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DiffScreen) and screen.diff is not None
        assert screen.diff.summary.pairing.used.value == "input"
        assert "paired by input" in plain(screen.query_one("#diff-cost", Static))


async def test_agreement_view(real_store: Path) -> None:
    from evaltui.ui.screens.agreement import AgreementScreen

    app = make_app(real_store)
    async with app.run_test(size=(110, 40)) as pilot:
        await settle(pilot)
        runs = app.screen
        assert isinstance(runs, RunsScreen)
        select(runs, CLAUDE_QA)
        await pilot.press("b")
        select(runs, GPT_QA)
        await pilot.press("d")
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, AgreementScreen)
        exact = next(
            p for p in screen.pairs if (p.baseline_scorer, p.candidate_scorer) == ("exact", "exact")
        )
        # exact is 0/1: the 3 improved and 6 regressed cases are exactly the disagreements
        assert (exact.compared, exact.agree) == (20, 11)
        assert (exact.base_pass_cand_fail, exact.base_fail_cand_pass) == (6, 3)
        table = plain(screen.query_one("#agreement-table", Static))
        assert "55%" in table
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DiffScreen)


RETRY_BASE = "c723c00c-8f1f-4576-85c1-792797cf72fd"
RETRY_CAND = "b2c5363e-9681-44f4-9a4e-e06db1420844"


async def _staged_ends_as_diff_runs(real_store: Path, base_id: str, cand_id: str) -> str:
    """Open the diff screen, check its first look is marked provisional, let the full diff
    arrive and check the screen ends with `diff_runs`' summary; return the cost line."""
    from evaltui.diff import DiffOptions
    from evaltui.services.compare import diff_runs
    from evaltui.ui.screens import diff as diff_screen

    app = make_app(real_store)
    firsts: list[str] = []
    show = DiffScreen._show_summary

    def record(screen: DiffScreen, diff: object) -> None:
        show(screen, diff)  # type: ignore[arg-type]
        firsts.append(plain(screen.query_one("#diff-cost", Static)))

    DiffScreen._show_summary = record  # type: ignore[method-assign, assignment]
    try:
        async with app.run_test(size=(100, 34)) as pilot:
            await settle(pilot)
            assert app.store is not None
            base = await app.store.get_run(base_id)
            cand = await app.store.get_run(cand_id)
            screen = DiffScreen(app.store, base, cand)
            await app.push_screen(screen)
            await settle(pilot)
            assert len(firsts) == 2  # the first look, then the full diff
            assert "checking" in firsts[0] and "checking" not in firsts[1]
            assert screen.diff is not None and not diff_screen.is_quick(screen.diff)
            expected = await diff_runs(app.store, base, cand, DiffOptions())
            assert screen.diff.summary == expected.summary
            assert list(screen.rows) == list(expected.rows())
            assert "checking" not in plain(screen.query_one("#diff-verdict", Static))
            return firsts[1]
    finally:
        DiffScreen._show_summary = show  # type: ignore[method-assign]


async def test_staged_load_ends_with_the_full_diff(real_store: Path) -> None:
    line = await _staged_ends_as_diff_runs(real_store, CLAUDE_QA, GPT_QA)
    assert "paired by idx" in line


async def test_staged_load_switches_a_renumbered_retry_to_input(real_store: Path) -> None:
    line = await _staged_ends_as_diff_runs(real_store, RETRY_BASE, RETRY_CAND)
    assert "paired by input" in line


async def test_the_full_diff_keeps_the_cursor_case(
    real_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from evaltui.ui.screens import diff as diff_screen

    release = asyncio.Event()
    full_diff = diff_screen.diff_runs  # type: ignore[attr-defined]

    async def held(*args: Any) -> Any:
        await release.wait()
        return await full_diff(*args)

    monkeypatch.setattr(diff_screen, "diff_runs", held)
    app = make_app(real_store)
    async with app.run_test(size=(100, 34)) as pilot:
        await pilot.pause()
        while app.store is None:
            await pilot.pause()
        base = await app.store.get_run(RETRY_BASE)
        cand = await app.store.get_run(RETRY_CAND)
        screen = DiffScreen(app.store, base, cand)
        await app.push_screen(screen)
        while screen.diff is None:
            await pilot.pause(0.01)
        assert diff_screen.is_quick(screen.diff)
        assert "checking" in plain(screen.query_one("#diff-cost", Static))
        table = screen.query_one(DiffTable)
        table.move_to(3)
        before = screen.case_at(3)
        assert before is not None and before.candidate_case_id is not None
        await pilot.press("enter")  # no pair view while the pairing is being checked
        assert app.screen is screen
        release.set()
        await settle(pilot)
        assert screen.diff is not None and not diff_screen.is_quick(screen.diff)
        assert screen.diff.summary.pairing.used.value == "input"
        after = screen.case_at(table.cursor)
        assert after is not None and after.candidate_case_id == before.candidate_case_id
