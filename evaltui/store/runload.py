"""Whole-run reads for a diff: the stdlib `sqlite3`, in a thread or in a worker process.

A run is read with two streamed queries (its cases, then their scores), never a join of two
runs on idx (quadratic with the package's single-column indexes). Inputs come as their stored
bytes (`CAST(input AS BLOB)`: no decoding, no re-encoding) and are hashed at once.

Two runs cannot be read by two threads to any profit: Python's sqlite3 releases the GIL around
every row it steps, so two fetching threads hand the GIL to each other at every row and are
slower together than one after the other (measured on 2 CPUs: two 0.4 s scores queries took
1.7 s in two threads). `evaltui.services.compare` therefore reads the two runs of a big diff in two
worker processes: `worker_command()` runs `python -I -c BOOT`, which loads this module and
`evaltui.diff.accumulate` by path (both import only the standard library, so a worker starts in
about 30 ms, without the package's own imports), reads the run and writes the accumulated
buffers to stdout as one pickle.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import pickle
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from evaltui.store.decode import NULL_TEXT, UNREADABLE_INT, is_decode_error, tolerant_text

CASE_CHUNK = 1000  # cases per fetch: bounds the input text held at once
SCORE_CHUNK = 5000
# The one rule of `evaltui.store.decode`, in SQL (per row, in C): an idx that is not an
# integer reads as UNREADABLE_INT, an id or scorer name that is not text as its text or
# NULL_TEXT; latency, tokens and scores are typed by the accumulator (non-numbers are NaN).
IDX = (
    "CASE WHEN typeof(idx) = 'integer' THEN idx WHEN typeof(idx) = 'real'"
    f" AND idx = CAST(idx AS INTEGER) THEN CAST(idx AS INTEGER) ELSE {UNREADABLE_INT} END"
)


def _text(column: str) -> str:
    return (
        f"CASE WHEN typeof({column}) = 'text' THEN {column}"
        f" ELSE COALESCE(CAST({column} AS TEXT), '{NULL_TEXT}') END"
    )


CASES_SQL = f"""SELECT rowid, {IDX}, {_text("id")}, latency_ms, tokens_in, tokens_out,
    error IS NOT NULL, CAST(input AS BLOB) FROM cases WHERE run_id = ?"""
# A quick read: only what precedes the big text columns of a case row (no overflow pages).
KEYS_SQL = f"SELECT rowid, {IDX}, {_text('id')} FROM cases WHERE run_id = ?"
SCORES_SQL = f"""SELECT c.rowid, {_text("s.scorer_name")}, s.score
    FROM cases c JOIN scores s ON s.case_id = c.id WHERE c.run_id = ?"""

# argv: accumulate.py, decode.py, runload.py, then main()'s arguments
BOOT = """import importlib.util, sys
def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
accumulate = load("evaltui.diff.accumulate", sys.argv[1])
load("evaltui.store.decode", sys.argv[2])
sys.exit(load("evaltui.store.runload", sys.argv[3]).main(sys.argv[4:], accumulate.RunAccumulator))
"""


class RowSink(Protocol):
    """What a run is streamed into (the diff's `RunAccumulator`; this module does not import
    it: the caller hands it in, so the data layer does not depend on the diff engine)."""

    def add_keys(self, rows: Any) -> None: ...

    def add_cases(self, rows: Any) -> None: ...

    def add_scores(self, rows: Any) -> None: ...

    def state(self) -> dict[str, Any]: ...


Accumulator = TypeVar("Accumulator", bound=RowSink)
Result = TypeVar("Result")


def connect(uri: str, timeout: float) -> sqlite3.Connection:
    """A read-only connection (`uri` as `RunStore.open` builds it) usable from any thread."""
    return sqlite3.connect(uri, uri=True, timeout=timeout, check_same_thread=False)


def read_run(
    conn: sqlite3.Connection, run_id: str, into: Accumulator, full: bool = True
) -> Accumulator:
    """Stream every case and score of the run into `into`; return it. `full=False` reads
    only each case's rowid, idx and id (`RunAccumulator.add_keys`) and the scores."""
    if full:
        _stream(conn, CASES_SQL, run_id, CASE_CHUNK, into.add_cases)
    else:
        _stream(conn, KEYS_SQL, run_id, SCORE_CHUNK, into.add_keys)
    _stream(conn, SCORES_SQL, run_id, SCORE_CHUNK, into.add_scores)
    return into


def _stream(
    conn: sqlite3.Connection, sql: str, run_id: str, size: int, add: Callable[[Any], None]
) -> None:
    """The rows of `sql` in chunks to `add`. sqlite3's own decoding is the fast path; text
    that is not UTF-8 switches the connection to `tolerant_text` (about 15% more time) and
    reads again, skipping the rows already added (the package only appends to a run, and
    the rows come in rowid order of the run's index)."""
    added = 0
    while True:
        cursor = conn.execute(sql, (run_id,))
        try:
            skip = added
            while skip and (rows := cursor.fetchmany(min(size, skip))):
                skip -= len(rows)
            while rows := cursor.fetchmany(size):
                add(rows)
                added += len(rows)
            return
        except sqlite3.OperationalError as error:
            if conn.text_factory is tolerant_text or not is_decode_error(error):
                raise
            conn.text_factory = tolerant_text
        finally:
            cursor.close()


def worker_command(
    accumulate: Path, uri: str, run_id: str, timeout: float, full: bool = True
) -> list[str]:
    """The argv of a worker process that reads one run into the accumulator defined in the
    file `accumulate` (see the module docstring)."""
    here = Path(__file__).resolve()
    return [
        sys.executable,
        "-I",
        "-c",
        BOOT,
        str(accumulate),
        str(here.with_name("decode.py")),
        str(here),
        uri,
        run_id,
        f"{timeout!r}",
        *([] if full else ["keys"]),
    ]


def main(argv: list[str], sink: Callable[[str], RowSink]) -> int:
    """Worker entry: `URI RUN_ID TIMEOUT [keys]`; the pickled `RunAccumulator.state()` on
    stdout, or exit status 1 with the SQLite error on stderr. `keys`: a quick read."""
    uri, run_id, timeout, *mode = argv
    full = mode != ["keys"]
    gc.disable()  # a short-lived process that makes no cycles: no collections per chunk
    try:
        conn = connect(uri, float(timeout))
        try:
            state = read_run(conn, run_id, sink(run_id), full).state()
        finally:
            conn.close()
    except sqlite3.Error as error:
        print(f"{type(error).__name__}: {error}", file=sys.stderr)
        return 1
    sys.stdout.buffer.write(pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))
    sys.stdout.buffer.flush()
    return 0


class _ThreadRead(Generic[Accumulator, Result]):
    """One run read in a worker thread on a connection of its own; `interrupt()` (from the
    event loop, when the awaiting task is cancelled) stops it at the next row."""

    def __init__(
        self,
        uri: str,
        timeout: float,
        run_id: str,
        into: Accumulator,
        full: bool,
        then: Callable[[Accumulator], Result],
    ) -> None:
        self.uri, self.timeout, self.run_id = uri, timeout, run_id
        self.into, self.full, self.then = into, full, then
        self._conn: sqlite3.Connection | None = None

    def __call__(self) -> Result:
        conn = connect(self.uri, self.timeout)
        self._conn = conn
        try:
            read_run(conn, self.run_id, self.into, self.full)
        finally:
            self._conn = None
            conn.close()
        return self.then(self.into)

    def interrupt(self) -> None:
        conn = self._conn
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.interrupt()


async def read_in_thread(
    path: Path,
    uri: str,
    timeout: float,
    run_id: str,
    into: Accumulator,
    full: bool,
    *,
    then: Callable[[Accumulator], Result],
) -> Result:
    """`read_run` into `into` in a thread, then `then(into)` there too; a driver error is a
    `StoreError` that names `path`; a cancelled await interrupts the read."""
    read = _ThreadRead(uri, timeout, run_id, into, full, then)
    try:
        return await asyncio.to_thread(read)
    except sqlite3.Error as error:
        # Not at the top: a worker loads this file by path, with the standard library only.
        from evaltui.store.errors import explain

        raise explain(error, path) from None
    except asyncio.CancelledError:
        read.interrupt()
        raise
