"""The store layer against a store written by the real @deepagents/evals 0.29.1.

Expected values were read off the file by hand with the sqlite3 shell.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from evaltui.store import RunStore

GPT_QA = "1f6bffdc-edc4-4e84-9911-cc81ff59a494"
CLAUDE_QA = "1342ba1e-a935-4f10-9b2c-7a1ff0fda1e7"
RETRY_GPT = "b2c5363e-9681-44f4-9a4e-e06db1420844"
BROKEN = "3083927c-83c7-4df4-86d5-78f3c0c83106"
STALE = "eab39d4d-05e3-4ef7-b114-9ed71d7c2967"


@pytest.fixture
async def store(real_store: Path) -> AsyncIterator[RunStore]:
    opened = await RunStore.open(real_store)
    yield opened
    await opened.close()


async def test_lists_every_run_in_started_order_with_ties_kept(store: RunStore) -> None:
    runs = await store.list_runs()
    assert [run.id[:8] for run in runs] == [
        "1f6bffdc",
        "1342ba1e",
        "c723c00c",
        "fcf766f7",  # same started_at as c723c00c: insertion order breaks the tie
        "b2c5363e",
        "c6d9b86d",
        "3083927c",
        "eab39d4d",
    ]
    assert {run.suite_name for run in runs} == {"qa-accuracy", "support-intent"}


async def test_duplicate_suite_names_and_find_by_name_picks_newest(store: RunStore) -> None:
    suites = await store.list_suites()
    assert [suite.name for suite in suites].count("support-intent") == 2
    newest = await store.suite_by_name("support-intent")
    assert newest is not None and newest.id.startswith("84b7711c")


async def test_failed_and_stale_runs(store: RunStore) -> None:
    broken = await store.get_run(BROKEN)
    assert broken.status == "failed" and broken.summary is None
    stale = await store.get_run(STALE)
    assert stale.status == "running" and stale.finished_at is None
    assert stale.is_stale(now_ms=stale.started_at + 2 * 3600 * 1000)
    assert not stale.is_stale(now_ms=stale.started_at + 1000)
    assert await store.count_cases(BROKEN) == 0


async def test_config_threshold_and_null_config(store: RunStore) -> None:
    gpt = await store.get_run(GPT_QA)
    assert gpt.config.is_json and gpt.config.value["promptVersion"] == 2
    assert gpt.threshold == 0.5
    retry = await store.get_run(RETRY_GPT)
    assert retry.config.raw is None and retry.threshold == 0.5


@pytest.mark.parametrize(
    ("run_id", "expected"),
    [
        (GPT_QA, (20, 13, 7, 2677, 1016, 103)),
        (CLAUDE_QA, (20, 16, 4, 1700, 999, 92)),
        (RETRY_GPT, (5, 0, 5, 149, 646, 10)),
        (STALE, (1, 0, 0, 812, 51, 4)),  # one case, no scores: neither pass nor fail
        (BROKEN, (0, 0, 0, 0, 0, 0)),
    ],
)
async def test_run_summary_matches_the_package(
    store: RunStore, run_id: str, expected: tuple[int, ...]
) -> None:
    summary = await store.run_summary(run_id, 0.5)
    assert (
        summary.total_cases,
        summary.pass_count,
        summary.fail_count,
        summary.total_latency_ms,
        summary.total_tokens_in,
        summary.total_tokens_out,
    ) == expected
    run = await store.get_run(run_id)
    if run.summary is not None:
        assert summary == run.summary  # the engine's stored summary agrees


async def test_mean_scores_of_a_run(store: RunStore) -> None:
    summary = await store.run_summary(GPT_QA, 0.5)
    assert summary.mean_scores["exact"] == pytest.approx(0.65)
    assert summary.mean_scores["levenshtein"] == pytest.approx(0.7019288277511961)
    assert summary.to_json().keys() == {
        "totalCases",
        "passCount",
        "failCount",
        "meanScores",
        "totalLatencyMs",
        "totalTokensIn",
        "totalTokensOut",
    }


async def test_failing_cases_attach_only_failing_scores(store: RunStore) -> None:
    failing = await store.failing_cases(GPT_QA, 0.5)
    assert [case.idx for case in failing] == [2, 5, 8, 11, 12, 13, 17]
    by_idx = {case.idx: case for case in failing}
    # idx 17: exact 0 fails, levenshtein exactly 0.5 passes (strict <)
    assert [s.scorer_name for s in by_idx[17].scores] == ["exact"]
    assert sorted(s.scorer_name for s in by_idx[2].scores) == ["exact", "levenshtein"]
    assert by_idx[12].scores[0].reason is not None
    assert by_idx[12].scores[0].reason.startswith("Task failed: Error: timeout exceeded")
    at_09 = await store.failing_cases(GPT_QA, 0.9)
    assert [s.scorer_name for s in {c.idx: c for c in at_09}[17].scores] == [
        "exact",
        "levenshtein",
    ]


async def test_run_index_agrees_with_summary_at_any_threshold(store: RunStore) -> None:
    index = await store.run_index(GPT_QA)
    assert list(index.idxs) == list(range(20))
    for threshold in (0.0, 0.3, 0.5, 0.51, 1.0):
        summary = await store.run_summary(GPT_QA, threshold)
        assert index.pass_fail(threshold) == (summary.pass_count, summary.fail_count)
        failing = await store.failing_cases(GPT_QA, threshold)
        assert [index.idxs[i] for i in index.failing(threshold)] == [c.idx for c in failing]


async def test_case_rows_and_full_case(store: RunStore) -> None:
    index = await store.run_index(GPT_QA)
    rows = await store.case_rows(index.ids[11:14])
    assert [row.idx for row in rows] == [11, 12, 13]
    timeout = rows[1]
    assert timeout.has_error and timeout.output_preview == ""
    assert timeout.input_preview == "What gas do plants absorb?"
    case = await store.get_case(timeout.id)
    assert case.output is None
    assert case.error.is_json and case.error.value["message"] == "timeout exceeded"
    assert case.expected.value == "Carbon dioxide"
    assert case.input.value["category"]
    assert {s.scorer_name for s in case.scores} == {"exact", "levenshtein"}


async def test_object_inputs_preview_as_json(store: RunStore) -> None:
    index = await store.run_index(RETRY_GPT)
    rows = await store.case_rows(index.ids[:1])
    assert rows[0].input_preview.startswith('{"ticket":')


async def test_resolve_run_by_prefix(store: RunStore) -> None:
    assert (await store.resolve_run("1f6b")).id == GPT_QA
    assert (await store.resolve_run(GPT_QA)).id == GPT_QA


async def test_prompts_are_versioned(store: RunStore) -> None:
    prompts = await store.list_prompts()
    assert [(p.name, p.version) for p in prompts] == [
        ("intent-classifier", 1),
        ("qa-system", 2),
        ("qa-system", 1),
    ]


async def test_search_is_case_insensitive_and_literal(store: RunStore) -> None:
    index = await store.run_index(GPT_QA)
    found = await store.search_case_ids(GPT_QA, "PLANTS")
    assert {index.idxs[index.ids.index(i)] for i in found} == {12}
    assert await store.search_case_ids(GPT_QA, "%") == set()


async def test_browsing_never_modifies_the_file(real_store: Path) -> None:
    before = hashlib.sha256(real_store.read_bytes()).hexdigest()
    store = await RunStore.open(real_store)
    for run in await store.list_runs():
        await store.run_summary(run.id, 0.5)
        index = await store.run_index(run.id)
        await store.case_rows(index.ids)
    await store.close()
    assert hashlib.sha256(real_store.read_bytes()).hexdigest() == before


async def test_case_history_follows_the_same_input_across_runs(store: RunStore) -> None:
    claude = await store.get_run(CLAUDE_QA)
    index = await store.run_index(CLAUDE_QA)
    case = await store.get_case(index.ids[2])
    assert case.input.raw is not None
    points = await store.case_history(claude, case.input.raw)
    assert [point.run_id for point in points] == [GPT_QA, CLAUDE_QA]  # oldest first, up to claude
    assert all(point.present for point in points)
    assert points[0].min_score == 0.0  # gpt-4o-mini failed "Who wrote Hamlet?"
    stale = await store.get_run(STALE)
    later = await store.case_history(stale, case.input.raw)
    assert [p.run_id for p in later] == [GPT_QA, CLAUDE_QA, BROKEN, STALE]
    assert [p.present for p in later] == [True, True, False, False]
