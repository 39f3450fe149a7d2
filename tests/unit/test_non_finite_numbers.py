"""Numbers JSON cannot hold: `--json` writes null and names them, means never overflow to NaN.

A scorer that wrote +inf and -inf used to crash `summary`/`runs` with a traceback (SQLite's
AVG is NULL for that NaN), and `failing --json` wrote `-Infinity`, which jq and JSON.parse
reject.
"""

from __future__ import annotations

import json
import math
import sqlite3
import warnings
from typing import Any

import numpy as np
import pytest

from evaltui.cli.main import main
from evaltui.core.jsonutil import NON_FINITE_KEY, null_non_finite
from evaltui.core.numbers import overflowed_mean
from evaltui.diff.stats import sequential_mean
from evaltui.traces.models import Span, SpanScore
from evaltui.traces.tree import build_tree, tree_json
from tests.storebuilder import StoreBuilder

INF = math.inf


def strict_json(text: str) -> Any:
    """Parse as jq or JSON.parse would: Infinity and NaN are errors."""

    def reject(name: str) -> None:
        raise AssertionError(f"{name} is not JSON")

    return json.loads(text, parse_constant=reject)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def store_with(builder: StoreBuilder, scores: list[float], other: list[float]) -> tuple[str, str]:
    suite = builder.suite("s")
    first = builder.run(suite, "m1")
    second = builder.run(suite, "m2", started_at=1_795_000_001_000)
    for idx, (mine, theirs) in enumerate(zip(scores, other, strict=True)):
        builder.case(first, idx, input=str(idx), scores={"acc": mine})
        builder.case(second, idx, input=str(idx), scores={"acc": theirs})
    builder.finish(second)
    return first, second


def test_plus_and_minus_infinity_in_one_scorer_is_an_undefined_mean_not_a_traceback(
    builder: StoreBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id, _ = store_with(builder, [INF, -INF, 0.5], [0.5, 0.7, 1.0])
    store = str(builder.path)
    code, out, err = run(capsys, "summary", run_id, "--store", store, "--json")
    assert (code, err) == (0, "")
    summary = strict_json(out)
    assert summary["meanScores"] == {"acc": None}
    assert summary[NON_FINITE_KEY] == {"/meanScores/acc": "NaN"}
    code, out, _ = run(capsys, "summary", run_id, "--store", store)
    assert code == 0 and "acc: mean undefined" in out
    code, out, _ = run(capsys, "runs", "--store", store, "--json")
    first = strict_json(out)[0]
    assert code == 0 and first[NON_FINITE_KEY] == {"/summary/meanScores/acc": "NaN"}
    code, out, _ = run(capsys, "runs", "--store", store)
    assert code == 0 and "acc=undefined" in out


def test_failing_json_writes_null_for_an_infinite_score(
    builder: StoreBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id, _ = store_with(builder, [INF, -INF, 0.5], [0.5, 0.7, 1.0])
    code, out, _ = run(capsys, "failing", run_id, "--store", str(builder.path), "--json")
    (case,) = strict_json(out)
    assert code == 0 and case["scores"][0]["score"] is None
    assert case[NON_FINITE_KEY] == {"/scores/0/score": "-Infinity"}


def test_one_infinity_makes_an_infinite_mean_and_finite_means_are_avg_exactly(
    builder: StoreBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    values = [0.1, 0.2, 0.3, 0.7, 0.9]
    run_id, finite_id = store_with(builder, [*values[:-1], INF], values)
    store = str(builder.path)
    _, out, _ = run(capsys, "summary", run_id, "--store", store, "--json")
    assert strict_json(out)[NON_FINITE_KEY] == {"/meanScores/acc": "Infinity"}
    _, out, _ = run(capsys, "summary", finite_id, "--store", store, "--json")
    avg = sqlite3.connect(builder.path).execute(
        "SELECT AVG(score) FROM scores JOIN cases ON cases.id = case_id WHERE run_id = ?",
        (finite_id,),
    )
    assert strict_json(out)["meanScores"]["acc"] == avg.fetchone()[0]  # the package's value


def test_finite_scores_whose_sum_overflows_have_a_finite_mean(
    builder: StoreBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id, _ = store_with(builder, [1.5e308, 1.5e308, -1.2e308], [0.0, 0.0, 0.0])
    _, out, _ = run(capsys, "summary", run_id, "--store", str(builder.path), "--json")
    assert strict_json(out)["meanScores"]["acc"] == pytest.approx(6e307)


def test_diff_json_is_strict_json_with_notes(
    builder: StoreBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    # -inf -> +inf and +inf -> -inf: deltas of +inf and -inf (after the engine's clamping)
    base, cand = store_with(builder, [-INF, INF, 0.5], [INF, -INF, 0.5])
    code, out, err = run(capsys, "diff", base, cand, "--store", str(builder.path), "--json")
    assert code == 0 and "Warning" not in err
    diff = strict_json(out)
    assert diff["caseDiffs"][0][NON_FINITE_KEY] == {
        "/scorerDeltas/acc/baseline": "-Infinity",
        "/scorerDeltas/acc/candidate": "Infinity",
        "/scorerDeltas/acc/delta": "Infinity",
    }
    assert diff["scorerSummaries"]["acc"]["meanDelta"] is None
    assert diff[NON_FINITE_KEY]["/scorerSummaries/acc/meanDelta"] == "NaN"
    code, out, _ = run(capsys, "diff", base, cand, "--store", str(builder.path))
    assert code == 0


def test_a_span_score_of_infinity_is_null_in_trace_json() -> None:
    span = Span(1, "t", "s", None, "custom", "n", 0, 1, "ok", None, None, None, None, None)
    roots = build_tree([span], {1: [SpanScore("acc", INF, 0.5, None, None)]})
    node = strict_json(tree_json(roots))
    assert node["scores"][0]["score"] is None
    assert node[NON_FINITE_KEY] == {"/scores/0/score": "Infinity"}


def test_sequential_mean_never_overflows_to_nan() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy RuntimeWarning on stderr either
        finite = np.array([0.1, 0.2, 0.3])
        assert sequential_mean(finite) == (0.1 + 0.2 + 0.3) / 3  # the JavaScript reduce
        assert sequential_mean(np.array([1.7e308, 1.7e308])) == 1.7e308
        assert sequential_mean(np.array([INF, 1.0])) == INF
        assert sequential_mean(np.array([-INF, 1.0])) == -INF
        assert math.isnan(sequential_mean(np.array([INF, -INF])))  # undefined, said so


def test_overflowed_mean_stays_within_the_values() -> None:
    assert overflowed_mean(1.0e308, 1.7e308, 1.7e308 * 1e-300) == 1.7e308
    assert overflowed_mean(-INF, INF, math.nan) != overflowed_mean(-INF, INF, math.nan)


def test_null_non_finite_walks_deep_values_without_recursion() -> None:
    deep: Any = [INF]
    for _ in range(100_000):
        deep = [deep]
    record = null_non_finite({"value": deep})
    assert list(record[NON_FINITE_KEY].values()) == ["Infinity"]
    same = {"a": [1.0, {"b": 2}]}
    assert null_non_finite(same) is same  # nothing to change: not copied
