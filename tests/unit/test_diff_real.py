"""Run diffs against the store written by the real @deepagents/evals 0.29.1.

The compareRuns values were produced by the package itself: `compareRuns` from
`dist/comparison` of @deepagents/evals 0.29.1 on this file, under Node 22.23.3 (all 64
ordered pairs of its 8 runs matched `evaltui diff --pair-by idx --json` key for key, with the
same key order). `reference_compare_runs` below re-implements that JavaScript line by line on
the package's own SQL, so the check runs without Node.
"""

from __future__ import annotations

import hashlib
import math
import sqlite3
from collections.abc import AsyncIterator
from itertools import product
from pathlib import Path
from typing import Any

import pytest

from evaltui.diff import DiffFilter, DiffOptions, PairBy, RunDiff
from evaltui.diff.jsonout import iter_json, to_json_dict
from evaltui.services.compare import diff_runs, load_run_columns, resolve_ref
from evaltui.store import RunStore, StoreError

GPT_QA = "1f6bffdc-edc4-4e84-9911-cc81ff59a494"
CLAUDE_QA = "1342ba1e-a935-4f10-9b2c-7a1ff0fda1e7"
GPT_SUPPORT = "c723c00c-8f1f-4576-85c1-792797cf72fd"
CLAUDE_SUPPORT = "fcf766f7-7c49-441f-a8bc-be7d48f3ae0d"
RETRY_GPT = "b2c5363e-9681-44f4-9a4e-e06db1420844"
RETRY_CLAUDE = "c6d9b86d-bc85-4cc0-8353-eabb63e925c0"
# compareRuns' levenshtein meanDelta for claude -> gpt, as JavaScript computed it.
LEVENSHTEIN_JS = -0.14145352518998028
COMPARE_KEYS = ("caseDiffs", "scorerSummaries", "costDelta", "totalCasesCompared", "regression")


@pytest.fixture
async def store(real_store: Path) -> AsyncIterator[RunStore]:
    opened = await RunStore.open(real_store)
    yield opened
    await opened.close()


async def diff(store: RunStore, base: str, cand: str, **options: Any) -> RunDiff:
    baseline, candidate = await store.get_run(base), await store.get_run(cand)
    return await diff_runs(store, baseline, candidate, DiffOptions(**options))


def reference_compare_runs(path: Path, base: str, cand: str) -> dict[str, Any]:
    """The package's compareRuns (0.29.1 dist/comparison), transcribed, on its own SQL."""
    db = sqlite3.connect(path)

    def all_cases_with_scores(run_id: str) -> list[tuple[int, dict[str, float]]]:
        cases = db.execute("SELECT id, idx FROM cases WHERE run_id = ? ORDER BY idx", (run_id,))
        rows = db.execute(
            """SELECT c.*, s.scorer_name, s.score, s.reason as score_reason
               FROM cases c JOIN scores s ON s.case_id = c.id
               WHERE c.run_id = ? AND s.score < ? ORDER BY c.idx""",
            (run_id, math.inf),
        ).fetchall()
        scores: dict[str, dict[str, float]] = {}
        for row in rows:
            scores.setdefault(row[0], {})[row[-3]] = row[-2]
        return [(idx, scores.get(case_id, {})) for case_id, idx in cases]

    def totals(run_id: str) -> tuple[int, int, int]:
        row = db.execute(
            """SELECT COALESCE(SUM(c.latency_ms), 0), COALESCE(SUM(c.tokens_in), 0),
                      COALESCE(SUM(c.tokens_out), 0) FROM cases c WHERE c.run_id = ?""",
            (run_id,),
        ).fetchone()
        return row[0], row[1], row[2]

    base_map = dict(all_cases_with_scores(base))
    cand_map = dict(all_cases_with_scores(cand))
    names = list(dict.fromkeys(n for m in (base_map, cand_map) for s in m.values() for n in s))
    common = sorted(idx for idx in base_map if idx in cand_map)
    deltas: dict[str, list[float]] = {name: [] for name in names}
    counts = {name: {"improved": 0, "regressed": 0, "unchanged": 0} for name in names}
    case_diffs = []
    for idx in common:
        entry: dict[str, Any] = {"index": idx, "scorerDeltas": {}}
        for name in names:
            baseline = base_map[idx].get(name, 0)
            candidate = cand_map[idx].get(name, 0)
            delta = candidate - baseline
            change = "unchanged" if abs(delta) <= 0.01 else "improved" if delta > 0 else "regressed"
            entry["scorerDeltas"][name] = {
                "baseline": baseline,
                "candidate": candidate,
                "delta": delta,
                "change": change,
            }
            deltas[name].append(delta)
            counts[name][change] += 1
        case_diffs.append(entry)
    summaries = {}
    for name in names:
        total = 0.0
        for delta in deltas[name]:
            total += delta
        summaries[name] = {
            "meanDelta": total / len(deltas[name]) if deltas[name] else 0,
            "improvedCount": counts[name]["improved"],
            "regressedCount": counts[name]["regressed"],
            "unchangedCount": counts[name]["unchanged"],
        }
    (bl, bi, bo), (cl, ci, co) = totals(base), totals(cand)
    details = {
        n: {"meanDelta": s["meanDelta"], "exceeds": s["meanDelta"] < -0.05}
        for n, s in summaries.items()
    }
    db.close()
    return {
        "caseDiffs": case_diffs,
        "scorerSummaries": summaries,
        "costDelta": {"latencyDeltaMs": cl - bl, "tokenInDelta": ci - bi, "tokenOutDelta": co - bo},
        "totalCasesCompared": len(common),
        "regression": {
            "regressed": any(d["exceeds"] for d in details.values()),
            "details": details,
        },
    }


async def test_qa_claude_to_gpt_is_the_package_regression(store: RunStore) -> None:
    result = await diff(store, CLAUDE_QA, GPT_QA)
    s = result.summary
    assert s.pairing.used == PairBy.IDX and s.pairing.mismatched_inputs == 0
    exact, lev = s.scorer("exact"), s.scorer("levenshtein")
    assert exact.mean_delta == pytest.approx(-0.15, abs=1e-12)
    assert (exact.improved, exact.regressed, exact.unchanged) == (3, 6, 11)
    assert lev.mean_delta == LEVENSHTEIN_JS  # bit for bit what JavaScript computes
    assert lev.mean_delta == pytest.approx(-0.1415, abs=1e-4)
    assert (lev.improved, lev.regressed, lev.unchanged) == (3, 6, 11)
    assert exact.exceeds and lev.exceeds and s.regressed
    assert (s.cost.latency_delta_ms, s.cost.token_in_delta, s.cost.token_out_delta) == (
        977,
        17,
        11,
    )
    payload = to_json_dict(result)
    assert payload["costDelta"] == {"latencyDeltaMs": 977, "tokenInDelta": 17, "tokenOutDelta": 11}
    assert payload["regression"]["regressed"] is True
    assert payload["totalCasesCompared"] == 20
    assert [c["index"] for c in payload["caseDiffs"]] == list(range(20))


async def test_qa_regression_is_within_noise(store: RunStore) -> None:
    s = (await diff(store, CLAUDE_QA, GPT_QA)).summary
    exact = s.scorer("exact")
    assert exact.ci.low is not None and exact.ci.high is not None
    assert exact.ci.low < exact.mean_delta < exact.ci.high and exact.ci.high > 0
    assert (exact.flips.pass_to_fail, exact.flips.fail_to_pass) == (6, 3)
    assert exact.flips.p_value == pytest.approx(260 / 512)  # 2 * P(X <= 3), X ~ B(9, 1/2)
    assert exact.verdict == "possible_regression" and s.verdict == "possible_regression"
    assert (s.case_flips.pass_to_fail, s.case_flips.fail_to_pass) == (6, 3)
    assert [(c.key, c.baseline, c.candidate) for c in s.context] == [
        ("model", "claude-sonnet-4-5", "gpt-4o-mini")
    ]


async def test_qa_reversed(store: RunStore) -> None:
    s = (await diff(store, GPT_QA, CLAUDE_QA)).summary
    assert s.scorer("exact").mean_delta == pytest.approx(0.15, abs=1e-12)
    assert s.scorer("levenshtein").mean_delta == -LEVENSHTEIN_JS
    assert (s.scorer("exact").improved, s.scorer("exact").regressed) == (6, 3)
    assert not s.regressed and s.verdict == "no_change"
    assert s.cost.latency_delta_ms == -977


async def test_errors_in_one_run_only(store: RunStore) -> None:
    result = await diff(store, CLAUDE_QA, GPT_QA)
    rows = result.rows(DiffFilter.ERRORED)
    cases = [result.case(int(row)) for row in rows]
    # claude-sonnet-4-5 threw a 429 at idx 7; gpt-4o-mini timed out at idx 12
    assert [(c.baseline_idx, c.errored) for c in cases] == [
        (12, "candidate_only"),
        (7, "baseline_only"),
    ]
    assert result.summary.errored_candidate_only == 1
    assert result.summary.errored_baseline_only == 1


async def test_retry_suite_is_paired_by_input(store: RunStore) -> None:
    result = await diff(store, GPT_SUPPORT, RETRY_GPT)
    s = result.summary
    assert s.pairing.requested == PairBy.AUTO and s.pairing.used == PairBy.INPUT
    assert s.pairing.mismatched_inputs == 5 and "differ at 5 of 5" in s.pairing.reason
    assert (s.pairing.compared, s.pairing.removed, s.pairing.added) == (5, 15, 0)
    # the retry re-ran the 5 failing cases of the original run: idx 1, 4, 9, 14, 18
    pairs = [result.case(row) for row in range(s.pairing.compared)]
    assert [(c.baseline_idx, c.candidate_idx) for c in pairs] == [
        (1, 0),
        (4, 1),
        (9, 2),
        (14, 3),
        (18, 4),
    ]
    assert all(m.mean_delta == 0 and m.regressed == 0 for m in s.scorers)
    assert not s.regressed and s.verdict == "no_change"
    assert {c.key for c in s.context} == {"suite", "cases"}
    suite = next(c for c in s.context if c.key == "suite")
    assert suite.baseline == "support-intent (2ca777da)"
    assert suite.candidate == "support-intent (84b7711c)"
    removed = result.rows(DiffFilter.ADDED_REMOVED)
    assert len(removed) == 15 and result.case(int(removed[0])).kind == "removed"
    payload = to_json_dict(result)
    assert payload["caseDiffs"][0]["index"] == 1 and payload["caseDiffs"][0]["candidateIndex"] == 0
    removed_idx = [0, 2, 3, 5, 6, 7, 8, 10, 11, 12, 13, 15, 16, 17, 19]
    assert [r["index"] for r in payload["removed"]] == removed_idx


async def test_idx_pairing_reproduces_the_misleading_compare_runs(
    store: RunStore, real_store: Path
) -> None:
    result = await diff(store, GPT_SUPPORT, RETRY_GPT, pair_by=PairBy.IDX)
    s = result.summary
    assert s.pairing.used == PairBy.IDX and "differ at 5 of 5" in s.pairing.reason
    exact = s.scorer("exact")
    assert (exact.mean_delta, exact.regressed, exact.unchanged) == (-0.6, 3, 2)
    assert s.regressed
    payload = to_json_dict(result)
    expected = reference_compare_runs(real_store, GPT_SUPPORT, RETRY_GPT)
    assert {key: payload[key] for key in COMPARE_KEYS} == expected


async def test_claude_retry(store: RunStore) -> None:
    s = (await diff(store, CLAUDE_SUPPORT, RETRY_CLAUDE)).summary
    assert s.pairing.used == PairBy.INPUT and s.pairing.compared == 2
    assert not s.regressed
    s_idx = (await diff(store, CLAUDE_SUPPORT, RETRY_CLAUDE, pair_by="idx")).summary
    assert s_idx.scorer("exact").mean_delta == -1.0 and s_idx.regressed


async def test_every_pair_of_runs_matches_compare_runs(store: RunStore, real_store: Path) -> None:
    runs = [run.id for run in await store.list_runs()]
    for base, cand in product(runs, runs):
        payload = to_json_dict(await diff(store, base, cand, pair_by=PairBy.IDX))
        got = {key: payload[key] for key in COMPARE_KEYS}
        assert got == reference_compare_runs(real_store, base, cand), (base, cand)
        assert list(got["scorerSummaries"]) == list(
            reference_compare_runs(real_store, base, cand)["scorerSummaries"]
        )


async def test_streamed_json_is_the_same_object(store: RunStore) -> None:
    import json

    for base, cand in ((CLAUDE_QA, GPT_QA), (GPT_SUPPORT, RETRY_GPT)):
        result = await diff(store, base, cand)
        expected = to_json_dict(result)
        for indent in (True, False):
            assert json.loads("".join(iter_json(result, indent=indent))) == expected


async def test_suite_at_latest(store: RunStore) -> None:
    # the newest suite named support-intent is the retry suite; its two runs share a
    # started_at and the package's getLatestCompletedRun picks b2c5363e (checked in Node)
    assert (await resolve_ref(store, "support-intent@latest")).id == RETRY_GPT
    assert (await resolve_ref(store, "qa-accuracy@latest")).id == CLAUDE_QA
    assert (await resolve_ref(store, "qa-accuracy@latest:gpt-4o-mini")).id == GPT_QA
    assert (await resolve_ref(store, "1f6b")).id == GPT_QA
    with pytest.raises(StoreError, match="no suite named 'nope'"):
        await resolve_ref(store, "nope@latest")
    with pytest.raises(StoreError, match="has no completed run of model 'o3-mini'"):
        await resolve_ref(store, "qa-accuracy@latest:o3-mini")  # only a stale running run


async def test_columns_of_a_run(store: RunStore) -> None:
    columns = await load_run_columns(store, GPT_QA)
    assert list(columns.idx) == list(range(20)) and columns.scorer_names == ("exact", "levenshtein")
    summary = await store.run_summary(GPT_QA, 0.5)
    assert columns.totals.latency_ms == summary.total_latency_ms
    assert (columns.totals.tokens_in, columns.totals.tokens_out) == (1016, 103)
    assert int(columns.errored.sum()) == 1 and bool(columns.errored[12])
    assert columns.digests.shape == (20, 2)
    stale = await load_run_columns(store, "eab39d4d-05e3-4ef7-b114-9ed71d7c2967")
    assert len(stale) == 1 and stale.scores == {} and math.isnan(stale.min_scores[0])


async def test_diffing_never_modifies_the_file(real_store: Path) -> None:
    before = hashlib.sha256(real_store.read_bytes()).hexdigest()
    store = await RunStore.open(real_store)
    await diff(store, CLAUDE_QA, GPT_QA)
    await diff(store, GPT_SUPPORT, RETRY_GPT)
    await store.close()
    assert hashlib.sha256(real_store.read_bytes()).hexdigest() == before
