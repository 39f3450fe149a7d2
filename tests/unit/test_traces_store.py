"""Trace storage: the package's store stays intact and writable, browsing writes nothing,
and the read queries work on stores with and without traces."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from evaltui.services.ingest.importer import import_file
from evaltui.services.ingest.sample import write_sample_traces
from evaltui.store import RunStore, StoreError
from evaltui.store import traces as queries
from evaltui.store.schema import PACKAGE_TABLES
from evaltui.store.writer import EVALTUI_TABLES, SCHEMA_VERSION, StoreWriter
from evaltui.traces.models import SpanKind, SpanRecord, SpanStatus
from tests.conftest import FIXTURES
from tests.shared import require_shared
from tests.storebuilder import StoreBuilder

OTLP_JSON = FIXTURES / "otlp" / "otel_agent_trace.otlp.json"
DEEPEVAL = FIXTURES / "deepeval" / "deepeval_test_run_with_traces.json"
GPT_QA = "1f6bffdc-edc4-4e84-9911-cc81ff59a494"

# The package's DDL as `new RunStore()` runs it on every open (runstore.md §2), and its
# migrations' checks: running them on a store evaltui wrote must change nothing and fail on
# nothing.
PACKAGE_DDL = """
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA foreign_keys = ON;
CREATE TABLE IF NOT EXISTS suites (id TEXT PRIMARY KEY, name TEXT NOT NULL,
  created_at INTEGER NOT NULL DEFAULT (unixepoch() * 1000));
CREATE TABLE IF NOT EXISTS runs (id TEXT PRIMARY KEY, suite_id TEXT NOT NULL, name TEXT NOT NULL,
  model TEXT NOT NULL, config TEXT, started_at INTEGER NOT NULL, finished_at INTEGER,
  status TEXT NOT NULL DEFAULT 'running' CHECK(status IN ('running', 'completed', 'failed')),
  summary TEXT, FOREIGN KEY (suite_id) REFERENCES suites(id) ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS idx_runs_suite_id ON runs(suite_id);
CREATE INDEX IF NOT EXISTS idx_runs_started_at ON runs(started_at);
CREATE TABLE IF NOT EXISTS cases (id TEXT PRIMARY KEY, run_id TEXT NOT NULL, idx INTEGER NOT NULL,
  input TEXT NOT NULL, output TEXT, expected TEXT, latency_ms INTEGER, tokens_in INTEGER,
  tokens_out INTEGER, error TEXT, FOREIGN KEY (run_id) REFERENCES runs(id) ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS idx_cases_run_id ON cases(run_id);
CREATE TABLE IF NOT EXISTS scores (id TEXT PRIMARY KEY, case_id TEXT NOT NULL,
  scorer_name TEXT NOT NULL, score REAL NOT NULL, reason TEXT,
  FOREIGN KEY (case_id) REFERENCES cases(id) ON DELETE CASCADE);
CREATE INDEX IF NOT EXISTS idx_scores_case_id ON scores(case_id);
CREATE TABLE IF NOT EXISTS prompts (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE,
  content TEXT NOT NULL, created_at INTEGER NOT NULL DEFAULT (unixepoch() * 1000));
CREATE INDEX IF NOT EXISTS idx_prompts_created_at ON prompts(created_at);
CREATE INDEX IF NOT EXISTS idx_prompts_name_version ON prompts(name, version DESC);
"""


def needs_fixtures() -> None:
    require_shared(OTLP_JSON)


def q(db_path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db_path) as db:
        return db.execute(sql, params).fetchall()


def package_master(db_path: Path) -> list[tuple[Any, ...]]:
    tables = ",".join(f"'{t}'" for t in PACKAGE_TABLES)
    return q(
        db_path,
        f"SELECT type, name, tbl_name, sql FROM sqlite_master WHERE tbl_name IN ({tables})"
        " ORDER BY type, name",
    )


def package_rows(db_path: Path) -> dict[str, list[tuple[Any, ...]]]:
    return {
        table: q(db_path, f"SELECT rowid, * FROM {table} ORDER BY rowid")
        for table in PACKAGE_TABLES
    }


def import_into(store: Path, source: Path, tmp_path: Path) -> Any:
    copy = tmp_path / source.name
    shutil.copy(source, copy)
    with StoreWriter.open(store) as writer:
        writer.ensure_schema()
        return import_file(writer, copy)


def test_an_otlp_import_leaves_every_package_table_index_and_row_untouched(
    real_store: Path, tmp_path: Path
) -> None:
    needs_fixtures()
    master, contents = package_master(real_store), package_rows(real_store)
    assert len(master) == 17  # 5 tables, 6 named indexes, 6 autoindexes
    import_into(real_store, OTLP_JSON, tmp_path)
    assert package_master(real_store) == master
    assert package_rows(real_store) == contents
    assert q(real_store, "PRAGMA integrity_check") == [("ok",)]
    assert q(real_store, "PRAGMA foreign_key_check") == []
    assert q(real_store, "PRAGMA journal_mode") == [("wal",)]
    assert q(real_store, "PRAGMA user_version") == [(0,)]
    names = {row[0] for row in q(real_store, "SELECT name FROM sqlite_master WHERE type='table'")}
    assert names == set(PACKAGE_TABLES) | set(EVALTUI_TABLES)
    assert q(real_store, "SELECT value FROM evaltui_meta WHERE key='schema_version'") == [
        (str(SCHEMA_VERSION),)
    ]


def test_a_deepeval_import_only_appends_package_rows(real_store: Path, tmp_path: Path) -> None:
    needs_fixtures()
    master, before = package_master(real_store), package_rows(real_store)
    result = import_into(real_store, DEEPEVAL, tmp_path)
    after = package_rows(real_store)
    assert package_master(real_store) == master
    added = {table: len(after[table]) - len(before[table]) for table in PACKAGE_TABLES}
    assert added == {"suites": 1, "runs": 1, "cases": 2, "scores": 2, "prompts": 0}
    for table in PACKAGE_TABLES:
        assert after[table][: len(before[table])] == before[table]
    assert q(real_store, "PRAGMA integrity_check") == [("ok",)]
    assert q(real_store, "PRAGMA foreign_key_check") == []
    assert result.run_id is not None


def test_the_package_can_still_open_migrate_and_write_the_store(
    real_store: Path, tmp_path: Path
) -> None:
    needs_fixtures()
    result = import_into(real_store, DEEPEVAL, tmp_path)
    import_into(real_store, OTLP_JSON, tmp_path)
    master = package_master(real_store)
    db = sqlite3.connect(real_store, isolation_level=None)
    try:
        db.executescript(PACKAGE_DDL)
        # migration 1 skips: suite_id NOT NULL with an ON DELETE CASCADE foreign key
        suite_id = [row for row in db.execute("PRAGMA table_info(runs)") if row[1] == "suite_id"]
        assert suite_id[0][3] == 1
        assert [(r[2], r[3], r[4], r[6]) for r in db.execute("PRAGMA foreign_key_list(runs)")] == [
            ("suites", "suite_id", "id", "CASCADE")
        ]
        # migration 2 skips: prompts has a version column
        assert "version" in {row[1] for row in db.execute("PRAGMA table_info(prompts)")}
        # the store's own statements (runstore.md §4), with foreign keys on
        db.execute("INSERT INTO suites (id, name, created_at) VALUES (?, ?, ?)", ("s-new", "n", 1))
        db.execute(
            "INSERT INTO runs (id, suite_id, name, model, config, started_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            ("r-new", "s-new", "n [m]", "m", None, 1),
        )
        db.execute(
            "INSERT INTO cases (id, run_id, idx, input, output, expected, latency_ms, tokens_in,"
            " tokens_out, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ("c-new", "r-new", 0, "{}", "o", None, 1, 0, 0, None),
        )
        db.execute(
            "INSERT INTO scores (id, case_id, scorer_name, score, reason) VALUES (?, ?, ?, ?, ?)",
            ("sc-new", "c-new", "exact", 1.0, None),
        )
        db.execute(
            "UPDATE runs SET finished_at = ?, status = ?, summary = ? WHERE id = ?",
            (2, "completed", "{}", "r-new"),
        )
        db.execute("UPDATE runs SET name = ? WHERE id = ?", ("renamed", result.run_id))
        db.execute("BEGIN")  # resetRun of the imported run: its cases (with traces) go
        db.execute("DELETE FROM cases WHERE run_id = ?", (result.run_id,))
        db.execute(
            "UPDATE runs SET status = ?, started_at = ?, finished_at = NULL, summary = NULL"
            " WHERE id = ?",
            ("running", 3, result.run_id),
        )
        db.execute("COMMIT")
        db.execute("DELETE FROM runs WHERE id = ?", (GPT_QA,))
        db.execute("DELETE FROM suites WHERE id = ?", ("s-new",))
    finally:
        db.close()
    assert package_master(real_store) == master
    assert q(real_store, "PRAGMA integrity_check") == [("ok",)]
    assert q(real_store, "PRAGMA foreign_key_check") == []
    # the traces outlive their deleted cases (soft links) and stay browsable
    assert q(real_store, "SELECT COUNT(*) FROM evaltui_traces") == [(3,)]


async def test_browsing_creates_nothing_and_copes_without_trace_tables(real_store: Path) -> None:
    digest = hashlib.sha256(real_store.read_bytes()).hexdigest()
    store = await RunStore.open(real_store)
    try:
        assert not await queries.has_traces(store)
        assert await queries.list_traces(store) == []
        assert await queries.list_traces(store, run_id=GPT_QA) == []
        assert await queries.traces_for_case(store, "x") == []
        assert await queries.trace_counts(store, ["a", "b"]) == {"a": 0, "b": 0}
        assert await queries.get_trace(store, "x") is None
        assert await queries.trace_spans(store, "x") == []
        assert await queries.child_spans(store, "x", None) == []
        assert await queries.trace_scores(store, "x") == {}
        assert await queries.trace_tree(store, "x") == []
        assert await queries.span_detail(store, 1) is None
        assert await queries.problem_span_pks(store, "x") == []
        assert await queries.search_spans(store, "x", "y") == set()
        with pytest.raises(StoreError, match="no traces in"):
            await queries.resolve_trace(store, "x")
    finally:
        await store.close()
    assert hashlib.sha256(real_store.read_bytes()).hexdigest() == digest
    assert not {row[0] for row in q(real_store, "SELECT name FROM sqlite_master")} & set(
        EVALTUI_TABLES
    )


# -- the writer -----------------------------------------------------------------------------


def record(span_id: str, parent: str | None = None, trace: str = "a" * 32) -> SpanRecord:
    return SpanRecord(trace, span_id, parent, SpanKind.TOOL, f"s{span_id}", 10, 20, SpanStatus.OK)


def test_a_failed_transaction_writes_nothing(builder: StoreBuilder) -> None:
    with StoreWriter.open(builder.path) as writer:
        writer.ensure_schema()
        with pytest.raises(RuntimeError), writer.transaction() as batch:
            batch.add_span(record("1"), "test")
            raise RuntimeError("boom")
        assert writer.fetch("SELECT COUNT(*) FROM evaltui_spans") == [(0,)]
        assert writer.fetch("SELECT COUNT(*) FROM evaltui_traces") == [(0,)]
        with writer.transaction() as batch:
            assert batch.add_span(record("1"), "test")
            assert not batch.add_span(record("1"), "test")  # the same span again
        assert writer.fetch("SELECT span_count FROM evaltui_traces") == [(1,)]


def test_a_newer_schema_is_refused(builder: StoreBuilder) -> None:
    with StoreWriter.open(builder.path) as writer:
        writer.ensure_schema()
        writer.ensure_schema()  # idempotent
    with sqlite3.connect(builder.path) as db:
        db.execute("UPDATE evaltui_meta SET value = '99' WHERE key = 'schema_version'")
    with (
        StoreWriter.open(builder.path) as writer,
        pytest.raises(StoreError, match="upgrade evaltui"),
    ):
        writer.ensure_schema()


def test_a_locked_store_gives_a_one_line_error(builder: StoreBuilder) -> None:
    with StoreWriter.open(builder.path, busy_timeout_ms=50) as writer:
        writer.ensure_schema()
        builder.db.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(StoreError, match="locked by another process"), writer.transaction():
                pass
        finally:
            builder.db.execute("ROLLBACK")


def test_aggregates_span_batches_and_many_traces(builder: StoreBuilder) -> None:
    with StoreWriter.open(builder.path) as writer:
        writer.ensure_schema()
        with writer.transaction() as batch:
            for i in range(12_000):  # crosses the flush size twice
                span = record(f"{i:016x}", None if i == 0 else f"{0:016x}", trace="b" * 32)
                span.start_ns, span.end_ns = 100 + i, 200 + i
                if i % 1000 == 7:
                    span.status = SpanStatus.ERROR
                batch.add_span(span, "test")
            for t in range(300):
                batch.add_span(record("1", trace=f"{t:032x}"), "test")
    assert q(
        builder.path,
        "SELECT span_count, error_count, start_ns, end_ns, name FROM evaltui_traces"
        " WHERE trace_id = ?",
        ("b" * 32,),
    ) == [(12_000, 12, 100, 12_199, "s0000000000000000")]
    assert q(builder.path, "SELECT COUNT(*), SUM(span_count) FROM evaltui_traces") == [
        (301, 12_300)
    ]


# -- read queries ---------------------------------------------------------------------------


@pytest.fixture
async def sampled(builder: StoreBuilder) -> AsyncIterator[tuple[RunStore, str, list[str]]]:
    suite = builder.suite("qa")
    run = builder.run(suite, "gpt-x")
    cases = [
        builder.case(
            run, i, scores={"exact": float(i % 2)}, error='{"message":"429"}' if i == 4 else None
        )
        for i in range(8)
    ]
    stats = write_sample_traces(builder.path, [run], big_trace_spans=300)
    assert stats.big_trace_id is not None
    store = await RunStore.open(builder.path)
    yield store, stats.big_trace_id, cases
    await store.close()


async def test_read_queries(sampled: tuple[RunStore, str, list[str]]) -> None:
    store, big, cases = sampled
    traces = await queries.list_traces(store)
    assert len(traces) == 8 and all(t.case_id in cases for t in traces)
    assert await queries.list_traces(store, unlinked_only=True) == []
    assert [t.trace_id for t in await queries.traces_for_case(store, cases[0])] == [big]
    assert await queries.trace_counts(store, [*cases[:2], "none"]) == {
        cases[0]: 1,
        cases[1]: 1,
        "none": 0,
    }
    spans = await queries.trace_spans(store, big)
    assert len(spans) == 300 and [s.start_ns for s in spans] == sorted(s.start_ns for s in spans)
    roots = await queries.child_spans(store, big, None)
    assert [r.name for r in roots] == ["invoke_agent orchestrator"]
    children = await queries.child_spans(store, big, roots[0].span_id)
    assert [c.name for c in children] == ["plan"]
    assert len(await queries.child_spans(store, big, children[0].span_id)) == 298
    problems = await queries.problem_span_pks(store, big)
    by_pk = {s.pk: s for s in spans}
    assert problems and all(by_pk[pk].status == "error" for pk in problems)
    assert [by_pk[pk].start_ns for pk in problems] == sorted(by_pk[pk].start_ns for pk in problems)

    errored = (await queries.traces_for_case(store, cases[4]))[0]
    tree = await queries.trace_tree(store, errored.trace_id)
    assert tree[0].span.status == "error" and tree[0].span.error == "Error: 429"
    detail = await queries.span_detail(store, tree[0].span.pk)
    assert detail is not None and detail.attributes["gen_ai.agent.name"] == "qa-agent"
    assert await queries.search_spans(store, errored.trace_id, "QA-AGENT") == {tree[0].span.pk}
    assert await queries.search_spans(store, errored.trace_id, "100%") == set()


async def test_resolve_trace_by_id_case_or_prefix(sampled: tuple[RunStore, str, list[str]]) -> None:
    store, big, cases = sampled
    assert [t.trace_id for t in await queries.resolve_trace(store, big)] == [big]
    assert [t.trace_id for t in await queries.resolve_trace(store, big[:8])] == [big]
    assert [t.trace_id for t in await queries.resolve_trace(store, cases[0])] == [big]
    assert [t.case_id for t in await queries.resolve_trace(store, cases[3][:36])] == [cases[3]]
    with pytest.raises(StoreError, match="too short"):
        await queries.resolve_trace(store, "ab")
    with pytest.raises(StoreError, match="no trace or case matches"):
        await queries.resolve_trace(store, "zzzzzz")
    assert await queries.resolve_case_id(store, cases[2]) == cases[2]
