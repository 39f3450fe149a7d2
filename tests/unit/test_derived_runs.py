"""Derived runs (re-judges and re-runs): recognised from `runs.config`, kept out of
`SUITE@latest`, trends and case history unless asked, compared with their source on their own
cases only, and a scorer of one run only is not compared by `evaltui diff` (issue 8, finding 4)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from evaltui.cli.main import main
from evaltui.core.models import JsonText, Run, parse_derived
from evaltui.diff import DiffOptions, Flip, Verdict
from evaltui.diff.derived import DerivedComparison
from evaltui.services.compare import diff_runs, resolve_ref
from evaltui.services.derived import load_derived_comparison
from evaltui.store import RunStore, StoreError
from tests.derivedstores import CLAUDE_QA, derived_config, lineage, rejudge
from tests.storebuilder import BASE_MS, StoreBuilder


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# -- recognising a derived run ----------------------------------------------------------


def test_derived_is_parsed_from_what_rework_writes() -> None:
    config = derived_config("rerun", "src-run-id-123", ["c1", "c2", "c3"], ["exact"], "agent")
    derived = parse_derived(JsonText.parse(json.dumps(config)))
    assert derived is not None
    assert (derived.kind, derived.source_run_id, derived.case_ids) == (
        "rerun",
        "src-run-id-123",
        ("c1", "c2", "c3"),
    )
    assert derived.judges == ("exact",) and derived.task == "agent"
    assert derived.label() == "re-run of src-run-, 3 cases, task agent, judge exact"
    one = parse_derived(JsonText.parse(json.dumps(derived_config("rejudge", "s", ["c"], []))))
    assert one is not None and one.label() == "re-judge of s, 1 case"


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "not json",
        "[1, 2]",
        '"text"',
        "{}",
        '{"evaltui": null}',
        '{"evaltui": [1]}',
        '{"evaltui": {"kind": "import"}}',
        '{"evaltui": {"kind": ["rejudge"]}}',
        '{"evaltui": {"sourceRunId": "x"}}',
    ],
)
def test_an_ordinary_or_foreign_config_is_not_derived(raw: str | None) -> None:
    assert parse_derived(JsonText.parse(raw)) is None


def test_a_malformed_derived_record_is_read_tolerantly() -> None:
    record: dict[str, Any] = {
        "kind": "rejudge",
        "sourceRunId": 42,
        "caseIds": ["a", 3, None, "b"],
        "judges": [{"name": "exact"}, "includes", {"name": 7}, None, {"type": "x"}],
        "task": {"name": ["x"]},
    }
    derived = parse_derived(JsonText.parse(json.dumps({"evaltui": record})))
    assert derived is not None
    assert derived.source_run_id is None and derived.case_ids == ("a", "b")
    assert derived.judges == ("exact", "includes") and derived.task is None
    assert derived.label() == "re-judge of ?, 2 cases, judges exact, includes"
    record["caseIds"] = "abc"
    record["judges"] = {"name": "exact"}
    odd = parse_derived(JsonText.parse(json.dumps({"evaltui": record})))
    assert odd is not None and odd.case_ids == () and odd.judges == ()


def test_runs_json_and_table_mark_the_rejudge(
    real_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    new = rejudge(real_store, capsys, "1342", "--judge", "exact", "--cases", "0-2")
    code, out, _ = run_cli(capsys, "runs", "--store", str(real_store), "--json")
    assert code == 0
    runs = {run["id"]: run for run in json.loads(out)}
    assert runs[new]["derived"] == {
        "kind": "rejudge",
        "sourceRunId": CLAUDE_QA,
        "cases": 3,
        "judges": ["exact"],
        "task": None,
    }
    assert all(run["derived"] is None for run_id, run in runs.items() if run_id != new)
    code, out, _ = run_cli(capsys, "runs", "--store", str(real_store))
    line = next(line for line in out.splitlines() if line.startswith(new[:8]))
    assert "re-judge of 1342ba1e, 3 cases, judge exact" in line


# -- SUITE@latest, case history ---------------------------------------------------------


def test_suite_latest_skips_derived_runs_unless_asked(
    real_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    new = rejudge(real_store, capsys, "1342", "--judge", "exact", "--cases", "0-2")

    async def resolve(include: bool) -> Run:
        store = await RunStore.open(real_store)
        try:
            return await resolve_ref(store, "qa-accuracy@latest", include_derived=include)
        finally:
            await store.close()

    assert asyncio.run(resolve(False)).id == CLAUDE_QA
    assert asyncio.run(resolve(True)).id == new
    args = ("diff", "1f6b", "qa-accuracy@latest", "--store", str(real_store), "--json")
    code, out, _ = run_cli(capsys, *args)
    assert code == 0 and json.loads(out)["candidate"]["id"] == CLAUDE_QA
    code, out, _ = run_cli(capsys, *args, "--include-derived")
    assert code == 0 and json.loads(out)["candidate"]["id"] == new


def test_a_suite_with_only_derived_completed_runs_says_so(
    builder: StoreBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = builder.suite("only")
    source = builder.run(suite, "m")  # still running: not a candidate for @latest
    derived = builder.run(suite, "m", config=derived_config("rejudge", source, [], ["exact"]))
    builder.finish(derived)
    code, out, err = run_cli(capsys, "diff", "only@latest", derived, "--store", str(builder.path))
    assert code == 2 and out == ""
    assert "not a re-judge or re-run" in err and "--include-derived" in err
    assert err.count("\n") == 1
    code, _, _ = run_cli(
        capsys, "diff", "only@latest", derived, "--store", str(builder.path), "--include-derived"
    )
    assert code == 0


async def test_case_history_skips_derived_runs_unless_asked(builder: StoreBuilder) -> None:
    runs = lineage(builder)
    store = await RunStore.open(runs.path)
    try:
        b = await store.get_run(runs.b)
        case = await store.get_case(runs.b_cases[1])
        assert case.input.raw is not None
        history = await store.case_history(b, case.input.raw, 12)
        assert [p.run_id for p in history] == [runs.a, runs.b]
        asked = await store.case_history(b, case.input.raw, 12, include_derived=True)
        assert [p.run_id for p in asked] == [runs.a, runs.d, runs.b]
        # the derived run's own history shows itself (highlighted), not other derived runs
        d = await store.get_run(runs.d)
        own = await store.case_history(d, case.input.raw, 12)
        assert [p.run_id for p in own] == [runs.a, runs.d]
        # the limit counts the runs shown, not the derived ones skipped
        assert [p.run_id for p in await store.case_history(b, case.input.raw, 1)] == [runs.b]
    finally:
        await store.close()


# -- a derived run against its source ---------------------------------------------------


async def test_derived_comparison_side_by_side_agreement_and_flips(
    builder: StoreBuilder,
) -> None:
    runs = lineage(builder)
    store = await RunStore.open(runs.path)
    try:
        d = await store.get_run(runs.d)
        comparison = await load_derived_comparison(store, d)
    finally:
        await store.close()
    assert comparison.source.id == runs.a
    dot = " \u00b7 "
    assert comparison.header() == f"re-judge of suite [m] {runs.a[:8]}{dot}4 cases{dot}judge exact"
    assert [(c.idx, c.source_scores, c.derived_scores) for c in comparison.cases] == [
        (0, {"acc": 1.0}, {"exact": 1.0}),
        (1, {"acc": 0.0}, {"exact": 1.0}),
        (2, {"acc": 1.0}, {"exact": 0.0}),
        (3, {"acc": 0.0}, {"exact": 0.0}),
    ]
    assert [c.source_case_id for c in comparison.cases] == runs.a_cases
    assert [c.flip for c in comparison.cases] == [
        None,
        Flip.FAIL_TO_PASS,
        Flip.PASS_TO_FAIL,
        None,
    ]
    (pair,) = comparison.agreements
    assert (pair.baseline_scorer, pair.candidate_scorer) == ("acc", "exact")
    assert (pair.compared, pair.agree, pair.kappa) == (4, 2, 0.0)
    assert [(f.judge, f.against, f.idx, f.flip) for f in comparison.judge_flips] == [
        ("exact", "case", 1, Flip.FAIL_TO_PASS),
        ("exact", "case", 2, Flip.PASS_TO_FAIL),
    ]


def test_rejudge_of_three_cases_agrees_with_undefined_kappa(
    real_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    new = rejudge(real_store, capsys, "1342", "--judge", "exact", "--cases", "0-2")

    async def compare() -> DerivedComparison:
        store = await RunStore.open(real_store)
        try:
            return await load_derived_comparison(store, await store.get_run(new))
        finally:
            await store.close()

    comparison = asyncio.run(compare())
    assert len(comparison.cases) == 3 and comparison.missing == 0
    exact = next(p for p in comparison.agreements if p.baseline_scorer == "exact")
    # the same judge on three passing cases: 100% agreement, and kappa undefined (not 1.00)
    assert (exact.compared, exact.agree, exact.kappa) == (3, 3, None)
    assert comparison.judge_flips == ()


async def test_a_missing_source_is_one_clear_error(builder: StoreBuilder) -> None:
    suite = builder.suite("qa")
    d = builder.run(suite, "m", config=derived_config("rejudge", "gone-run-id", [], ["exact"]))
    store = await RunStore.open(builder.path)
    try:
        with pytest.raises(StoreError, match=r"the source run gone-run of .* is not in"):
            await load_derived_comparison(store, await store.get_run(d))
    finally:
        await store.close()


# -- evaltui diff: a scorer of one run only, a derived candidate's other cases -----------


def one_sided_store(builder: StoreBuilder) -> tuple[str, str]:
    suite = builder.suite("qa")
    base = builder.run(suite, "m")
    for i in range(10):
        builder.case(base, i, scores={"exact": 1.0, "tone": 0.9})
    builder.finish(base)
    cand = builder.run(suite, "m", started_at=BASE_MS + 60_000)
    for i in range(10):
        builder.case(cand, i, scores={"exact": 1.0})
    builder.finish(cand)
    return base, cand


def test_diff_json_says_a_one_sided_scorer_is_not_compared(
    builder: StoreBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    base, cand = one_sided_store(builder)
    store = ("--store", str(builder.path))
    code, out, _ = run_cli(capsys, "diff", base, cand, *store, "--json")
    assert code == 0
    payload = json.loads(out)
    # compareRuns' keys keep the package's numbers: the missing score counts as 0
    assert payload["scorerSummaries"]["tone"]["meanDelta"] == pytest.approx(-0.9)
    assert payload["regression"]["regressed"] is True
    assert payload["regression"]["details"]["tone"]["exceeds"] is True
    # evaltui's keys: not compared, and no regression verdict over it
    assert payload["notCompared"] == [
        {"scorer": "tone", "onlyIn": "baseline", "reason": payload["notCompared"][0]["reason"]}
    ]
    assert payload["verdict"]["scorers"]["tone"] == "not_compared"
    assert payload["verdict"]["overall"] == "no_change"
    assert "not compared: tone (only in the baseline)" in payload["verdict"]["reason"]
    assert payload["verdict"]["regressedCompared"] is False
    assert payload["flips"]["cases"]["passToFail"] == 0
    assert run_cli(capsys, "diff", base, cand, *store, "--fail-on-regression")[0] == 0


def test_diff_markdown_and_text_say_why_a_scorer_is_not_compared(
    builder: StoreBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    base, cand = one_sided_store(builder)
    store = ("--store", str(builder.path))
    markdown = run_cli(capsys, "diff", base, cand, *store, "--markdown")[1]
    assert "Possible regression" not in markdown and "Regression beyond" not in markdown
    assert "**Not compared**" in markdown and "- tone: only in the baseline" in markdown
    assert "| tone |" in markdown and "not compared (only in the baseline) |" in markdown
    assert "Top" not in markdown  # no case listed as regressed through `tone`
    text = run_cli(capsys, "diff", base, cand, *store)[1]
    assert "not compared: tone (only in the baseline" in text
    assert "cases: 0 regressed" in text


async def test_no_common_scorer_is_not_compared(builder: StoreBuilder) -> None:
    suite = builder.suite("qa")
    base = builder.run(suite, "m")
    cand = builder.run(suite, "m", started_at=BASE_MS + 1)
    for i in range(5):
        builder.case(base, i, scores={"tone": 1.0})
        builder.case(cand, i, scores={"exact": 0.0})
    store = await RunStore.open(builder.path)
    try:
        diff = await diff_runs(
            store, await store.get_run(base), await store.get_run(cand), DiffOptions()
        )
    finally:
        await store.close()
    assert diff.summary.verdict == Verdict.NOT_COMPARED
    assert diff.summary.regressed and not diff.summary.regressed_compared


def test_diff_of_a_rejudge_with_its_source_removes_nothing(
    real_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    new = rejudge(real_store, capsys, "1342", "--judge", "exact", "--cases", "0-2")
    store = ("--store", str(real_store))
    code, out, _ = run_cli(capsys, "diff", CLAUDE_QA, new, *store, "--json")
    assert code == 0
    payload = json.loads(out)
    assert payload["totalCasesCompared"] == 3
    assert payload["removed"] == [] and payload["pairing"]["removed"] == 0
    assert [item["index"] for item in payload["notInDerived"]] == list(range(3, 20))
    assert payload["verdict"]["overall"] != "possible_regression"
    assert payload["notCompared"][0]["scorer"] == "levenshtein"
    assert "config.evaltui" not in {c["key"] for c in payload["contextDifferences"]}
    text = run_cli(capsys, "diff", CLAUDE_QA, new, *store)[1]
    assert "0 removed, 17 not in the derived run" in text
    markdown = run_cli(capsys, "diff", CLAUDE_QA, new, *store, "--markdown")[1]
    assert "17 other cases were never given to it and are not removed" in markdown
    assert "Possible regression" not in markdown and "Top 3 regressed" not in markdown
    # against another run of the suite too: the re-judge was never given the other cases
    other = json.loads(run_cli(capsys, "diff", "1f6b", new, *store, "--json")[1])
    assert other["removed"] == [] and len(other["notInDerived"]) == 17
    assert "re-judge of run 1342ba1e" in other["verdict"]["reason"]
