"""The property-based sweep of issue 11: generated stores through every headless read command
and every read of the store layer.

`stores()` draws RunStores within what SQLite's type affinity admits for the package's schema
with NOT NULL dropped (`tests.hostilestores.LOOSE_SCHEMA`): any column may hold NULL, text
(valid UTF-8 or not), a BLOB, an integer or a float; keys are text and mostly refer to rows
that exist. `check_store()` fails on a traceback, on a hang (SIGALRM after `HANG_SECONDS`),
on output that is not JSON where JSON was asked for, and on a raw control character.
`tests/unit/test_store_sweep.py` runs a fixed budget; `bench/sweep_stores.py` a longer one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from hypothesis import strategies as st

from evaltui.store import RunStore, StoreError
from tests.hostilestores import BadText, HostileStore, check_outcome, run_read_commands

HANG_SECONDS = 30
STATUSES = ("running", "completed", "failed")  # the CHECK admits these (and NULL) only

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
FLOATS = st.floats(allow_nan=True, allow_infinity=True)
# Text as a Python str (no lone surrogates: sqlite3 cannot bind them), with controls.
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
BAD_TEXT = st.binary(max_size=20).map(BadText)  # stored as TEXT, rarely valid UTF-8
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
ANY_VALUE = st.one_of(st.none(), TEXT, BAD_TEXT, st.binary(max_size=20), INT64, FLOATS)


def text_column(typical: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A TEXT column: mostly `typical`, else anything (numbers become text by affinity)."""
    return st.one_of(typical, typical, ANY_VALUE)


def number_column(typical: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """An INTEGER or REAL column: mostly `typical`, else anything."""
    return st.one_of(typical, typical, ANY_VALUE)


JSON_TEXT = JSON_VALUES.map(lambda value: json.dumps(value))
JSON_ANY = st.one_of(st.none(), TEXT, st.integers(), st.floats(), st.booleans())


def json_number(typical: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(typical, typical, JSON_ANY)


SUMMARY = st.fixed_dictionaries(
    {
        "totalCases": json_number(st.integers(0, 10)),
        "passCount": json_number(st.integers(0, 10)),
        "failCount": json_number(st.integers(0, 10)),
        "meanScores": st.dictionaries(TEXT, json_number(st.floats(0, 1)), max_size=2),
        "totalLatencyMs": json_number(st.integers(0, 10**6)),
        "totalTokensIn": json_number(st.integers(0, 10**6)),
        "totalTokensOut": json_number(st.integers(0, 10**6)),
    }
).map(json.dumps)
TIMES = st.integers(0, 4_000_000_000_000)


@dataclass(frozen=True)
class DrawnStore:
    """The rows of one generated store, by table."""

    rows: dict[str, list[dict[str, Any]]]

    def run_ids(self) -> list[str]:
        return [row["id"] for row in self.rows["runs"]]

    def case_ids(self) -> list[str]:
        return [row["id"] for row in self.rows["cases"]]

    def write(self, path: Path) -> HostileStore:
        store = HostileStore(path)
        for table in ("suites", "runs", "cases", "scores"):
            store.insert_many(table, self.rows[table])
        return store


@st.composite
def stores(draw: st.DrawFn) -> DrawnStore:
    suite_ids = [f"suite-{i}" for i in range(draw(st.integers(1, 2)))]
    suites = [
        {
            "id": suite_id,
            "name": draw(text_column(st.sampled_from(["qa", "math"]))),
            "created_at": draw(number_column(TIMES)),
        }
        for suite_id in suite_ids
    ]
    runs = []
    for i in range(draw(st.integers(1, 3))):
        runs.append(
            {
                "id": f"run-{i:04d}-0000",
                "suite_id": draw(text_column(st.sampled_from(suite_ids))),
                "name": draw(text_column(TEXT)),
                "model": draw(text_column(st.sampled_from(["gpt", "claude"]))),
                "config": draw(text_column(st.none() | JSON_TEXT)),
                "started_at": draw(number_column(TIMES)),
                "finished_at": draw(number_column(st.none() | TIMES)),
                "status": draw(st.sampled_from((*STATUSES, None))),
                "summary": draw(text_column(st.none() | SUMMARY)),
            }
        )
    run_ids = [run["id"] for run in runs]
    cases = []
    for i in range(draw(st.integers(0, 6))):
        cases.append(
            {
                "id": f"case-{i:04d}-0000",
                "run_id": draw(st.sampled_from(run_ids)),
                "idx": draw(number_column(st.integers(0, 5))),
                "input": draw(text_column(JSON_TEXT)),
                "output": draw(text_column(st.none() | TEXT)),
                "expected": draw(text_column(st.none() | JSON_TEXT)),
                "latency_ms": draw(number_column(st.none() | st.integers(0, 10**5))),
                "tokens_in": draw(number_column(st.none() | st.integers(0, 10**5))),
                "tokens_out": draw(number_column(st.none() | st.integers(0, 10**5))),
                "error": draw(text_column(st.none() | JSON_TEXT)),
            }
        )
    case_ids = [case["id"] for case in cases] or ["case-none"]
    scores = [
        {
            "id": f"score-{i:04d}",
            "case_id": draw(st.sampled_from(case_ids)),
            "scorer_name": draw(text_column(st.sampled_from(["exact", "judge"]))),
            "score": draw(number_column(st.floats(0, 1))),
            "reason": draw(text_column(st.none() | TEXT)),
        }
        for i in range(draw(st.integers(0, 10)))
    ]
    return DrawnStore({"suites": suites, "runs": runs, "cases": cases, "scores": scores})


class Hang(Exception):
    """A read took longer than `HANG_SECONDS`."""


@contextlib.contextmanager
def no_hang(seconds: int = HANG_SECONDS) -> Iterator[None]:
    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise Hang(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


async def read_everything(path: Path) -> None:
    """Every read the screens make, over every run and case (StoreError: one clear line)."""
    store = await RunStore.open(path)
    try:
        await store.list_suites()
        await store.list_prompts()
        runs = await store.list_runs()
        await store.case_counts([run.id for run in runs])
        for run in runs:
            await store.run_summary(run.id, run.threshold)
            await store.failing_cases(run.id, run.threshold)
            index = await store.run_index(run.id)
            await store.first_case_ids(run.id, 50, run.threshold)
            await store.case_rows(index.ids)
            cases = await store.get_cases(index.ids)
            await store.search_case_ids(run.id, "a")
            for case in cases[:2]:
                await store.get_case(case.id)
                await store.case_history(run, case.input.raw or "")
        store.unreadable_values()
    finally:
        await store.close()


def check_store(drawn: DrawnStore, path: Path) -> None:
    """Write `drawn` to `path`, then run every read command and every store read over it."""
    drawn.write(path)
    run_ids = drawn.run_ids()
    with no_hang():
        for outcome in run_read_commands(
            path, run_ids[-1], run_ids[0], (drawn.case_ids() or ["case-none"])[0]
        ):
            check_outcome(outcome)
        with contextlib.suppress(StoreError):  # one clear line is an answer
            asyncio.run(read_everything(path))
