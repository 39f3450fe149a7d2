"""Pairing and classification on synthetic runs, with hypothesis and a plain-Python oracle."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaltui.core.models import JsonText, Run
from evaltui.diff import (
    CaseChange,
    ColumnsBuilder,
    DiffFilter,
    DiffOptions,
    PairBy,
    RunColumns,
    RunDiff,
    compare,
)
from evaltui.diff.engine import js_key_order
from evaltui.diff.jsonout import to_json_dict
from evaltui.diff.report import markdown, text

Case = tuple[int, str, dict[str, float], bool]  # idx, input text, scores, errored


def make_run(run_id: str, config: dict[str, Any] | None = None, **fields: Any) -> Run:
    values: dict[str, Any] = {
        "id": run_id,
        "suite_id": "suite-1",
        "suite_name": "suite",
        "name": f"suite [{run_id}]",
        "model": "model",
        "config": JsonText.parse(json.dumps(config) if config is not None else None),
        "started_at": 0,
        "finished_at": 1,
        "status": "completed",
    }
    values.update(fields)
    return Run(**values)


def columns(run_id: str, cases: list[Case], latency: int = 100) -> RunColumns:
    builder = ColumnsBuilder(run_id)
    # rows arrive in any order: reversed here, as the engine's completion order would
    rows = [
        (i + 1, idx, f"{run_id}-{i}", latency, 10, 5, errored, text)
        for i, (idx, text, _, errored) in enumerate(cases)
    ]
    builder.add_cases(list(reversed(rows)))
    builder.add_scores(
        [
            (i + 1, name, score)
            for i, (_, _, scores, _) in enumerate(cases)
            for name, score in scores.items()
        ]
    )
    return builder.build()


def run_diff(base: list[Case], cand: list[Case], **options: Any) -> RunDiff:
    return compare(
        make_run("base"),
        make_run("cand"),
        columns("base", base),
        columns("cand", cand),
        DiffOptions(**options),
    )


def oracle(base: list[Case], cand: list[Case], tolerance: float) -> dict[str, Any]:
    """compareRuns on plain dicts (getCases order: idx, then insertion)."""
    base_map = {idx: scores for idx, _, scores, _ in sorted(base, key=lambda c: c[0])}
    cand_map = {idx: scores for idx, _, scores, _ in sorted(cand, key=lambda c: c[0])}
    names = list(dict.fromkeys(n for m in (base_map, cand_map) for s in m.values() for n in s))
    names = list(js_key_order(names))
    common = sorted(idx for idx in base_map if idx in cand_map)
    summaries = {}
    for name in names:
        deltas = [cand_map[i].get(name, 0) - base_map[i].get(name, 0) for i in common]
        changes = [
            "unchanged" if abs(d) <= tolerance else "improved" if d > 0 else "regressed"
            for d in deltas
        ]
        total = 0.0
        for delta in deltas:
            total += delta
        summaries[name] = {
            "meanDelta": total / len(deltas) if deltas else 0,
            "improvedCount": changes.count("improved"),
            "regressedCount": changes.count("regressed"),
            "unchangedCount": changes.count("unchanged"),
        }
    return {"scorerSummaries": summaries, "totalCasesCompared": len(common)}


score = st.sampled_from([0.0, 0.25, 0.5, 0.51, 0.75, 1.0]) | st.floats(0, 1, allow_nan=False)
scores = st.dictionaries(st.sampled_from(["exact", "lev", "2", "judge"]), score, max_size=3)
inputs = st.sampled_from(["a", "b", "c", "d"])


@st.composite
def runs(draw: st.DrawFn, same_inputs: bool = False) -> tuple[list[Case], list[Case]]:
    size = draw(st.integers(0, 12))
    base = [(i, f"q{i}", draw(scores), draw(st.booleans())) for i in range(size)]
    cand_size = draw(st.integers(0, 12))
    cand = [
        (i, f"q{i}" if same_inputs else draw(inputs), draw(scores), draw(st.booleans()))
        for i in range(cand_size)
    ]
    return base, cand


@settings(max_examples=80, deadline=None)
@given(runs(), st.sampled_from([0.0, 0.01, 0.25]))
def test_idx_pairing_is_compare_runs(pair: tuple[list[Case], list[Case]], tol: float) -> None:
    base, cand = pair
    result = to_json_dict(run_diff(base, cand, pair_by=PairBy.IDX, tolerance=tol, resamples=20))
    expected = oracle(base, cand, tol)
    assert result["scorerSummaries"] == expected["scorerSummaries"]
    assert list(result["scorerSummaries"]) == list(expected["scorerSummaries"])
    assert result["totalCasesCompared"] == expected["totalCasesCompared"]


@settings(max_examples=80, deadline=None)
@given(runs(same_inputs=True), st.sampled_from([PairBy.IDX, PairBy.INPUT, PairBy.AUTO]))
def test_swapping_runs_negates_everything(
    pair: tuple[list[Case], list[Case]], pair_by: PairBy
) -> None:
    base, cand = pair
    forward = run_diff(base, cand, pair_by=pair_by, resamples=50).summary
    backward = run_diff(cand, base, pair_by=pair_by, resamples=50).summary
    assert forward.pairing.compared == backward.pairing.compared
    assert (forward.pairing.added, forward.pairing.removed) == (
        backward.pairing.removed,
        backward.pairing.added,
    )
    for mine in forward.scorers:
        theirs = backward.scorer(mine.name)
        assert mine.mean_delta == -theirs.mean_delta
        assert (mine.improved, mine.regressed, mine.unchanged) == (
            theirs.regressed,
            theirs.improved,
            theirs.unchanged,
        )
        assert (mine.flips.pass_to_fail, mine.flips.fail_to_pass) == (
            theirs.flips.fail_to_pass,
            theirs.flips.pass_to_fail,
        )
        assert mine.flips.p_value == theirs.flips.p_value
        if mine.ci.low is not None and theirs.ci.high is not None:
            assert mine.ci.low == pytest.approx(-theirs.ci.high, abs=1e-9)
    assert forward.case_flips.pass_to_fail == backward.case_flips.fail_to_pass
    assert forward.errored_baseline_only == backward.errored_candidate_only


@settings(max_examples=80, deadline=None)
@given(runs(), st.sampled_from([PairBy.IDX, PairBy.INPUT, PairBy.AUTO]))
def test_counts_add_up(pair: tuple[list[Case], list[Case]], pair_by: PairBy) -> None:
    base, cand = pair
    result = run_diff(base, cand, pair_by=pair_by, resamples=20)
    s = result.summary
    assert s.pairing.compared + s.pairing.removed == len(base)
    assert s.pairing.compared + s.pairing.added == len(cand)
    assert len(result) == s.pairing.compared + s.pairing.added + s.pairing.removed
    for m in s.scorers:
        assert m.improved + m.regressed + m.unchanged == s.pairing.compared
    assert sorted(result.rows().tolist()) == list(range(len(result)))
    changed = set(result.rows(DiffFilter.CHANGED).tolist())
    assert set(result.rows(DiffFilter.REGRESSED).tolist()) <= changed
    assert len(result.rows(DiffFilter.ADDED_REMOVED)) == s.pairing.added + s.pairing.removed
    for row in range(len(result)):
        case = result.case(row)
        assert (case.kind == "paired") == (row < s.pairing.compared)
        if case.kind == "paired":
            assert all(d.delta == d.candidate - d.baseline for d in case.scorer_deltas.values())


@given(
    st.floats(0, 1, allow_nan=False),
    st.floats(0, 1, allow_nan=False),
    st.sampled_from([0.0, 0.01, 0.1]),
)
def test_tolerance_boundary(base: float, cand: float, tol: float) -> None:
    result = run_diff([(0, "q", {"s": base}, False)], [(0, "q", {"s": cand}, False)], tolerance=tol)
    change = result.case(0).scorer_deltas["s"].change
    delta = cand - base
    assert change == (
        "unchanged" if abs(delta) <= tol else "improved" if delta > 0 else "regressed"
    )


def test_tolerance_is_inclusive_in_floating_point() -> None:
    # 0.75 - 0.5 is exactly 0.25: unchanged at tolerance 0.25, as compareRuns' `<=`
    result = run_diff([(0, "q", {"s": 0.5}, False)], [(0, "q", {"s": 0.75}, False)], tolerance=0.25)
    assert result.case(0).scorer_deltas["s"].change == "unchanged"
    # 0.51 - 0.5 is 0.010000000000000009 > 0.01: improved, in JavaScript too
    result = run_diff([(0, "q", {"s": 0.5}, False)], [(0, "q", {"s": 0.51}, False)])
    assert result.case(0).scorer_deltas["s"].change == "improved"


def test_missing_scores_count_as_zero() -> None:
    result = run_diff(
        [(0, "q", {"a": 0.8}, False), (1, "r", {}, False)],
        [(0, "q", {"b": 0.6}, False), (1, "r", {"a": 1.0}, False)],
        pair_by=PairBy.IDX,
    )
    case = result.case(0)
    assert case.scorer_deltas["a"].delta == -0.8 and case.scorer_deltas["a"].candidate_missing
    assert case.scorer_deltas["b"].delta == 0.6 and case.scorer_deltas["b"].baseline_missing
    assert case.baseline_scores == {"a": 0.8} and case.candidate_scores == {"b": 0.6}
    assert result.summary.scorer("a").missing_candidate == 1
    # an unscored case is neither pass nor fail: no case-level flip
    assert result.case(1).flip is None and result.case(1).baseline_status == "unscored"


def test_flips_at_the_threshold() -> None:
    base = [(0, "q", {"s": 0.9, "t": 0.9}, False), (1, "r", {"s": 0.2, "t": 0.9}, False)]
    cand = [(0, "q", {"s": 0.9, "t": 0.4}, False), (1, "r", {"s": 0.5, "t": 0.9}, False)]
    result = run_diff(base, cand, threshold=0.5)
    first, second = result.case(0), result.case(1)
    assert first.flip == "pass_to_fail" and first.scorer_deltas["t"].flip == "pass_to_fail"
    assert second.flip == "fail_to_pass"  # 0.5 >= 0.5 passes, as getRunSummary
    assert result.summary.case_flips.pass_to_fail == 1
    assert result.summary.scorer("s").flips.fail_to_pass == 1
    assert result.case(0).change == CaseChange.REGRESSED
    assert result.rows(DiffFilter.FLIPS).tolist() == [0, 1]
    assert result.rows(DiffFilter.FLIPS, scorer="t").tolist() == [0]
    assert run_diff(base, cand, threshold=0.4).summary.case_flips.pass_to_fail == 0


def test_worst_first_and_mixed() -> None:
    base = [(i, f"q{i}", {"a": 0.5, "b": 0.5}, False) for i in range(4)]
    cand = [
        (0, "q0", {"a": 0.4, "b": 0.5}, False),
        (1, "q1", {"a": 0.0, "b": 0.9}, False),
        (2, "q2", {"a": 0.5, "b": 0.5}, False),
        (3, "q3", {"a": 0.6, "b": 0.3}, False),
    ]
    result = run_diff(base, cand)
    assert result.rows(DiffFilter.REGRESSED).tolist() == [1, 3, 0]
    assert result.case(1).change == CaseChange.MIXED
    assert result.rows(DiffFilter.REGRESSED, scorer="b").tolist() == [3]
    assert result.rows(DiffFilter.IMPROVED, scorer="b").tolist() == [1]
    assert result.rows().tolist() == [1, 3, 0, 2]


def test_input_pairing_pairs_duplicates_in_idx_order() -> None:
    base = [(0, "A", {"s": 1.0}, False), (1, "B", {"s": 1.0}, False), (2, "A", {"s": 0.0}, False)]
    cand = [(0, "A", {"s": 1.0}, False), (1, "A", {"s": 1.0}, False), (2, "A", {"s": 1.0}, False)]
    result = run_diff(base, cand, pair_by=PairBy.INPUT)
    pairs = [(result.case(r).baseline_idx, result.case(r).candidate_idx) for r in range(2)]
    assert pairs == [(0, 0), (2, 1)]
    assert result.case(2).kind == "removed" and result.case(2).baseline_idx == 1
    assert result.case(3).kind == "added" and result.case(3).candidate_idx == 2
    assert result.summary.pairing.mismatched_inputs == 1  # idx 1: B vs A


def test_auto_pairing() -> None:
    same = [(i, f"q{i}", {"s": 1.0}, False) for i in range(3)]
    assert run_diff(same, same).summary.pairing.used == PairBy.IDX
    shifted = [(i, f"q{i + 1}", {"s": 0.0}, False) for i in range(2)]
    s = run_diff(same, shifted).summary
    assert s.pairing.used == PairBy.INPUT and s.pairing.mismatched_inputs == 2
    assert (s.pairing.compared, s.pairing.removed) == (2, 1)
    idx = run_diff(same, shifted, pair_by=PairBy.IDX).summary
    assert idx.pairing.used == PairBy.IDX and "differ at 2 of 2" in idx.pairing.reason


def test_auto_keeps_idx_when_no_input_is_shared() -> None:
    base = [(i, f"q{i} at 10:00", {"s": 1.0}, False) for i in range(3)]
    cand = [(i, f"q{i} at 11:00", {"s": 0.0}, False) for i in range(3)]
    s = run_diff(base, cand).summary
    assert s.pairing.used == PairBy.IDX and s.pairing.compared == 3
    assert s.pairing.mismatched_inputs == 3 and "would compare nothing" in s.pairing.reason
    assert run_diff(base, cand, pair_by=PairBy.INPUT).summary.pairing.compared == 0


def test_duplicate_idx_keeps_the_last_case_as_compare_runs() -> None:
    base = [(0, "q", {"s": 0.2}, False), (0, "q", {"s": 0.9}, False)]
    cand = [(0, "q", {"s": 0.9}, False)]
    result = run_diff(base, cand, pair_by=PairBy.IDX)
    assert result.summary.scorer("s").mean_delta == 0.0  # the later row (0.9) wins
    assert result.summary.pairing.removed == 1  # the shadowed duplicate is not dropped


def test_scorer_stored_twice_keeps_the_last_row() -> None:
    builder = ColumnsBuilder("r")
    builder.add_cases([(1, 0, "c", 1, 1, 1, False, "q")])
    builder.add_scores([(1, "s", 0.3), (1, "s", 0.7), (99, "s", 0.1)])  # 99: no such case
    built = builder.build()
    assert built.scores["s"][0] == 0.7 and built.min_scores[0] == 0.3


def test_non_numeric_columns_are_tolerated() -> None:
    builder = ColumnsBuilder("r")
    builder.add_cases([(1, 0, "c", None, "x", 3, False, None), (2, 1, "d", 5, 2, 1.5, True, "q")])
    builder.add_scores([(1, "s", "bad"), (2, "s", 1)])
    built = builder.build()
    assert (built.totals.latency_ms, built.totals.tokens_in, built.totals.tokens_out) == (5, 2, 4.5)
    assert np.isnan(built.scores["s"][0]) and built.scores["s"][1] == 1.0
    assert list(built.errored) == [False, True]


def test_context_differences() -> None:
    base_run = make_run(
        "base",
        {"promptName": "qa", "promptVersion": 1, "threshold": 0.5, "temperature": 0},
        model="a",
    )
    cand_run = make_run(
        "cand",
        {"promptName": "qa", "promptVersion": 2, "threshold": 0.7, "top_p": 1},
        model="b",
        suite_id="suite-2",
    )
    base = columns("base", [(0, "q", {"exact": 1.0}, False)])
    cand = columns("cand", [(0, "q", {"exact": 1.0, "judge": 1.0}, False), (1, "r", {}, False)])
    s = compare(base_run, cand_run, base, cand).summary
    assert [(c.key, c.baseline, c.candidate) for c in s.context] == [
        ("suite", "suite (suite-1)", "suite (suite-2)"),
        ("model", "a", "b"),
        ("prompt", "qa v1", "qa v2"),
        ("scorers", "exact", "exact, judge"),
        ("threshold", "0.5", "0.7"),
        ("cases", "1", "2"),
        ("config.temperature", "0", None),
        ("config.top_p", None, "1"),
    ]
    assert s.threshold == 0.5  # the baseline's, unless --threshold


def test_reports_render() -> None:
    base = [(i, f"q{i}", {"exact": 1.0}, False) for i in range(30)]
    cand = [(i, f"q{i}", {"exact": 0.0 if i < 20 else 1.0}, i == 3) for i in range(30)]
    result = run_diff(base, cand)
    s = result.summary
    assert s.verdict == "regression" and s.regressed
    preview = "a | **b** [x](y) # <i>"  # an input that would otherwise format the report
    md = markdown(result, previews={result.case(0).baseline_case_id or "": preview})
    assert md.startswith("### evaltui diff: :x: **Regression beyond noise**")
    assert "| exact | -0.6667 |" in md and "Top 10 regressed" in md
    assert "a \\| \\*\\*b\\*\\* \\[x\\](y) \\# &lt;i&gt;" in md
    plain = text(result)
    assert "REGRESSION" in plain and "pass->fail 20" in plain


def test_no_pairs_at_all() -> None:
    result = run_diff([], [(0, "q", {"s": 1.0}, False)])
    s = result.summary
    assert s.pairing.compared == 0 and s.pairing.added == 1
    assert s.scorer("s").mean_delta == 0 and s.scorer("s").ci.low is None
    payload = to_json_dict(result)
    assert payload["caseDiffs"] == [] and payload["added"] == [{"index": 0, "caseId": "cand-0"}]
    assert "n/a" in markdown(result) or "| s |" in markdown(result)
