"""Stores that the package's schema admits but the package never writes (issue 11).

SQLite's type affinity lets any column hold a value of any storage class; stores written by
other tools or older versions also drop NOT NULL. `LOOSE_SCHEMA` is the package's schema with
NOT NULL dropped (types, defaults, CHECK and keys kept), and `HostileStore` writes raw rows
into it, so that a test states exactly which value is out of the ordinary. `run_read_commands`
runs every headless read command over a store in-process.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaltui.cli.main import main
from evaltui.store.schema import PACKAGE_SCHEMA

LOOSE_SCHEMA = PACKAGE_SCHEMA.replace(" NOT NULL", "")
BASE_MS = 1_795_000_000_000

# C0 controls but tab and newline, DEL, and C1 controls: nothing of a stored string may reach
# a terminal raw (`\r` included: it would let a value overwrite what precedes it).
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")

COLUMNS = {
    "suites": ("id", "name", "created_at"),
    "runs": (
        "id",
        "suite_id",
        "name",
        "model",
        "config",
        "started_at",
        "finished_at",
        "status",
        "summary",
    ),
    "cases": (
        "id",
        "run_id",
        "idx",
        "input",
        "output",
        "expected",
        "latency_ms",
        "tokens_in",
        "tokens_out",
        "error",
    ),
    "scores": ("id", "case_id", "scorer_name", "score", "reason"),
}


class BadText(bytes):
    """Bytes stored as TEXT (not a BLOB): text that is not valid UTF-8, as other tools write."""


def _marks(values: list[object]) -> str:
    return ", ".join("CAST(? AS TEXT)" if isinstance(v, BadText) else "?" for v in values)


@dataclass
class HostileStore:
    """A store with the loose schema; rows are written with the values given, as given."""

    path: Path

    def __post_init__(self) -> None:
        with contextlib.closing(sqlite3.connect(self.path)) as db:
            db.executescript(LOOSE_SCHEMA)

    def insert(self, table: str, **values: Any) -> None:
        self.insert_many(table, [values])

    def insert_many(self, table: str, rows: list[dict[str, Any]]) -> None:
        with contextlib.closing(sqlite3.connect(self.path)) as db, db:
            for values in rows:
                columns = [c for c in COLUMNS[table] if c in values]
                params = [values[c] for c in columns]
                db.execute(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({_marks(params)})",
                    params,
                )


def well_formed(table: str, **overrides: Any) -> dict[str, Any]:
    """One row as the package writes it (ids s1, r1/r2, c1.., x1..), with `overrides`."""
    rows: dict[str, dict[str, Any]] = {
        "suites": {"id": "s1", "name": "qa", "created_at": BASE_MS},
        "runs": {
            "id": "r1",
            "suite_id": "s1",
            "name": "qa [gpt]",
            "model": "gpt",
            "config": json.dumps({"threshold": 0.5}),
            "started_at": BASE_MS,
            "finished_at": BASE_MS + 60_000,
            "status": "completed",
            "summary": None,
        },
        "cases": {
            "id": "c1",
            "run_id": "r1",
            "idx": 0,
            "input": json.dumps({"input": "question"}),
            "output": "answer",
            "expected": json.dumps("answer"),
            "latency_ms": 100,
            "tokens_in": 10,
            "tokens_out": 5,
            "error": None,
        },
        "scores": {
            "id": "x1",
            "case_id": "c1",
            "scorer_name": "exact",
            "score": 0.25,
            "reason": "differs",
        },
    }
    return {**rows[table], **overrides}


def one_run_store(path: Path, table: str, column: str, value: object) -> HostileStore:
    """A suite, a well-formed run `r2` with one case, and run `r1` whose only case (with two
    scores) is well-formed but for `table.column` = `value` in its row of `table`."""
    store = HostileStore(path)

    def row(name: str, **fields: Any) -> dict[str, Any]:
        base = well_formed(name, **fields)
        return {**base, column: value} if name == table else base

    store.insert("suites", **row("suites"))
    store.insert("runs", **row("runs"))
    store.insert("runs", **well_formed("runs", id="r2", started_at=BASE_MS + 1))
    store.insert("cases", **row("cases"))
    store.insert("cases", **well_formed("cases", id="c2", run_id="r2"))
    store.insert("scores", **row("scores"))
    store.insert("scores", **well_formed("scores", id="x2", case_id="c1", scorer_name="judge"))
    store.insert("scores", **well_formed("scores", id="x3", case_id="c2"))
    return store


@dataclass(frozen=True)
class Outcome:
    argv: tuple[str, ...]
    code: int
    out: str
    err: str


READ_COMMANDS: tuple[tuple[str, ...], ...] = (
    ("runs", "--json"),
    ("runs",),
    ("summary", "{run}", "--json"),
    ("summary", "{run}"),
    ("failing", "{run}", "--json"),
    ("failing", "{run}"),
    ("diff", "{other}", "{run}", "--json"),
    ("diff", "{other}", "{run}"),
    ("diff", "{other}", "{run}", "--markdown"),
    ("traces", "--json"),
    ("traces", "--run", "{run}"),
    ("trace", "{case}", "--json"),
)


def run_read_commands(store: Path, run: str, other: str, case: str) -> Iterator[Outcome]:
    """Every headless read command over `store`, in this process (`{run}`, `{other}`: the
    runs to name, `{case}` a case). Raises whatever a command raises: a traceback fails."""
    for template in READ_COMMANDS:
        argv = tuple(part.format(run=run, other=other, case=case) for part in template)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([*argv, "--store", str(store)])
        yield Outcome(argv, code, out.getvalue(), err.getvalue())


def check_outcome(outcome: Outcome) -> None:
    """Exit 0, or 2 with one line; JSON that parses (no NaN); no raw control character."""
    assert outcome.code in (0, 2), outcome
    if outcome.code == 2:
        assert len(outcome.err.strip().splitlines()) == 1, outcome
    for text in (outcome.out, outcome.err):
        found = RAW_CONTROL.search(text)
        assert found is None, (outcome.argv, found, text[:400])
    if outcome.code == 0 and "--json" in outcome.argv:
        json.loads(outcome.out, parse_constant=_reject_constant)


def _reject_constant(name: str) -> None:
    raise AssertionError(f"{name} is not JSON")
