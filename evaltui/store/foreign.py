"""Reading SQLite files written by other tools (read-only), for `evaltui import`."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

from evaltui.store.errors import StoreError


class UnreadableSQLite(StoreError):
    """The file cannot be read as SQLite (the driver's message)."""


class NotDeepEvalStore(StoreError):
    """A SQLite file without DeepEval's `test_runs` table."""


def deepeval_test_runs(path: Path) -> Iterator[tuple[int, str | None]]:
    """`(id, payload_json)` of every row of a DeepEval local store (`deepeval.db`), oldest
    first. Raises `NotDeepEvalStore`, or `UnreadableSQLite` when the file cannot be read."""
    uri = f"{path.resolve().as_uri()}?mode=ro"
    try:
        with closing(sqlite3.connect(uri, uri=True)) as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
            if "test_runs" not in tables:
                raise NotDeepEvalStore("no test_runs table")
            yield from db.execute("SELECT id, payload_json FROM test_runs ORDER BY id")
    except sqlite3.Error as error:
        raise UnreadableSQLite(str(error)) from None
