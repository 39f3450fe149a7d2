"""Stores with derived runs (re-judges and re-runs), for the derived-run tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from evaltui.cli.main import main
from tests.storebuilder import BASE_MS, StoreBuilder

CLAUDE_QA = "1342ba1e-a935-4f10-9b2c-7a1ff0fda1e7"
MINUTE = 60_000


def rejudge(store: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """Re-judge through the real command (so `runs.config` is what evaltui writes); the new
    run's id."""
    code = main(["rejudge", *args, "--store", str(store), "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    done = json.loads(out.splitlines()[-1])["done"]
    assert done["status"] == "completed"
    return str(done["run_id"])


def derived_config(
    kind: str, source: str, case_ids: list[str], judges: list[str], task: str | None = None
) -> dict[str, Any]:
    """`runs.config` as `rework.JobPlan.config` writes it."""
    return {
        "model": "m",
        "scorers": judges,
        "threshold": 0.5,
        "evaltui": {
            "job": "0" * 32,
            "kind": kind,
            "sourceRunId": source,
            "caseIds": case_ids,
            "judges": [{"name": name, "type": name} for name in judges],
            "task": {"name": task, "type": "command"} if task else None,
        },
    }


@dataclass
class Lineage:
    """A source run A (4 cases, scorer `acc`), its re-judge D (judge `exact`, 4 cases), then
    a later ordinary run B of the same suite and model."""

    path: Path
    a: str
    d: str
    b: str
    a_cases: list[str]
    b_cases: list[str]


SOURCE_ACC = [1.0, 0.0, 1.0, 0.0]
REJUDGED_EXACT = [1.0, 1.0, 0.0, 0.0]  # idx 1 fail->pass, idx 2 pass->fail


def lineage(builder: StoreBuilder) -> Lineage:
    suite = builder.suite("qa")
    a = builder.run(suite, "m", started_at=BASE_MS)
    a_cases = [builder.case(a, i, scores={"acc": SOURCE_ACC[i]}) for i in range(4)]
    builder.finish(a)
    d = builder.run(
        suite,
        "m",
        name="qa [m] rejudge: exact",
        config=derived_config("rejudge", a, a_cases, ["exact"]),
        started_at=BASE_MS + MINUTE,
    )
    for i in range(4):
        builder.case(d, i, scores={"exact": REJUDGED_EXACT[i]})
    builder.finish(d)
    b = builder.run(suite, "m", started_at=BASE_MS + 2 * MINUTE)
    b_cases = [builder.case(b, i, scores={"acc": 1.0}) for i in range(4)]
    builder.finish(b)
    return Lineage(builder.path, a, d, b, a_cases, b_cases)
