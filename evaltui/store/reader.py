"""Read-only access to a `@deepagents/evals` RunStore (SQLite), through aiosqlite.

Every query here is scoped and paged so that nothing grows with the store on the UI path:
run lists come from `runs`, a run's cases are indexed once (ids and scores only, no text)
and text is fetched by primary key for the rows on screen or the case that is opened.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import sqlite3
import stat
from collections.abc import AsyncIterator, Iterable, Sequence
from pathlib import Path
from typing import Any

import aiosqlite

from evaltui.core.models import (
    Case,
    CaseRow,
    FailingCase,
    HistoryPoint,
    JsonText,
    Prompt,
    Run,
    RunIndex,
    RunSpend,
    RunStatus,
    RunSummary,
    Score,
    Suite,
    parse_derived,
)
from evaltui.store.decode import Tally, Values, is_decode_error, tolerant_text
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
from evaltui.store.runindex import RunIndexBuilder
from evaltui.store.schema import PACKAGE_TABLES

SQLITE_HEADER = b"SQLite format 3\x00"
DEFAULT_STORE = Path(".evals/store.db")
MIN_PREFIX = 4
PREVIEW_CHARS = 300

# Columns evaltui reads; a store missing any of them is of an older or foreign schema.
REQUIRED_COLUMNS: dict[str, set[str]] = {
    "suites": {"id", "name", "created_at"},
    "runs": {"id", "suite_id", "name", "model", "config", "started_at", "finished_at", "status"},
    "cases": {
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
    },
    "scores": {"id", "case_id", "scorer_name", "score", "reason"},
}


# The package's getLatestCompletedRun, verbatim (status bound to 'completed').
LATEST_SQL = (
    "SELECT id FROM runs WHERE suite_id = ? AND status = ? ORDER BY started_at DESC LIMIT 1"
)
LATEST_MODEL_SQL = (
    "SELECT id FROM runs WHERE suite_id = ? AND status = ? AND model = ?"
    " ORDER BY started_at DESC LIMIT 1"
)


def find_store_path(explicit: str | None) -> Path:
    """`--store PATH`, then `$EVALS_DB_PATH`, then `./.evals/store.db` (as the web runner)."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("EVALS_DB_PATH")
    if env:
        return Path(env)
    return DEFAULT_STORE


def check_store_file(path: Path, *, immutable: bool = False) -> None:
    """One clear error unless `path` is an existing, readable SQLite file.

    The file itself is never opened here outside SQLite: POSIX advisory locks belong to the
    process, so closing any other descriptor of the file would drop every lock that this
    process's SQLite connections hold on it, and another process closing its connection
    would then checkpoint and delete the WAL we are still writing to (issue 8, finding 1).
    `os.stat` and `os.access` look at the file without opening it; the header is checked by
    SQLite itself, through a short read-only connection (SQLite shares locks between its
    connections in one process, so closing that one drops nothing). With `immutable` (a
    read-only medium, no writer) the probe is immutable too, so it leaves no -wal/-shm.
    """
    try:
        info = path.stat()
    except FileNotFoundError:
        raise StoreError(
            f"no store at {path}: pass the path of a RunStore "
            "(evaltui PATH, --store PATH or $EVALS_DB_PATH; default ./.evals/store.db)"
        ) from None
    except OSError as error:
        raise StoreError(f"cannot read {path}: {error.strerror}; check its permissions") from None
    if stat.S_ISDIR(info.st_mode):
        raise StoreError(f"{path} is a folder: pass the store file inside it, e.g. {path}/store.db")
    if not stat.S_ISREG(info.st_mode):
        raise StoreError(
            f"{path} is not a regular file (a pipe, socket or device): "
            "pass the store.db file that @deepagents/evals wrote"
        )
    if not os.access(path, os.R_OK):
        raise StoreError(f"cannot read {path}: Permission denied; check its permissions")
    if info.st_size < len(SQLITE_HEADER) or not _sqlite_says_database(path, immutable):
        raise StoreError(
            f"{path} is not a SQLite database: pass the store.db file that @deepagents/evals wrote"
        )


def _sqlite_says_database(path: Path, immutable: bool) -> bool:
    """False when SQLite reads `path` as "not a database" (no SQLite header); any other
    problem (locked, corrupted pages, a read-only medium) is left to the real connection,
    which explains it. Never immutable otherwise: an immutable connection takes no locks
    and closes its descriptor outright, which would drop this process's locks."""
    uri = f"{path.resolve().as_uri()}?mode=ro" + ("&immutable=1" if immutable else "")
    try:
        probe = sqlite3.connect(uri, uri=True, timeout=0)
    except sqlite3.Error:
        return True
    try:
        probe.execute("PRAGMA schema_version").fetchone()
    except sqlite3.DatabaseError as error:
        return "not a database" not in str(error).lower()
    finally:
        probe.close()
    return True


def _run_from_row(row: Sequence[Any], tally: Tally) -> Run:
    run_id = Values(tally, None).text(row[0], ("run", row[0], "id"))
    values = Values(tally, run_id)
    summary_raw = values.optional_text(row[9], ("run", run_id, "summary"))
    return Run(
        id=run_id,
        suite_id=values.optional_text(row[1], ("run", run_id, "suite_id")),
        suite_name=values.optional_text(row[2], ("suite", row[1], "name")),
        name=values.text(row[3], ("run", run_id, "name")),
        model=values.text(row[4], ("run", run_id, "model")),
        config=JsonText.parse(values.optional_text(row[5], ("run", run_id, "config"))),
        started_at=values.integer(row[6], ("run", run_id, "started_at")),
        finished_at=values.optional_int(row[7], ("run", run_id, "finished_at")),
        status=values.text(row[8], ("run", run_id, "status")),
        summary=RunSummary.parse(summary_raw),
        summary_raw=summary_raw,
        unreadable=_columns(values),
    )


def _columns(values: Values) -> tuple[str, ...]:
    """The columns noted while one row was read (the last part of each `where`)."""
    columns = (str(where[-1]) for where in values.noted if isinstance(where, tuple))
    return tuple(dict.fromkeys(columns))


def _key(run_id: object) -> str | None:
    """A run id to count unreadable values under (the store's own count when unreadable)."""
    return run_id if isinstance(run_id, str) else None


def _suite_from_row(row: Sequence[Any], tally: Tally) -> Suite:
    values = Values(tally, None)
    suite_id = values.text(row[0], ("suite", row[0], "id"))
    return Suite(
        id=suite_id,
        name=values.text(row[1], ("suite", suite_id, "name")),
        created_at=values.integer(row[2], ("suite", suite_id, "created_at")),
    )


def _score(values: Values, case_id: str, row: Sequence[Any]) -> Score:
    """A score from `(scorer_name, score, reason)`."""
    name = values.text(row[0], ("score", case_id, row[0], "scorer_name"))
    return Score(
        scorer_name=name,
        score=values.score(row[1], ("score", case_id, name, "score")),
        reason=values.optional_text(row[2], ("score", case_id, name, "reason")),
    )


# The first page of failing cases (getFailingCases' rule: any score below the threshold).
FIRST_FAILING_SQL = """SELECT c.id FROM cases c WHERE c.run_id = ? AND EXISTS (
    SELECT 1 FROM scores s WHERE s.case_id = c.id AND s.score < ?) ORDER BY c.idx, c.id LIMIT ?"""


def _case_from_row(row: Sequence[Any], score_rows: Sequence[Sequence[Any]], tally: Tally) -> Case:
    """A case from its row and its `(scorer_name, score, reason)` rows."""
    run_id = Values(tally, None).text(row[1], ("case", row[0], "run_id"))
    values = Values(tally, run_id)
    case_id = values.text(row[0], ("case", row[0], "id"))
    where = ("case", case_id)
    return Case(
        id=case_id,
        run_id=run_id,
        idx=values.integer(row[2], (*where, "idx")),
        input=JsonText.parse(values.text(row[3], (*where, "input"))),
        output=values.optional_text(row[4], (*where, "output")),
        expected=JsonText.parse(values.optional_text(row[5], (*where, "expected"))),
        latency_ms=values.optional_int(row[6], (*where, "latency_ms")),
        tokens_in=values.optional_int(row[7], (*where, "tokens_in")),
        tokens_out=values.optional_int(row[8], (*where, "tokens_out")),
        error=JsonText.parse(values.optional_text(row[9], (*where, "error"))),
        scores=tuple(_score(values, case_id, score) for score in score_rows),
        unreadable=_columns(values),
    )


_RUN_COLUMNS = """
    r.id, r.suite_id, s.name, r.name, r.model, r.config, r.started_at, r.finished_at, r.status,
    {summary}
    FROM runs r LEFT JOIN suites s ON s.id = r.suite_id
"""


# `s.rowid` tells a case without scores (NULL) from a score row whose columns are NULL.
RUN_INDEX_SQL = """SELECT c.idx, c.id, s.scorer_name, s.score, s.rowid FROM cases c
    LEFT JOIN scores s ON s.case_id = c.id WHERE c.run_id = ?"""


class _ReadAgain(Exception):
    """A streamed read met text that is not UTF-8: the store now decodes it tolerantly, and
    the read starts over."""


class RunStore:
    """One long-lived read-only connection to a RunStore file."""

    def __init__(
        self,
        path: Path,
        connection: aiosqlite.Connection,
        has_summary: bool,
        uri: str = "",
        timeout: float = 2.0,
    ) -> None:
        self.path = path
        self._db = connection
        self._uri = uri
        self._timeout = timeout
        self._bg: aiosqlite.Connection | None = None
        self._bg_lock = asyncio.Lock()
        self._run_columns = _RUN_COLUMNS.format(summary="r.summary" if has_summary else "NULL")
        self._prompts_have_version = True
        self._has_prompts = True
        self._tally = Tally()
        self._tolerant = False  # set once text that is not UTF-8 was met

    def unreadable_values(self, run_id: str | None = None) -> int:
        """How many distinct stored values read so far could not be read as stored (a NULL
        in a NOT NULL column, a wrong storage class, text that is not UTF-8): of one run's
        rows, or of everything read when `run_id` is None. See `evaltui.store.decode`."""
        return self._tally.count(run_id)

    @property
    def reads_tolerantly(self) -> bool:
        """True once text that is not UTF-8 was met: text then goes through `tolerant_text`
        (slower than sqlite3's own decoding, which a well-formed store keeps)."""
        return self._tolerant

    def _read_tolerantly(self) -> None:
        """From now on, decode text that is not UTF-8 with U+FFFD instead of failing."""
        self._tolerant = True
        self._db.text_factory = tolerant_text
        if self._bg is not None:
            self._bg.text_factory = tolerant_text

    @property
    def uri(self) -> str:
        """The read-only `file:` URI the store was opened with (for another connection)."""
        return self._uri

    @property
    def timeout(self) -> float:
        """The busy timeout, in seconds, the store was opened with."""
        return self._timeout

    @classmethod
    async def open(cls, path: Path, *, immutable: bool = False, timeout: float = 2.0) -> RunStore:
        """Open `path` read-only and check that it is a RunStore; raise `StoreError` if not."""
        check_store_file(path, immutable=immutable)
        uri = f"{path.resolve().as_uri()}?mode=ro"
        if immutable:
            uri += "&immutable=1"
        try:
            connection = await aiosqlite.connect(uri, uri=True, timeout=timeout)
        except sqlite3.Error as error:
            raise explain(error, path) from None
        try:
            store = await cls._validated(path, connection)
        except BaseException:
            await connection.close()
            raise
        store._uri = uri
        store._timeout = timeout
        return store

    @classmethod
    async def _validated(cls, path: Path, connection: aiosqlite.Connection) -> RunStore:
        try:
            tables = {
                row[0]
                for row in await connection.execute_fetchall(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                )
            }
            columns: dict[str, set[str]] = {}
            for table in PACKAGE_TABLES:
                if table in tables:
                    info = await connection.execute_fetchall(f"PRAGMA table_info({table})")
                    columns[table] = {row[1] for row in info}
        except sqlite3.Error as error:
            raise explain(error, path) from None
        missing = [table for table in REQUIRED_COLUMNS if table not in tables]
        if len(missing) == len(REQUIRED_COLUMNS):
            found = ", ".join(sorted(tables)) or "no tables"
            raise StoreError(
                f"{path} is a SQLite database but not a @deepagents/evals RunStore "
                f"(it has {found}); pass the store.db that the package wrote"
            )
        if missing:
            raise StoreError(
                f"{path} is an incomplete RunStore (missing table {', '.join(missing)}); "
                "open it once with @deepagents/evals to create its tables, then retry"
            )
        for table, needed in REQUIRED_COLUMNS.items():
            lacking = needed - columns[table]
            if lacking:
                raise StoreError(
                    f"{path} has an older schema: table {table} lacks "
                    f"{', '.join(sorted(lacking))}; open it once with @deepagents/evals "
                    "(new RunStore(path) migrates it), then retry"
                )
        store = cls(path, connection, has_summary="summary" in columns["runs"])
        store._has_prompts = "prompts" in columns
        store._prompts_have_version = "version" in columns.get("prompts", set())
        return store

    async def close(self) -> None:
        await self._db.close()
        if self._bg is not None:
            await self._bg.close()

    async def _background(self) -> aiosqlite.Connection:
        """A second read-only connection for whole-run work, so that it never queues up in
        front of the small queries of what is on screen."""
        async with self._bg_lock:
            if self._bg is None:
                try:
                    self._bg = await aiosqlite.connect(self._uri, uri=True, timeout=self._timeout)
                except sqlite3.Error as error:
                    raise explain(error, self.path) from None
                if self._tolerant:
                    self._bg.text_factory = tolerant_text
            return self._bg

    async def _fetch(
        self, sql: str, params: Iterable[Any] = (), *, background: bool = False
    ) -> list[Any]:
        params = tuple(params)
        for _ in range(2):
            db = await self._background() if background else self._db
            try:
                return list(await db.execute_fetchall(sql, params))
            except sqlite3.Error as error:
                if self._tolerant or not is_decode_error(error):
                    raise explain(error, self.path) from None
            self._read_tolerantly()  # and read again
        raise AssertionError("unreachable")  # pragma: no cover

    async def fetch(
        self, sql: str, params: Iterable[Any] = (), *, background: bool = False
    ) -> list[Any]:
        """The rows of one read query, on the store's connection (`background`: a second one,
        for slow reads). For the store package's query modules (`evaltui.store.traces`): SQL
        lives in evaltui/store only, and nothing outside it calls this."""
        return await self._fetch(sql, params, background=background)

    async def _chunks(
        self, sql: str, params: Iterable[Any] = (), size: int = 5000
    ) -> AsyncIterator[list[Any]]:
        """Rows of a big result in chunks, on the background connection."""
        db = await self._background()
        try:
            async with db.execute(sql, tuple(params)) as cursor:
                while rows := await cursor.fetchmany(size):
                    yield list(rows)
        except sqlite3.Error as error:
            if self._tolerant or not is_decode_error(error):
                raise explain(error, self.path) from None
            self._read_tolerantly()
            raise _ReadAgain from None

    async def data_version(self) -> int:
        """SQLite's `PRAGMA data_version`: changes when another connection commits."""
        rows = await self._fetch("PRAGMA data_version")
        return int(rows[0][0])

    # -- suites and runs -------------------------------------------------------------------

    async def list_suites(self) -> list[Suite]:
        """As the package's `listSuites`: newest first (ties by insertion order)."""
        rows = await self._fetch(
            "SELECT id, name, created_at FROM suites ORDER BY created_at DESC, rowid DESC"
        )
        return [_suite_from_row(row, self._tally) for row in rows]

    async def list_runs(self) -> list[Run]:
        """Every run, as `listRuns` orders them (started_at), ties broken by insertion order."""
        rows = await self._fetch(f"SELECT {self._run_columns} ORDER BY r.started_at, r.rowid")
        return [_run_from_row(row, self._tally) for row in rows]

    async def get_run(self, run_id: str) -> Run:
        rows = await self._fetch(f"SELECT {self._run_columns} WHERE r.id = ?", (run_id,))
        if not rows:
            raise StoreError(f"no run {run_id} in {self.path}; list them with `evaltui runs`")
        return _run_from_row(rows[0], self._tally)

    async def resolve_run(self, ref: str) -> Run:
        """A run by full id or by a unique prefix of at least four characters."""
        rows = await self._fetch("SELECT id FROM runs WHERE id = ?", (ref,))
        if not rows:
            if len(ref) < MIN_PREFIX:
                raise StoreError(
                    f"run id prefix {ref!r} is too short: give at least {MIN_PREFIX} characters"
                )
            rows = await self._fetch(
                "SELECT id FROM runs WHERE substr(id, 1, ?) = ? ORDER BY started_at LIMIT 6",
                (len(ref), ref),
            )
        if not rows:
            raise StoreError(
                f"no run matches {ref!r} in {self.path}; list them with `evaltui runs`"
            )
        if len(rows) > 1:
            shown = ", ".join(row[0][:12] for row in rows[:5])
            raise StoreError(f"run prefix {ref!r} is ambiguous ({shown}…): give more characters")
        return await self.get_run(rows[0][0])

    async def latest_completed_run_id(self, suite_id: str, model: str | None = None) -> str | None:
        """The package's `getLatestCompletedRun(suiteId, model?)`: the id of the suite's latest
        completed run (of `model`), or None."""
        if model is None:
            rows = await self._fetch(LATEST_SQL, (suite_id, RunStatus.COMPLETED.value))
        else:
            rows = await self._fetch(LATEST_MODEL_SQL, (suite_id, RunStatus.COMPLETED.value, model))
        return str(rows[0][0]) if rows else None

    async def completed_runs_page(
        self, suite_id: str, model: str | None, limit: int, offset: int
    ) -> list[tuple[str, str | None]]:
        """A page of the suite's completed runs (of `model`), newest first: (id, raw config)."""
        sql = (
            "SELECT id, config FROM runs WHERE suite_id = ? AND status = ?"
            + (" AND model = ?" if model is not None else "")
            + " ORDER BY started_at DESC, rowid DESC LIMIT ? OFFSET ?"
        )
        params: list[object] = [suite_id, RunStatus.COMPLETED.value]
        if model is not None:
            params.append(model)
        rows = await self._fetch(sql, (*params, limit, offset))
        values = Values(self._tally, None)
        return [
            (str(row[0]), values.optional_text(row[1], ("run", row[0], "config"))) for row in rows
        ]

    async def suite_by_name(self, name: str) -> Suite | None:
        """As `findSuiteByName`: the newest suite of that name."""
        rows = await self._fetch(
            "SELECT id, name, created_at FROM suites WHERE name = ?"
            " ORDER BY created_at DESC, rowid DESC LIMIT 1",
            (name,),
        )
        return _suite_from_row(rows[0], self._tally) if rows else None

    async def case_counts(self, run_ids: Sequence[str]) -> dict[str, int]:
        """Number of cases of each given run (index only, no row reads)."""
        counts = dict.fromkeys(run_ids, 0)
        for start in range(0, len(run_ids), 500):
            chunk = list(run_ids[start : start + 500])
            rows = await self._fetch(
                "SELECT run_id, COUNT(*) FROM cases"
                " WHERE run_id IN (SELECT value FROM json_each(?)) GROUP BY run_id",
                (json.dumps(chunk),),
            )
            counts.update({row[0]: row[1] for row in rows})
        return counts

    async def run_spend(self, run_ids: Sequence[str]) -> dict[str, RunSpend]:
        """What judging cost each given run evaltui wrote (runs without any judgement
        recorded, e.g. the package's own, are absent)."""
        if not await self._fetch(HAS_JUDGEMENTS_SQL):
            return {}
        spend: dict[str, RunSpend] = {}
        for start in range(0, len(run_ids), 500):
            chunk = list(run_ids[start : start + 500])
            spend.update(spend_from_rows(await self._fetch(SPEND_SQL, (json.dumps(chunk),))))
        return spend

    # -- the package's semantics -----------------------------------------------------------

    async def run_summary(self, run_id: str, threshold: float) -> RunSummary:
        """`getRunSummary(runId, threshold)`, with the package's own three queries."""
        totals = await self._fetch(SUMMARY_TOTALS_SQL, (run_id,), background=True)
        means = await self._fetch(SUMMARY_MEANS_SQL, (run_id,), background=True)
        minimums = await self._fetch(SUMMARY_MINIMUMS_SQL, (run_id,), background=True)
        values = Values(self._tally, run_id)
        return summary_from_rows(totals, means, minimums, threshold, values)

    async def failing_cases(self, run_id: str, threshold: float) -> list[FailingCase]:
        """`getFailingCases(runId, threshold)`: cases with a score below the threshold,
        ordered by idx, each with only its failing scores."""
        rows = await self._fetch(
            """SELECT c.id, c.idx, s.scorer_name, s.score, s.reason
               FROM cases c JOIN scores s ON s.case_id = c.id
               WHERE c.run_id = ? AND s.score < ? ORDER BY c.idx""",
            (run_id, threshold),
            background=True,
        )
        values = Values(self._tally, run_id)
        grouped: dict[str, tuple[int, list[Score]]] = {}
        for case_id, idx, *score in rows:
            case_id = values.text(case_id, ("case", case_id, "id"))
            entry = grouped.get(case_id)
            if entry is None:
                entry = grouped[case_id] = (values.integer(idx, ("case", case_id, "idx")), [])
            entry[1].append(_score(values, case_id, score))
        return [
            FailingCase(idx=idx, case_id=case_id, scores=tuple(scores))
            for case_id, (idx, scores) in grouped.items()
        ]

    # -- one run, for the case table -------------------------------------------------------

    async def count_cases(self, run_id: str) -> int:
        rows = await self._fetch("SELECT COUNT(*) FROM cases WHERE run_id = ?", (run_id,))
        return int(rows[0][0])

    async def first_case_ids(
        self, run_id: str, limit: int, failing_below: float | None = None
    ) -> list[str]:
        """The first `limit` case ids in idx order (only failing ones when `failing_below`
        is given), to paint the first page before the run's index is built."""
        if failing_below is None:
            sql = "SELECT id FROM cases WHERE run_id = ? ORDER BY idx, id LIMIT ?"
            params: tuple[Any, ...] = (run_id, limit)
        else:
            sql = FIRST_FAILING_SQL
            params = (run_id, failing_below, limit)
        values = Values(self._tally, run_id)
        rows = await self._fetch(sql, params)
        return [values.text(row[0], ("case", row[0], "id")) for row in rows]

    async def run_index(self, run_id: str) -> RunIndex:
        """Ids and scores of every case of the run in idx order; no text is read."""
        while True:
            builder = RunIndexBuilder(Values(self._tally, run_id))
            try:
                async for rows in self._chunks(RUN_INDEX_SQL, (run_id,)):
                    builder.add(rows)  # a few ms a chunk: the UI keeps painting in between
            except _ReadAgain:
                continue
            return await asyncio.to_thread(builder.finish)

    async def case_rows(self, case_ids: Sequence[str]) -> list[CaseRow]:
        """Table rows for the given cases (previews, small columns, scores), in the given order."""
        if not case_ids:
            return []
        ids_json = json.dumps(list(case_ids))
        rows = await self._fetch(
            f"""SELECT id, idx,
                   substr(CASE WHEN json_valid(input) AND json_type(input, '$.input') IS NOT NULL
                          THEN json_extract(input, '$.input') ELSE input END, 1, {PREVIEW_CHARS}),
                   substr(output, 1, {PREVIEW_CHARS}),
                   latency_ms, tokens_in, tokens_out, error IS NOT NULL, run_id
               FROM cases WHERE id IN (SELECT value FROM json_each(?))""",
            (ids_json,),
        )
        score_rows = await self._fetch(
            "SELECT case_id, scorer_name, score FROM scores"
            " WHERE case_id IN (SELECT value FROM json_each(?))",
            (ids_json,),
        )
        by_run: dict[object, Values] = {}
        runs = {
            row[0]: by_run.setdefault(row[8], Values(self._tally, _key(row[8]))) for row in rows
        }
        scores: dict[str, dict[str, float]] = {}
        for case_id, scorer, score in score_rows:
            values = runs.get(case_id) or Values(self._tally, None)
            name = values.text(scorer, ("score", case_id, scorer, "scorer_name"))
            number = values.score(score, ("score", case_id, name, "score"))
            per_case = scores.setdefault(case_id, {})
            # a scorer stored twice keeps its lowest score; NaN (not a number) never wins
            if not per_case.get(name, math.inf) <= number:
                per_case[name] = number
        by_id: dict[str, CaseRow] = {}
        for row in rows:
            values = runs[row[0]]
            case_id = values.text(row[0], ("case", row[0], "id"))
            where = ("case", case_id)
            by_id[case_id] = CaseRow(
                id=case_id,
                idx=values.integer(row[1], (*where, "idx")),
                input_preview=values.optional_text(row[2], (*where, "input")) or "",
                output_preview=values.optional_text(row[3], (*where, "output")) or "",
                latency_ms=values.optional_int(row[4], (*where, "latency_ms")),
                tokens_in=values.optional_int(row[5], (*where, "tokens_in")),
                tokens_out=values.optional_int(row[6], (*where, "tokens_out")),
                has_error=bool(row[7]),
                scores=scores.get(case_id, {}),
            )
        return [by_id[case_id] for case_id in case_ids if case_id in by_id]

    async def get_case(self, case_id: str) -> Case:
        """One case in full, with every score and reason."""
        rows = await self._fetch(
            """SELECT id, run_id, idx, input, output, expected, latency_ms, tokens_in,
                      tokens_out, error FROM cases WHERE id = ?""",
            (case_id,),
        )
        if not rows:
            raise StoreError(f"case {case_id} is no longer in {self.path}")
        row = rows[0]
        score_rows = await self._fetch(
            "SELECT scorer_name, score, reason FROM scores WHERE case_id = ?"
            " ORDER BY scorer_name, rowid",
            (case_id,),
        )
        return _case_from_row(row, score_rows, self._tally)

    async def get_cases(self, case_ids: Sequence[str]) -> list[Case]:
        """Several cases in full (with every score), in the given order; 500 per query."""
        found: dict[str, Case] = {}
        for start in range(0, len(case_ids), 500):
            chunk = json.dumps(list(case_ids[start : start + 500]))
            rows = await self._fetch(
                """SELECT id, run_id, idx, input, output, expected, latency_ms, tokens_in,
                          tokens_out, error FROM cases
                   WHERE id IN (SELECT value FROM json_each(?))""",
                (chunk,),
            )
            scores: dict[str, list[Sequence[Any]]] = {}
            for case_id, *score in await self._fetch(
                "SELECT case_id, scorer_name, score, reason FROM scores"
                " WHERE case_id IN (SELECT value FROM json_each(?)) ORDER BY scorer_name, rowid",
                (chunk,),
            ):
                scores.setdefault(case_id, []).append(score)
            for row in rows:
                case = _case_from_row(row, scores.get(row[0], []), self._tally)
                found[case.id] = case
        return [found[case_id] for case_id in case_ids if case_id in found]

    async def search_case_ids(self, run_id: str, needle: str) -> set[str]:
        """Ids of the run's cases whose input, output or expected contains `needle`
        (case-insensitive for ASCII letters, as SQLite's LIKE)."""
        escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        rows = await self._fetch(
            """SELECT id FROM cases WHERE run_id = ? AND (
                   input LIKE ? ESCAPE '\\' OR output LIKE ? ESCAPE '\\'
                   OR expected LIKE ? ESCAPE '\\')""",
            (run_id, pattern, pattern, pattern),
            background=True,
        )
        values = Values(self._tally, run_id)
        return {values.text(row[0], ("case", row[0], "id")) for row in rows}

    async def case_history(
        self, run: Run, input_raw: str, limit: int = 10, *, include_derived: bool = False
    ) -> list[HistoryPoint]:
        """The same dataset item (equal `input`) in the last `limit` runs of suites with this
        run's suite name, oldest first, up to and including `run`. Re-judges and re-runs
        (`Run.derived`) other than `run` itself are skipped unless `include_derived`."""
        runs: list[tuple[str, str, int]] = []
        offset = 0
        page = max(limit, 1) * 2
        while len(runs) < limit:
            rows = await self._fetch(
                """SELECT r.id, r.model, r.started_at, r.config FROM runs r
                   JOIN suites s ON s.id = r.suite_id
                   WHERE s.name = ? AND r.started_at <= ?
                   ORDER BY r.started_at DESC, r.rowid DESC LIMIT ? OFFSET ?""",
                (run.suite_name, run.started_at, page, offset),
            )
            for run_id, model, started_at, config in rows:
                values = Values(self._tally, run_id)
                where = ("run", run_id)
                config_text = values.optional_text(config, (*where, "config"))
                if (
                    include_derived
                    or run_id == run.id
                    or parse_derived(JsonText.parse(config_text)) is None
                ):
                    runs.append(
                        (
                            run_id,
                            values.text(model, (*where, "model")),
                            values.integer(started_at, (*where, "started_at")),
                        )
                    )
                    if len(runs) == limit:
                        break
            if len(rows) < page:
                break
            offset += page
        run_ids = [row[0] for row in runs]
        found = await self._fetch(
            """SELECT c.run_id, MIN(s.score), MAX(c.error IS NOT NULL) FROM cases c
               LEFT JOIN scores s ON s.case_id = c.id
               WHERE c.run_id IN (SELECT value FROM json_each(?)) AND c.input = ?
               GROUP BY c.id""",
            (json.dumps(run_ids), input_raw),
            background=True,
        )
        by_run = {
            row[0]: (
                Values(self._tally, row[0]).optional_number(row[1], ("history", row[0], "min")),
                bool(row[2]),
            )
            for row in found
        }
        return [
            HistoryPoint(
                run_id=run_id,
                model=model,
                started_at=started_at,
                present=run_id in by_run,
                min_score=by_run.get(run_id, (None, False))[0],
                has_error=by_run.get(run_id, (None, False))[1],
            )
            for run_id, model, started_at in reversed(runs)
        ]

    # -- prompts ---------------------------------------------------------------------------

    async def list_prompts(self) -> list[Prompt]:
        """As `listPrompts`; a legacy table without `version` reads as version 1."""
        if not self._has_prompts:
            return []
        version = "version" if self._prompts_have_version else "1"
        rows = await self._fetch(
            f"SELECT id, name, {version}, content, created_at FROM prompts"
            " ORDER BY name COLLATE NOCASE ASC, 3 DESC"
        )
        values = Values(self._tally, None)
        prompts = []
        for row in rows:
            prompt_id = values.text(row[0], ("prompt", row[0], "id"))
            where = ("prompt", prompt_id)
            prompts.append(
                Prompt(
                    id=prompt_id,
                    name=values.text(row[1], (*where, "name")),
                    version=values.integer(row[2], (*where, "version")),
                    content=values.text(row[3], (*where, "content")),
                    created_at=values.integer(row[4], (*where, "created_at")),
                )
            )
        return prompts
