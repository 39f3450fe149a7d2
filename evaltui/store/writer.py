"""The one module of evaltui that writes to a store.

It adds evaltui's own tables (all named `evaltui_*`) next to the package's and appends rows:

* RunStore rows (suites, runs, cases, scores) only as new rows, with the package's own
  INSERT statements and column semantics; it never UPDATEs or DELETEs a package row and
  never touches the package's tables, indexes or pragmas. The evaltui tables have no
  foreign key into package tables, so the package's deletes and migrations never trip on them.
* traces and spans, idempotently: a span is keyed by (trace_id, span_id) and a second copy
  is skipped; a file is keyed by its sha256 in `evaltui_imports`.

Each `transaction()` is one `BEGIN IMMEDIATE ... COMMIT`: a failure rolls everything back.
The connection keeps the file's journal mode (WAL for package stores), turns foreign keys on
and waits `busy_timeout` for a concurrent writer. While a transaction is open the package's
own writer waits for it, so a huge import is best run when no eval is writing.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from evaltui.core.jsonutil import dumps
from evaltui.core.models import RunSpend
from evaltui.store.errors import StoreError, explain
from evaltui.store.queries import (
    HAS_JUDGEMENTS_SQL,
    SPEND_SQL,
    SUMMARY_MEANS_SQL,
    SUMMARY_MINIMUMS_SQL,
    SUMMARY_TOTALS_SQL,
    spend_from_rows,
    summary_from_rows,
)
from evaltui.store.reader import REQUIRED_COLUMNS, check_store_file
from evaltui.store.schema import PACKAGE_SCHEMA
from evaltui.traces.linking import case_input_keys, trace_input_keys
from evaltui.traces.models import CaseLink, SpanRecord, SpanStatus, TraceRecord

SCHEMA_VERSION = 2
# 1: traces, spans, imports. 2: job tables (judgements, batches, leases) beside them.
# Index by read: a run's spend (runs list, job screen)   evaltui_judgements_run (run_id, idx)
BUSY_TIMEOUT_MS = 5000
FLUSH_EVERY = 5000  # spans between two flushes of per-trace aggregates (bounds memory)
MIN_PREFIX = 4

# Indexes, by the read they serve:
#   skeleton of a trace in start order        evaltui_spans_start (trace_id, start_ns)
#   children of a span                        evaltui_spans_parent (trace_id, parent_id, ...)
#   next errored span of a trace              evaltui_spans_errors (partial: status='error')
#   next failing span score of a trace        evaltui_span_scores_failed (partial: success=0)
#   traces (and so spans) of a case           evaltui_traces_case, evaltui_traces_run
#   the big text of one span                  evaltui_span_payloads primary key (span rowid)
EVALTUI_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS evaltui_meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS evaltui_traces (
  trace_id TEXT PRIMARY KEY,
  source TEXT NOT NULL,
  name TEXT,
  case_id TEXT,
  run_id TEXT,
  case_idx INTEGER,
  start_ns INTEGER,
  end_ns INTEGER,
  span_count INTEGER NOT NULL DEFAULT 0,
  error_count INTEGER NOT NULL DEFAULT 0,
  score_count INTEGER NOT NULL DEFAULT 0,
  failed_score_count INTEGER NOT NULL DEFAULT 0,
  attributes TEXT NOT NULL DEFAULT '{{}}',
  imported_at INTEGER NOT NULL
);

CREATE INDEX IF NOT EXISTS evaltui_traces_case ON evaltui_traces(case_id);

CREATE INDEX IF NOT EXISTS evaltui_traces_run ON evaltui_traces(run_id, case_idx);

CREATE INDEX IF NOT EXISTS evaltui_traces_start ON evaltui_traces(start_ns);

CREATE TABLE IF NOT EXISTS evaltui_spans (
  id INTEGER PRIMARY KEY,
  trace_id TEXT NOT NULL REFERENCES evaltui_traces(trace_id) ON DELETE CASCADE,
  span_id TEXT NOT NULL,
  parent_id TEXT,
  kind TEXT NOT NULL CHECK(kind IN
    ('agent', 'llm', 'tool', 'retriever', 'embedding', 'chain', 'custom')),
  name TEXT NOT NULL,
  start_ns INTEGER NOT NULL,
  end_ns INTEGER,
  status TEXT NOT NULL CHECK(status IN ('unset', 'ok', 'error')),
  error TEXT,
  model TEXT,
  tokens_in INTEGER,
  tokens_out INTEGER,
  cost REAL,
  UNIQUE(trace_id, span_id)
);

CREATE INDEX IF NOT EXISTS evaltui_spans_start ON evaltui_spans(trace_id, start_ns);

CREATE INDEX IF NOT EXISTS evaltui_spans_parent ON evaltui_spans(trace_id, parent_id, start_ns);

CREATE INDEX IF NOT EXISTS evaltui_spans_errors ON evaltui_spans(trace_id, start_ns)
  WHERE status = 'error';

CREATE TABLE IF NOT EXISTS evaltui_span_payloads (
  span_pk INTEGER PRIMARY KEY REFERENCES evaltui_spans(id) ON DELETE CASCADE,
  input TEXT,
  output TEXT,
  attributes TEXT NOT NULL DEFAULT '{{}}',
  events TEXT NOT NULL DEFAULT '[]'
);

CREATE TABLE IF NOT EXISTS evaltui_span_scores (
  id INTEGER PRIMARY KEY,
  span_pk INTEGER NOT NULL REFERENCES evaltui_spans(id) ON DELETE CASCADE,
  trace_id TEXT NOT NULL,
  name TEXT NOT NULL,
  score REAL,
  threshold REAL,
  success INTEGER,
  reason TEXT,
  evaluation_model TEXT,
  error TEXT
);

CREATE INDEX IF NOT EXISTS evaltui_span_scores_span ON evaltui_span_scores(span_pk);

CREATE INDEX IF NOT EXISTS evaltui_span_scores_failed ON evaltui_span_scores(trace_id, span_pk)
  WHERE success = 0;

CREATE TABLE IF NOT EXISTS evaltui_imports (
  sha256 TEXT PRIMARY KEY,
  source TEXT NOT NULL,
  format TEXT NOT NULL,
  imported_at INTEGER NOT NULL,
  traces INTEGER NOT NULL,
  spans INTEGER NOT NULL,
  duplicates INTEGER NOT NULL,
  run_id TEXT
);

CREATE TABLE IF NOT EXISTS evaltui_judgements (
  id INTEGER PRIMARY KEY,
  run_id TEXT NOT NULL,
  case_id TEXT NOT NULL,
  idx INTEGER NOT NULL,
  step TEXT NOT NULL CHECK(step IN ('judge', 'task')),
  profile TEXT NOT NULL,
  scorer TEXT,
  model TEXT,
  input_tokens INTEGER NOT NULL DEFAULT 0,
  output_tokens INTEGER NOT NULL DEFAULT 0,
  cache_read_tokens INTEGER NOT NULL DEFAULT 0,
  cache_write_tokens INTEGER NOT NULL DEFAULT 0,
  cost_usd REAL,
  latency_ms INTEGER,
  retries INTEGER NOT NULL DEFAULT 0,
  raw TEXT,
  error TEXT,
  batch_id TEXT,
  created_at INTEGER NOT NULL
);

CREATE INDEX IF NOT EXISTS evaltui_judgements_run ON evaltui_judgements(run_id, idx);

-- The Message Batches of re-judge jobs: an intent is written before the create request is
-- sent (state 'intent', batch_id NULL), then 'submitted', 'ended', 'collected' or 'abandoned'.
-- custom_ids is the JSON array of the batch's request ids (each prefixed with tag).
CREATE TABLE IF NOT EXISTS evaltui_batches (
  id INTEGER PRIMARY KEY,
  run_id TEXT NOT NULL,
  judge TEXT NOT NULL,
  state TEXT NOT NULL,
  tag TEXT NOT NULL,
  batch_id TEXT,
  custom_ids TEXT NOT NULL,
  requested_at INTEGER NOT NULL,
  submitted_at INTEGER,
  expires_at INTEGER,
  updated_at INTEGER NOT NULL
);

CREATE INDEX IF NOT EXISTS evaltui_batches_run ON evaltui_batches(run_id, judge);

CREATE TABLE IF NOT EXISTS evaltui_job_leases (
  job_key TEXT PRIMARY KEY,
  run_id TEXT NOT NULL,
  holder TEXT NOT NULL,
  pid INTEGER NOT NULL,
  host TEXT NOT NULL,
  acquired_at INTEGER NOT NULL,
  heartbeat_at INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS evaltui_job_cases (
  run_id TEXT NOT NULL,
  idx INTEGER NOT NULL,
  case_id TEXT NOT NULL,
  PRIMARY KEY (run_id, idx)
) WITHOUT ROWID;

INSERT OR IGNORE INTO evaltui_meta (key, value) VALUES ('schema_version', '{SCHEMA_VERSION}');

UPDATE evaltui_meta SET value = '{SCHEMA_VERSION}'
  WHERE key = 'schema_version' AND CAST(value AS INTEGER) < {SCHEMA_VERSION};
"""

EVALTUI_TABLES = (
    "evaltui_meta",
    "evaltui_traces",
    "evaltui_spans",
    "evaltui_span_payloads",
    "evaltui_span_scores",
    "evaltui_imports",
    "evaltui_judgements",
    "evaltui_batches",
    "evaltui_job_leases",
    "evaltui_job_cases",
)

# The package's own statements (runstore.md §4), verbatim.
_SUITE_SQL = "INSERT INTO suites (id, name, created_at) VALUES (?, ?, ?)"
_CASE_SQL = (
    "INSERT INTO cases (id, run_id, idx, input, output, expected, latency_ms, tokens_in,"
    " tokens_out, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_SCORE_SQL = "INSERT INTO scores (id, case_id, scorer_name, score, reason) VALUES (?, ?, ?, ?, ?)"
# createRun then finishRun, as one INSERT: an imported run is finished when it is written.
_RUN_SQL = (
    "INSERT INTO runs (id, suite_id, name, model, config, started_at, finished_at, status,"
    " summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

# createRun and finishRun, verbatim.
_CREATE_RUN_SQL = (
    "INSERT INTO runs (id, suite_id, name, model, config, started_at) VALUES (?, ?, ?, ?, ?, ?)"
)
_FINISH_RUN_SQL = "UPDATE runs SET finished_at = ?, status = ?, summary = ? WHERE id = ?"
# Only runs evaltui created (their config has a job key) are ever reopened or updated in place.
_JOB_RUN = "json_valid(config) AND json_extract(config, '$.evaltui.job') IS NOT NULL"
_REOPEN_RUN_SQL = f"""UPDATE runs SET status = 'running', finished_at = NULL, summary = NULL
WHERE id = ? AND {_JOB_RUN}"""
_CASE_ERROR_SQL = f"""UPDATE cases SET error = ?
WHERE id = ? AND run_id = ? AND run_id IN (SELECT id FROM runs WHERE {_JOB_RUN})"""
_ERROR_NAME = "CASE WHEN json_valid(c.error) THEN json_extract(c.error, '$.name') END"
# (cases, judge errors, other errors) of a run.
_CASE_COUNTS_SQL = f"""SELECT COUNT(*),
  COALESCE(SUM(c.error IS NOT NULL AND {_ERROR_NAME} IS 'JudgeError'), 0),
  COALESCE(SUM(c.error IS NOT NULL AND {_ERROR_NAME} IS NOT 'JudgeError'), 0)
FROM cases c WHERE c.run_id = ?"""
_JUDGE_ERROR_CASES_SQL = f"""SELECT c.id FROM cases c
WHERE c.run_id = ? AND c.error IS NOT NULL AND {_ERROR_NAME} IS 'JudgeError' ORDER BY c.idx"""

_TRACE_SQL = (
    "INSERT OR IGNORE INTO evaltui_traces (trace_id, source, name, attributes, imported_at)"
    " VALUES (?, ?, ?, ?, ?)"
)
_SPAN_SQL = (
    "INSERT OR IGNORE INTO evaltui_spans (trace_id, span_id, parent_id, kind, name, start_ns,"
    " end_ns, status, error, model, tokens_in, tokens_out, cost)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_PAYLOAD_SQL = (
    "INSERT INTO evaltui_span_payloads (span_pk, input, output, attributes, events)"
    " VALUES (?, ?, ?, ?, ?)"
)
_SPAN_SCORE_SQL = (
    "INSERT INTO evaltui_span_scores (span_pk, trace_id, name, score, threshold, success,"
    " reason, evaluation_model, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_AGGREGATE_SQL = """UPDATE evaltui_traces SET
  span_count = span_count + :spans,
  error_count = error_count + :errors,
  score_count = score_count + :scores,
  failed_score_count = failed_score_count + :failed,
  start_ns = CASE WHEN start_ns IS NULL OR :start < start_ns THEN :start ELSE start_ns END,
  end_ns = CASE WHEN :end IS NULL THEN end_ns
                WHEN end_ns IS NULL OR :end > end_ns THEN :end ELSE end_ns END,
  name = COALESCE(name, :root_name),
  case_id = COALESCE(case_id, :case_id),
  run_id = COALESCE(run_id, :run_id),
  case_idx = COALESCE(case_idx, :case_idx)
WHERE trace_id = :trace_id"""
_TOUCHED = "SELECT trace_id FROM temp.evaltui_touched"
# A known case fixes the run and index; a run and index find the case once it is written.
_LINK_FROM_CASE_SQL = """UPDATE evaltui_traces SET
  run_id = (SELECT c.run_id FROM cases c WHERE c.id = evaltui_traces.case_id),
  case_idx = (SELECT c.idx FROM cases c WHERE c.id = evaltui_traces.case_id)
WHERE case_id IS NOT NULL AND EXISTS (SELECT 1 FROM cases c WHERE c.id = evaltui_traces.case_id)"""
_CASE_AT_IDX = """SELECT c.id FROM cases c WHERE c.run_id = evaltui_traces.run_id
  AND c.idx = evaltui_traces.case_idx ORDER BY c.rowid LIMIT 1"""
_LINK_FROM_IDX_SQL = f"""UPDATE evaltui_traces SET case_id = ({_CASE_AT_IDX})
WHERE case_id IS NULL AND run_id IS NOT NULL AND case_idx IS NOT NULL
  AND EXISTS ({_CASE_AT_IDX})"""

_JUDGEMENT_SQL = (
    "INSERT INTO evaltui_judgements (run_id, case_id, idx, step, profile, scorer, model,"
    " input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd, latency_ms,"
    " retries, raw, error, batch_id, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


_SAVED_IDX_SQL = "INSERT OR IGNORE INTO evaltui_job_cases (run_id, idx, case_id) VALUES (?, ?, ?)"
_FIND_JOB_RUN_SQL = (
    "SELECT id FROM runs WHERE status != 'completed' AND json_valid(config)"
    " AND json_extract(config, '$.evaltui.job') = ? ORDER BY started_at DESC LIMIT 1"
)

LEASE_STALE_S = 60.0  # a job whose heartbeat is older than this is taken over
LEASE_HEARTBEAT_S = 10.0  # how often a running job refreshes its heartbeat

MatchMode = Literal["idx", "input"]


@dataclass(frozen=True, slots=True)
class JudgementRow:
    """One judge's verdict (or the task's generation) on one case: what it cost and said.
    Written with its case, in the case's transaction (`StoreWriter.save_case`)."""

    step: Literal["judge", "task"]
    profile: str
    scorer: str | None
    model: str | None
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float | None = None
    latency_ms: int | None = None
    retries: int = 0
    raw: str | None = None
    error: str | None = None
    batch_id: str | None = None


@dataclass(frozen=True, slots=True)
class LinkOptions:
    """`--run RUN --match idx|input`: link traces that carry no `evals.case_id`."""

    run_id: str
    match: MatchMode


@dataclass(slots=True)
class _Delta:
    spans: int = 0
    errors: int = 0
    scores: int = 0
    failed: int = 0
    start: int | None = None
    end: int | None = None
    root_name: str | None = None
    root_start: int | None = None
    case_id: str | None = None
    run_id: str | None = None
    case_idx: int | None = None

    def params(self, trace_id: str) -> dict[str, Any]:
        return {
            "trace_id": trace_id,
            "spans": self.spans,
            "errors": self.errors,
            "scores": self.scores,
            "failed": self.failed,
            "start": self.start,
            "end": self.end,
            "root_name": self.root_name,
            "case_id": self.case_id,
            "run_id": self.run_id,
            "case_idx": self.case_idx,
        }


@dataclass(slots=True)
class WriteCounts:
    traces: int = 0
    spans: int = 0
    duplicates: int = 0
    cases: int = 0
    linked: int = 0


def now_ms() -> int:
    return int(time.time() * 1000)


def new_id() -> str:
    """A lowercase v4 UUID, as the package's `crypto.randomUUID()`."""
    return str(uuid.uuid4())


def explain_write(error: sqlite3.Error, path: Path) -> StoreError:
    """A one-line `StoreError` for a failed write."""
    return explain(error, path, writing=True)


def _statements(script: str) -> list[str]:
    return [part.strip() for part in script.split(";\n") if part.strip()]


class StoreWriter:
    """A read-write connection to a RunStore file, for the explicit write commands only."""

    def __init__(self, path: Path, connection: sqlite3.Connection, created: bool) -> None:
        self.path = path
        self.created = created
        self._db = connection
        self._leases: dict[str, tuple[str, str]] = {}  # run id -> (job key, holder) we claimed

    @classmethod
    def open(
        cls, path: Path, *, create: bool = False, busy_timeout_ms: int = BUSY_TIMEOUT_MS
    ) -> StoreWriter:
        """Open `path` for writing. With `create`, a missing file becomes a new, empty
        RunStore (the package's exact schema, WAL), as `new RunStore(path)` would make."""
        exists = path.exists()
        if exists:
            check_store_file(path)
        elif not create:
            raise StoreError(
                f"no store at {path}: pass the path of a RunStore "
                "(--store PATH or $EVALS_DB_PATH; default ./.evals/store.db)"
            )
        elif not path.parent.is_dir():
            raise StoreError(f"cannot create {path}: folder {path.parent} does not exist")
        try:
            db = sqlite3.connect(
                path,
                timeout=busy_timeout_ms / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as error:
            raise explain_write(error, path) from None
        writer = cls(path, db, created=not exists)
        try:
            db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            db.execute("PRAGMA foreign_keys = ON")
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute("PRAGMA cache_size = -32768")
            if not exists:
                db.execute("PRAGMA journal_mode = WAL")
                with writer._immediate():
                    for statement in _statements(PACKAGE_SCHEMA):
                        db.execute(statement)
            writer._check_runstore()
            # Traces touched by the open transaction; TEMP lives outside the store file.
            db.execute("CREATE TEMP TABLE evaltui_touched (trace_id TEXT PRIMARY KEY)")
        except sqlite3.Error as error:
            db.close()
            raise explain_write(error, path) from None
        except BaseException:
            db.close()
            raise
        return writer

    def _check_runstore(self) -> None:
        tables = {
            row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        missing = [table for table in REQUIRED_COLUMNS if table not in tables]
        if missing:
            raise StoreError(
                f"{self.path} is not a complete @deepagents/evals RunStore "
                f"(missing table {', '.join(missing)}); nothing was written"
            )
        for table, needed in REQUIRED_COLUMNS.items():
            columns = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            if needed - columns:
                raise StoreError(
                    f"{self.path} has an older schema (table {table} lacks "
                    f"{', '.join(sorted(needed - columns))}); open it once with "
                    "@deepagents/evals to migrate it, then retry"
                )

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _immediate(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def ensure_schema(self) -> None:
        """Create the evaltui_* tables if they are not there (the only DDL evaltui runs)."""
        try:
            with self._immediate() as db:
                row = db.execute(
                    "SELECT 1 FROM sqlite_master WHERE type='table' AND name='evaltui_meta'"
                ).fetchone()
                if row is not None:
                    found = db.execute(
                        "SELECT value FROM evaltui_meta WHERE key = 'schema_version'"
                    ).fetchone()
                    if found is not None and int(found[0]) > SCHEMA_VERSION:
                        raise StoreError(
                            f"{self.path} holds evaltui tables of schema version {found[0]}, "
                            f"newer than this evaltui's {SCHEMA_VERSION}: upgrade evaltui"
                        )
                for statement in _statements(EVALTUI_SCHEMA):
                    db.execute(statement)
        except sqlite3.Error as error:
            raise explain_write(error, self.path) from None

    @contextmanager
    def transaction(self, link: LinkOptions | None = None) -> Iterator[WriteBatch]:
        """One write transaction: everything in it is committed together or not at all."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            raise explain_write(error, self.path) from None
        batch = WriteBatch(self._db, link)
        try:
            self._db.execute("DELETE FROM temp.evaltui_touched")
            yield batch
            batch.finish()
            self._db.execute("COMMIT")
        except sqlite3.Error as error:
            self._db.execute("ROLLBACK")
            raise explain_write(error, self.path) from None
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    # -- reads the write commands need ----------------------------------------------------

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Rows of a read query on the write connection (inside or outside a transaction)."""
        try:
            return self._db.execute(sql, tuple(params)).fetchall()
        except sqlite3.Error as error:
            raise explain_write(error, self.path) from None

    def run_ids(self) -> list[str]:
        """Every run, in `listRuns` order."""
        return [str(row[0]) for row in self.fetch("SELECT id FROM runs ORDER BY started_at, rowid")]

    def run_model_and_start(self, run_id: str) -> tuple[str, int]:
        found = self.fetch("SELECT model, started_at FROM runs WHERE id = ?", (run_id,))
        if not found:
            raise StoreError(f"no run {run_id} in {self.path}")
        return str(found[0][0]), int(found[0][1])

    def run_cases(self, run_id: str) -> list[Any]:
        """`(id, idx, input, output, latency_ms, error)` of a run's cases in idx order."""
        return self.fetch(
            "SELECT id, idx, input, output, latency_ms, error FROM cases WHERE run_id = ?"
            " ORDER BY idx, rowid",
            (run_id,),
        )

    def run_scores(self, run_id: str) -> list[Any]:
        """`(case_id, scorer_name, score, reason)` of a run's scores."""
        return self.fetch(
            "SELECT s.case_id, s.scorer_name, s.score, s.reason FROM scores s"
            " JOIN cases c ON c.id = s.case_id WHERE c.run_id = ? ORDER BY s.scorer_name, s.rowid",
            (run_id,),
        )

    def already_imported(self, sha256: str) -> bool:
        row = self._db.execute("SELECT 1 FROM evaltui_imports WHERE sha256 = ?", (sha256,))
        return row.fetchone() is not None

    def find_run(self, ref: str) -> str:
        """A run id from a full id or a unique prefix of at least four characters."""
        if self._db.execute("SELECT 1 FROM runs WHERE id = ?", (ref,)).fetchone():
            return ref
        if len(ref) < MIN_PREFIX:
            raise StoreError(f"run id prefix {ref!r} is too short: give at least 4 characters")
        rows = self._db.execute(
            "SELECT id FROM runs WHERE substr(id, 1, ?) = ? LIMIT 2", (len(ref), ref)
        ).fetchall()
        if not rows:
            raise StoreError(
                f"no run matches {ref!r} in {self.path}; list them with `evaltui runs`"
            )
        if len(rows) > 1:
            raise StoreError(f"run prefix {ref!r} is ambiguous: give more characters")
        return str(rows[0][0])

    # -- re-judge and re-run results: a new run, one transaction per case ----------------

    def create_running_run(
        self, *, suite_id: str, name: str, model: str, config: str, started_at: int
    ) -> str:
        """The package's `createRun`: a new run, `running`, finished later by `finish_run`."""
        run_id = new_id()
        try:
            with self._immediate() as db:
                db.execute(_CREATE_RUN_SQL, (run_id, suite_id, name, model, config, started_at))
        except sqlite3.Error as error:
            raise explain_write(error, self.path) from None
        return run_id

    def find_job_run(self, job_key: str) -> str | None:
        """An unfinished run of the same job (same source, cases, judges, task), to resume."""
        rows = self.fetch(_FIND_JOB_RUN_SQL, (job_key,))
        return str(rows[0][0]) if rows else None

    def claim_job(
        self,
        job_key: str,
        new_run: Callable[[], NewRun],
        *,
        stale_after_s: float = LEASE_STALE_S,
        heartbeat_s: float = LEASE_HEARTBEAT_S,
        run_id: str | None = None,
    ) -> JobClaim:
        """One job, one writer: in one write transaction, check that no live process holds
        the job, find its unfinished run (or create one with `new_run()`), take the job's
        lease and read the idx already saved. Raise `JobBusyError` when another process
        holds it and its heartbeat is fresh. With `run_id`, that run is the job's."""
        me = JobHolder.current()
        try:
            with self._immediate() as db:
                row = db.execute(
                    "SELECT run_id, holder, pid, host, heartbeat_at FROM evaltui_job_leases"
                    " WHERE job_key = ?",
                    (job_key,),
                ).fetchone()
                if row is not None:
                    _refuse_if_held(self.path, row, me, stale_after_s)
                found = (
                    (run_id,)  # a given run: `rejudge RUN --errors` retries in place
                    if run_id is not None
                    else db.execute(_FIND_JOB_RUN_SQL, (job_key,)).fetchone()
                )
                if found is not None:
                    run_id, created = str(found[0]), False
                else:
                    spec = new_run()
                    run_id, created = new_id(), True
                    db.execute(
                        _CREATE_RUN_SQL,
                        (run_id, spec.suite_id, spec.name, spec.model, spec.config, spec.started),
                    )
                now = now_ms()
                db.execute(
                    "INSERT OR REPLACE INTO evaltui_job_leases (job_key, run_id, holder, pid,"
                    " host, acquired_at, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (job_key, run_id, me.holder, me.pid, me.host, now, now),
                )
                saved = {
                    int(r[0])
                    for r in db.execute("SELECT idx FROM cases WHERE run_id = ?", (run_id,))
                }
        except sqlite3.Error as error:
            raise explain_write(error, self.path) from None
        self._leases[run_id] = (job_key, me.holder)
        lease = JobLease(self.path, job_key, me.holder, heartbeat_s)
        return JobClaim(run_id=run_id, saved=saved, created=created, lease=lease)

    def _check_lease(self, db: sqlite3.Connection, run_id: str) -> None:
        """Inside a write transaction on a job's run: raise `JobLostError` when another
        process took the job over (this one stalled past the heartbeat limit)."""
        claimed = self._leases.get(run_id)
        if claimed is None:
            return
        row = db.execute(
            "SELECT holder, pid, host FROM evaltui_job_leases WHERE job_key = ?", (claimed[0],)
        ).fetchone()
        if row is None or row[0] != claimed[1]:
            who = f"process {row[1]} on {row[2]}" if row is not None else "another process"
            raise JobLostError(
                f"this job was taken over by {who} after its heartbeat went stale; "
                f"it goes on there (run {run_id[:8]}): nothing more is written from here"
            )

    def add_batch_intent(
        self, run_id: str, judge: str, tag: str, custom_ids: Sequence[str], requested_at: int
    ) -> int:
        """Record a batch about to be created (before its request is sent); its row id."""
        try:
            with self._immediate() as db:
                cursor = db.execute(
                    "INSERT INTO evaltui_batches (run_id, judge, state, tag, custom_ids,"
                    " requested_at, updated_at) VALUES (?, ?, 'intent', ?, ?, ?, ?)",
                    (run_id, judge, tag, json.dumps(list(custom_ids)), requested_at, now_ms()),
                )
                return int(cursor.lastrowid or 0)
        except sqlite3.Error as error:
            raise explain_write(error, self.path) from None

    def update_batch(
        self, key: int, state: str, batch_id: str | None, expires_at: int | None
    ) -> None:
        """A recorded batch's new state (and its id and expiry once the API told them)."""
        try:
            with self._immediate() as db:
                db.execute(
                    "UPDATE evaltui_batches SET state = ?, batch_id = COALESCE(?, batch_id),"
                    " expires_at = COALESCE(?, expires_at), updated_at = ?, submitted_at ="
                    " COALESCE(submitted_at, CASE WHEN ? IS NOT NULL THEN ? END) WHERE id = ?",
                    (state, batch_id, expires_at, now_ms(), batch_id, now_ms(), key),
                )
        except sqlite3.Error as error:
            raise explain_write(error, self.path) from None

    def job_batches(self, run_id: str) -> list[Any]:
        """`(id, judge, state, tag, batch_id, custom_ids, requested_at, expires_at)` of the
        batches recorded for a run, oldest first."""
        return self.fetch(
            "SELECT id, judge, state, tag, batch_id, custom_ids, requested_at, expires_at"
            " FROM evaltui_batches WHERE run_id = ? ORDER BY id",
            (run_id,),
        )

    def recorded_batches(self, run_id: str) -> list[str]:
        """Batch ids older versions recorded in `runs.config` (`$.evaltui.batches`)."""
        rows = self.fetch(
            "SELECT value FROM runs, json_each(runs.config, '$.evaltui.batches') WHERE runs.id = ?",
            (run_id,),
        )
        return [str(row[0]) for row in rows]

    def run_spend(self, run_id: str) -> RunSpend:
        """What judging (and re-running) has cost the run so far, as stored."""
        if not self.fetch(HAS_JUDGEMENTS_SQL):
            return RunSpend()
        rows = self.fetch(SPEND_SQL, (json.dumps([run_id]),))
        return spend_from_rows(rows).get(run_id, RunSpend())

    def saved_idxs(self, run_id: str) -> set[int]:
        """The idx values of the cases a run already has (a resumed job skips them)."""
        return {
            int(row[0]) for row in self.fetch("SELECT idx FROM cases WHERE run_id = ?", (run_id,))
        }

    def save_case(
        self,
        *,
        run_id: str,
        idx: int,
        input: str,
        output: str | None,
        expected: str | None,
        latency_ms: int | None,
        tokens_in: int | None,
        tokens_out: int | None,
        error: str | None,
        scores: Sequence[tuple[str, float, str | None]],
        judgements: Sequence[JudgementRow] = (),
    ) -> str:
        """One finished case and its scores in one transaction, as the engine commits them,
        with what judging it cost (`evaltui_judgements`): never one without the other."""
        case_id = new_id()
        try:
            with self._immediate() as db:
                self._check_lease(db, run_id)
                # Belt and braces beside the job's lease: an idx already saved in this run
                # (by a second writer of the same job) is not saved twice.
                claimed = db.execute(_SAVED_IDX_SQL, (run_id, idx, case_id)).rowcount
                if claimed == 0:
                    found = db.execute(
                        "SELECT case_id FROM evaltui_job_cases WHERE run_id = ? AND idx = ?",
                        (run_id, idx),
                    ).fetchone()
                    return str(found[0])
                batch = WriteBatch(db, None)
                batch.add_case(
                    case_id=case_id,
                    run_id=run_id,
                    idx=idx,
                    input=input,
                    output=output,
                    expected=expected,
                    latency_ms=latency_ms,
                    tokens_in=tokens_in,
                    tokens_out=tokens_out,
                    error=error,
                )
                batch.add_scores(case_id, scores)
                batch.add_judgements(run_id, case_id, idx, judgements)
        except sqlite3.Error as failure:
            raise explain_write(failure, self.path) from None
        return case_id

    def finish_run(self, run_id: str, status: str, threshold: float, finished_at: int) -> None:
        """The package's `finishRun`: `completed` with getRunSummary's summary at the run's
        threshold, or `failed` with none. Only for runs evaltui created."""
        summary: str | None = None
        try:
            with self._immediate() as db:
                self._check_lease(db, run_id)
                if status == "completed":
                    rows = [
                        db.execute(sql, (run_id,)).fetchall()
                        for sql in (SUMMARY_TOTALS_SQL, SUMMARY_MEANS_SQL, SUMMARY_MINIMUMS_SQL)
                    ]
                    result = summary_from_rows(rows[0], rows[1], rows[2], threshold)
                    summary = result.to_json_text()
                db.execute(_FINISH_RUN_SQL, (finished_at, status, summary, run_id))
        except sqlite3.Error as error:
            raise explain_write(error, self.path) from None

    # -- `rejudge --errors`: a derived run's judge errors retried in place ----------------

    def case_counts(self, run_id: str) -> tuple[int, int, int]:
        """(cases, judge errors, task and other errors) of a run."""
        row = self.fetch(_CASE_COUNTS_SQL, (run_id,))[0]
        return int(row[0]), int(row[1]), int(row[2])

    def judge_error_cases(self, run_id: str) -> list[str]:
        """Ids of a run's cases whose judging errored (`cases.error` named JudgeError)."""
        return [str(row[0]) for row in self.fetch(_JUDGE_ERROR_CASES_SQL, (run_id,))]

    def reopen_run(self, run_id: str) -> None:
        """Put a run evaltui created back to `running` (no summary) to add to it in place."""
        try:
            with self._immediate() as db:
                if db.execute(_REOPEN_RUN_SQL, (run_id,)).rowcount != 1:
                    raise StoreError(f"run {run_id[:8]} was not made by evaltui: not reopened")
        except sqlite3.Error as error:
            raise explain_write(error, self.path) from None

    def complete_case(
        self,
        run_id: str,
        case_id: str,
        scores: Sequence[tuple[str, float, str | None]],
        error: str | None,
        *,
        idx: int,
        judgements: Sequence[JudgementRow] = (),
    ) -> None:
        """Append the scores a retried case now has, with what judging it cost, and set its
        error (None: judged), in one transaction; only a case of a run evaltui created."""
        try:
            with self._immediate() as db:
                self._check_lease(db, run_id)
                if db.execute(_CASE_ERROR_SQL, (error, case_id, run_id)).rowcount != 1:
                    raise StoreError(f"case {case_id[:8]} is not in a run evaltui made")
                batch = WriteBatch(db, None)
                batch.add_scores(case_id, scores)
                batch.add_judgements(run_id, case_id, idx, judgements)
        except sqlite3.Error as failure:
            raise explain_write(failure, self.path) from None

    def link_pending(self) -> int:
        """Link traces to cases written since they arrived (by case id, or by run and
        index); returns how many traces were linked."""
        try:
            with self._immediate() as db:
                linked = db.execute(f"{_LINK_FROM_CASE_SQL} AND run_id IS NULL").rowcount
                return linked + db.execute(_LINK_FROM_IDX_SQL).rowcount
        except sqlite3.Error as error:
            raise explain_write(error, self.path) from None


class WriteBatch:
    """What one transaction writes. Obtain it from `StoreWriter.transaction()`."""

    def __init__(self, db: sqlite3.Connection, link: LinkOptions | None) -> None:
        self._db = db
        self._link = link
        self._deltas: dict[str, _Delta] = {}
        self._pending = 0
        self._now = now_ms()
        self.counts = WriteCounts()

    # -- RunStore rows: new rows only, the package's statements --------------------------

    def add_suite(self, name: str, created_at: int) -> str:
        suite_id = new_id()
        self._db.execute(_SUITE_SQL, (suite_id, name, created_at))
        return suite_id

    def add_run(
        self,
        *,
        suite_id: str,
        name: str,
        model: str,
        config: str | None,
        started_at: int,
        finished_at: int | None,
        status: str,
        summary: str | None,
    ) -> str:
        run_id = new_id()
        self._db.execute(
            _RUN_SQL,
            (run_id, suite_id, name, model, config, started_at, finished_at, status, summary),
        )
        return run_id

    def add_case(
        self,
        *,
        case_id: str,
        run_id: str,
        idx: int,
        input: str,
        output: str | None,
        expected: str | None,
        latency_ms: int | None,
        tokens_in: int | None,
        tokens_out: int | None,
        error: str | None,
    ) -> None:
        self._db.execute(
            _CASE_SQL,
            (
                case_id,
                run_id,
                idx,
                input,
                output,
                expected,
                latency_ms,
                tokens_in,
                tokens_out,
                error,
            ),
        )
        self.counts.cases += 1

    def add_scores(self, case_id: str, scores: Sequence[tuple[str, float, str | None]]) -> None:
        self._db.executemany(
            _SCORE_SQL, [(new_id(), case_id, name, score, reason) for name, score, reason in scores]
        )

    def add_judgements(
        self, run_id: str, case_id: str, idx: int, rows: Sequence[JudgementRow]
    ) -> None:
        self._db.executemany(
            _JUDGEMENT_SQL,
            [
                (
                    run_id,
                    case_id,
                    idx,
                    row.step,
                    row.profile,
                    row.scorer,
                    row.model,
                    row.input_tokens,
                    row.output_tokens,
                    row.cache_read_tokens,
                    row.cache_write_tokens,
                    row.cost_usd,
                    row.latency_ms,
                    row.retries,
                    row.raw,
                    row.error,
                    row.batch_id,
                    self._now,
                )
                for row in rows
            ],
        )

    # -- traces and spans ----------------------------------------------------------------

    def add_trace(self, trace: TraceRecord) -> None:
        """Trace-level facts known up front (a name, a case); the first writer wins."""
        cursor = self._db.execute(
            _TRACE_SQL,
            (trace.trace_id, trace.source, trace.name, dumps(trace.attributes), self._now),
        )
        self.counts.traces += cursor.rowcount
        delta = self._delta(trace.trace_id)
        if trace.link:
            self._merge_link(delta, trace.link)

    def _delta(self, trace_id: str) -> _Delta:
        delta = self._deltas.get(trace_id)
        if delta is None:
            delta = self._deltas[trace_id] = _Delta()
        return delta

    @staticmethod
    def _merge_link(delta: _Delta, link: CaseLink) -> None:
        delta.case_id = delta.case_id or link.case_id
        delta.run_id = delta.run_id or link.run_id
        if delta.case_idx is None:
            delta.case_idx = link.case_idx

    def add_span(self, span: SpanRecord, source: str) -> bool:
        """Store one span (with its payload and scores); False when it was already there."""
        delta = self._deltas.get(span.trace_id)
        if delta is None:
            cursor = self._db.execute(
                _TRACE_SQL,
                (span.trace_id, source, None, dumps(span.trace_attributes or {}), self._now),
            )
            self.counts.traces += cursor.rowcount
            delta = self._deltas[span.trace_id] = _Delta()
        cursor = self._db.execute(
            _SPAN_SQL,
            (
                span.trace_id,
                span.span_id,
                span.parent_id,
                span.kind.value,
                span.name,
                span.start_ns,
                span.end_ns,
                span.status.value,
                span.error,
                span.model,
                span.tokens_in,
                span.tokens_out,
                span.cost,
            ),
        )
        if cursor.rowcount == 0:
            self.counts.duplicates += 1
            return False
        span_pk = cursor.lastrowid
        self._db.execute(
            _PAYLOAD_SQL,
            (span_pk, span.input, span.output, dumps(span.attributes), dumps(span.events)),
        )
        if span.scores:
            self._db.executemany(
                _SPAN_SCORE_SQL,
                [
                    (
                        span_pk,
                        span.trace_id,
                        score.name,
                        score.score,
                        score.threshold,
                        None if score.passed is None else int(score.passed),
                        score.reason,
                        score.evaluation_model,
                        score.error,
                    )
                    for score in span.scores
                ],
            )
        self._count(delta, span)
        self.counts.spans += 1
        self._pending += 1
        if self._pending >= FLUSH_EVERY:
            self.flush()
        return True

    def _count(self, delta: _Delta, span: SpanRecord) -> None:
        delta.spans += 1
        delta.errors += span.status is SpanStatus.ERROR
        delta.scores += len(span.scores)
        delta.failed += sum(1 for score in span.scores if score.passed is False)
        if delta.start is None or span.start_ns < delta.start:
            delta.start = span.start_ns
        if span.end_ns is not None and (delta.end is None or span.end_ns > delta.end):
            delta.end = span.end_ns
        if span.parent_id is None and (
            delta.root_start is None or span.start_ns < delta.root_start
        ):
            delta.root_name, delta.root_start = span.name, span.start_ns
        if span.link:
            self._merge_link(delta, span.link)

    def flush(self) -> None:
        """Write the per-trace aggregates gathered since the last flush."""
        if not self._deltas:
            return
        self._db.executemany(
            _AGGREGATE_SQL, [delta.params(tid) for tid, delta in self._deltas.items()]
        )
        self._db.executemany(
            "INSERT OR IGNORE INTO temp.evaltui_touched (trace_id) VALUES (?)",
            [(trace_id,) for trace_id in self._deltas],
        )
        self._deltas.clear()
        self._pending = 0

    def finish(self) -> None:
        """Flush, then link the traces this transaction touched to their cases."""
        self.flush()
        if self._link is not None:
            self._apply_link_options(self._link)
        self._db.execute(f"{_LINK_FROM_CASE_SQL} AND trace_id IN ({_TOUCHED})")
        self._db.execute(f"{_LINK_FROM_IDX_SQL} AND trace_id IN ({_TOUCHED})")
        row = self._db.execute(
            f"SELECT COUNT(*) FROM evaltui_traces WHERE trace_id IN ({_TOUCHED})"
            " AND case_id IS NOT NULL"
        ).fetchone()
        self.counts.linked = int(row[0])

    def _apply_link_options(self, link: LinkOptions) -> None:
        if link.match == "idx":
            self._db.execute(
                f"""UPDATE evaltui_traces SET run_id = ? WHERE trace_id IN ({_TOUCHED})
                    AND case_id IS NULL AND run_id IS NULL AND case_idx IS NOT NULL""",
                (link.run_id,),
            )
            return
        keys: dict[str, tuple[str, int]] = {}
        for case_id, idx, raw in self._db.execute(
            "SELECT id, idx, input FROM cases WHERE run_id = ? ORDER BY idx DESC, rowid DESC",
            (link.run_id,),
        ):
            for key in case_input_keys(raw):
                keys[key] = (case_id, idx)  # descending: the lowest idx wins a duplicate input
        rows = self._db.execute(
            f"""SELECT t.trace_id, (SELECT p.input FROM evaltui_spans s
                   JOIN evaltui_span_payloads p ON p.span_pk = s.id
                   WHERE s.trace_id = t.trace_id AND s.parent_id IS NULL
                   ORDER BY s.start_ns LIMIT 1)
                FROM evaltui_traces t WHERE t.trace_id IN ({_TOUCHED}) AND t.case_id IS NULL"""
        ).fetchall()
        updates = []
        for trace_id, span_input in rows:
            found = next((keys[k] for k in sorted(trace_input_keys(span_input)) if k in keys), None)
            if found is not None:
                updates.append((found[0], link.run_id, found[1], trace_id))
        self._db.executemany(
            "UPDATE evaltui_traces SET case_id = ?, run_id = ?, case_idx = ? WHERE trace_id = ?",
            updates,
        )

    def has_import(self, key: str) -> bool:
        """Whether a file or DeepEval run with this key was imported before."""
        found = self._db.execute("SELECT 1 FROM evaltui_imports WHERE sha256 = ?", (key,))
        return found.fetchone() is not None

    def record_import(self, sha256: str, source: str, fmt: str, run_id: str | None) -> None:
        """Remember a file (or a DeepEval run) so that importing it again adds nothing."""
        self._db.execute(
            "INSERT INTO evaltui_imports (sha256, source, format, imported_at, traces, spans,"
            " duplicates, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                sha256,
                source,
                fmt,
                self._now,
                self.counts.traces,
                self.counts.spans,
                self.counts.duplicates,
                run_id,
            ),
        )


# -- one job, one writer ---------------------------------------------------------------------


class JobBusyError(StoreError):
    """Another live process is writing the same job."""


class JobLostError(StoreError):
    """Another process took this job over: this one must not write to its run any more."""


@dataclass(frozen=True, slots=True)
class NewRun:
    """The package's `createRun` arguments of a job's new run."""

    suite_id: str
    name: str
    model: str
    config: str
    started: int


@dataclass(frozen=True, slots=True)
class JobHolder:
    holder: str
    pid: int
    host: str

    @classmethod
    def current(cls) -> JobHolder:
        return cls(holder=new_id(), pid=os.getpid(), host=socket.gethostname())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def _refuse_if_held(path: Path, row: Sequence[Any], me: JobHolder, stale_after_s: float) -> None:
    """Raise `JobBusyError` unless the lease in `row` is free to take: its heartbeat is older
    than `stale_after_s`, or its process is gone (same host)."""
    run_id, _holder, pid, host, heartbeat_at = row
    age_s = max(0.0, (now_ms() - int(heartbeat_at)) / 1000)
    if age_s >= stale_after_s:
        return
    if host == me.host and int(pid) != me.pid and not _alive(int(pid)):
        return  # killed (kill -9, a crash): nobody writes it any more
    where = f"process {pid} on {host}" if host != me.host else f"process {pid}"
    wait = int(stale_after_s - age_s) + 1
    raise JobBusyError(
        f"this job is already running in {where}, writing run {str(run_id)[:8]} of {path} "
        f"(heartbeat {age_s:.0f} s ago): let it finish or stop it, then run the same command "
        f"to resume; if that process is gone, retry in {wait} s"
    )


@dataclass(slots=True)
class JobClaim:
    run_id: str
    saved: set[int]
    """idx already saved in the run (an interrupted attempt's cases, skipped on resume)."""
    created: bool
    lease: JobLease


class JobLease:
    """The job's claim on its run: a heartbeat every `heartbeat_s` from a thread of its own
    (its own short-lived connection, never the event loop's nor the writer's), released
    when the job ends."""

    def __init__(self, path: Path, job_key: str, holder: str, heartbeat_s: float) -> None:
        self.path = path
        self.job_key = job_key
        self.holder = holder
        self.heartbeat_s = heartbeat_s
        self.lost = False
        """Another process took the job over (our heartbeat was stale): stop writing."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._beat_loop, name=f"evaltui-lease-{self.job_key[:8]}", daemon=True
        )
        self._thread.start()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        return db

    def _beat_loop(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            with contextlib.suppress(sqlite3.Error):  # busy: the next beat will do
                self.beat()

    def beat(self) -> bool:
        """Refresh the heartbeat; False (and `lost`) when the lease is no longer ours."""
        db = self._connect()
        try:
            updated = db.execute(
                "UPDATE evaltui_job_leases SET heartbeat_at = ? WHERE job_key = ? AND holder = ?",
                (now_ms(), self.job_key, self.holder),
            ).rowcount
        finally:
            db.close()
        self.lost = updated == 0
        return not self.lost

    def release(self) -> None:
        """Stop the heartbeat and give the job up (a job that ended, however it ended)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        db = self._connect()
        try:
            db.execute(
                "DELETE FROM evaltui_job_leases WHERE job_key = ? AND holder = ?",
                (self.job_key, self.holder),
            )
        except sqlite3.Error:
            pass  # a stale lease is taken over anyway
        finally:
            db.close()
