"""`evaltui diff`: JSON shape, Markdown, the human table and exit codes 0 / 1 / 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from evaltui.cli.main import main
from tests.storebuilder import StoreBuilder

GPT_QA = "1f6bffdc-edc4-4e84-9911-cc81ff59a494"
CLAUDE_QA = "1342ba1e-a935-4f10-9b2c-7a1ff0fda1e7"
GPT_SUPPORT = "c723c00c-8f1f-4576-85c1-792797cf72fd"


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_has_compare_runs_keys_then_evaltui_keys(
    real_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, "diff", "1342", "1f6b", "--store", str(real_store), "--json")
    assert code == 0 and err == ""
    payload = json.loads(out)
    assert list(payload)[:5] == [
        "caseDiffs",
        "scorerSummaries",
        "costDelta",
        "totalCasesCompared",
        "regression",
    ]
    assert {"flips", "confidenceIntervals", "added", "removed", "contextDifferences"} <= set(
        payload
    )
    assert {"pairing", "verdict", "errored", "baseline", "candidate", "options"} <= set(payload)
    assert payload["scorerSummaries"]["exact"] == {
        "meanDelta": pytest.approx(-0.15),
        "improvedCount": 3,
        "regressedCount": 6,
        "unchangedCount": 11,
    }
    assert payload["scorerSummaries"]["levenshtein"]["meanDelta"] == -0.14145352518998028
    assert payload["costDelta"] == {"latencyDeltaMs": 977, "tokenInDelta": 17, "tokenOutDelta": 11}
    assert payload["totalCasesCompared"] == 20
    assert payload["regression"] == {
        "regressed": True,
        "details": {
            "exact": {"meanDelta": pytest.approx(-0.15), "exceeds": True},
            "levenshtein": {"meanDelta": -0.14145352518998028, "exceeds": True},
        },
    }
    first = payload["caseDiffs"][0]
    assert set(first) == {"index", "scorerDeltas"}
    assert set(first["scorerDeltas"]["exact"]) == {"baseline", "candidate", "delta", "change"}
    assert payload["pairing"]["used"] == "idx" and payload["added"] == payload["removed"] == []
    assert payload["flips"]["scorers"]["exact"] == {
        "passToFail": 6,
        "failToPass": 3,
        "pValue": 0.5078125,
    }
    ci = payload["confidenceIntervals"]["exact"]
    assert ci["low"] < -0.15 < ci["high"] and ci["level"] == 0.95 and ci["resamples"] == 1000
    assert payload["verdict"]["overall"] == "possible_regression"
    assert payload["contextDifferences"] == [
        {"key": "model", "baseline": "claude-sonnet-4-5", "candidate": "gpt-4o-mini"}
    ]
    assert payload["errored"] == {"baselineOnly": [7], "candidateOnly": [12]}


def test_json_is_deterministic(real_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ("diff", CLAUDE_QA, GPT_QA, "--store", str(real_store), "--json")
    assert run_cli(capsys, *args)[1] == run_cli(capsys, *args)[1]


def test_fail_on_regression_exit_codes(
    real_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = ("--store", str(real_store))
    assert run_cli(capsys, "diff", CLAUDE_QA, GPT_QA, *store, "--fail-on-regression")[0] == 1
    assert run_cli(capsys, "diff", GPT_QA, CLAUDE_QA, *store, "--fail-on-regression")[0] == 0
    assert run_cli(capsys, "diff", CLAUDE_QA, GPT_QA, *store)[0] == 0  # no flag: report only
    # the strict rule: a bigger threshold than every drop is no regression
    assert (
        run_cli(
            capsys,
            "diff",
            CLAUDE_QA,
            GPT_QA,
            *store,
            "--regression-threshold",
            "0.15",
            "--fail-on-regression",
        )[0]
        == 0
    )
    retry = ("diff", GPT_SUPPORT, "support-intent@latest", *store, "--fail-on-regression")
    assert run_cli(capsys, *retry)[0] == 0  # paired by input: nothing changed
    assert run_cli(capsys, *retry, "--pair-by", "idx")[0] == 1  # compareRuns' misleading result


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nope", GPT_QA), "no run matches 'nope'"),
        ((GPT_QA, "missing-suite@latest"), "no suite named 'missing-suite'"),
        (("1f6", GPT_QA), "too short"),
    ],
)
def test_bad_references_exit_2(
    real_store: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, str], message: str
) -> None:
    code, out, err = run_cli(
        capsys, "diff", *args, "--store", str(real_store), "--fail-on-regression"
    )
    assert code == 2 and out == ""
    assert err.startswith("evaltui: error: ") and message in err and err.count("\n") == 1


def test_bad_options_exit_2(real_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for bad in (["--tolerance", "-1"], ["--pair-by", "name"], ["--json", "--markdown"]):
        with pytest.raises(SystemExit) as exit_info:
            main(["diff", GPT_QA, CLAUDE_QA, "--store", str(real_store), *bad])
        assert exit_info.value.code == 2
    capsys.readouterr()


def test_missing_store_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "diff", "a", "b", "--store", str(tmp_path / "none.db"))
    assert code == 2 and "no store at" in err


def test_suite_without_completed_run(
    builder: StoreBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = builder.suite("pending")
    builder.run(suite, "m")
    code, _, err = run_cli(capsys, "diff", "pending@latest", "x", "--store", str(builder.path))
    assert code == 2 and "has no completed run" in err


def test_markdown(real_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "diff", "1342", "1f6b", "--store", str(real_store), "--markdown")
    assert code == 0
    assert out.startswith("### evaltui diff: :warning: **Possible regression** (within noise)")
    assert "| scorer | Δ mean | 95% CI |" in out
    assert "| exact | -0.1500 |" in out and "| 0.508 |" in out
    assert "**Cost**: latency +977 ms · tokens in +17 · tokens out +11" in out
    assert "- model: `claude-sonnet-4-5` → `gpt-4o-mini`" in out
    assert "**regressed** (exact, levenshtein)" in out
    # the worst cases with a preview of their input
    assert "Top 6 regressed cases" in out and "What gas do plants absorb?" in out


def test_human_table(real_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "diff", "1342", "1f6b", "--store", str(real_store))
    assert code == 0
    assert "context: model: claude-sonnet-4-5 -> gpt-4o-mini" in out
    assert any(line.startswith("exact        -0.1500") for line in out.splitlines())
    assert "cost: latency +977 ms, tokens in +17, out +11" in out


def test_threshold_option(real_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(
        capsys, "diff", "1342", "1f6b", "--store", str(real_store), "--json", "--threshold", "0"
    )
    payload = json.loads(out)
    assert code == 0 and payload["flips"]["threshold"] == 0
    assert payload["flips"]["cases"] == {"passToFail": 0, "failToPass": 0, "pValue": 1.0}


def test_diff_does_not_import_textual(real_store: Path) -> None:
    code = (
        "import sys; from evaltui.cli.main import main; "
        f"main(['diff', '1342', '1f6b', '--store', {str(real_store)!r}, '--json']); "
        "assert 'textual' not in sys.modules, 'textual imported'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["totalCasesCompared"] == 20
