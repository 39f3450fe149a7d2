"""Writing DeepEval test runs (from a JSON file or DeepEval's SQLite local store).

A test run has no id of its own, so it is keyed by the sha256 of its canonical JSON: the
same run reached through `.latest_run_full.json`, `.latest_test_run.json` and
`deepeval.db` is imported once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaltui.store.errors import StoreError
from evaltui.store.foreign import NotDeepEvalStore, UnreadableSQLite, deepeval_test_runs
from evaltui.store.writer import WriteBatch
from evaltui.traces import deepeval
from evaltui.traces.otlp import FieldError

RUN_FORMAT = "deepeval-run"


class ImportFailure(StoreError):
    """A file that cannot be imported; the message names the file, line and field."""


@dataclass(slots=True)
class DeepEvalDocument:
    doc: dict[str, Any]
    where: str  # "line 3", "test_runs row 2": where the run is, for error messages


def run_key(doc: dict[str, Any]) -> str:
    """The identity of a test run: the sha256 of its canonical JSON."""
    canonical = json.dumps(deepeval.unwrap(doc), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class WrittenRun:
    run_id: str | None  # None: this run was imported before, nothing was written
    unstorable: int = 0  # integers beyond SQLite's range (clamped, or kept in attributes)


def write_run(
    batch: WriteBatch, document: DeepEvalDocument, path: Path, mtime_ms: int
) -> WrittenRun:
    """Suite, run, cases, scores and traces of one test run."""
    key = run_key(document.doc)
    if batch.has_import(key):
        return WrittenRun(None)
    try:
        run = deepeval.parse_test_run(document.doc, file_name=path.name, mtime_ms=mtime_ms)
    except FieldError as error:
        raise ImportFailure(f"{document.where}: {error}") from None
    suite_id = batch.add_suite(run.suite_name, run.started_at)
    run_id = batch.add_run(
        suite_id=suite_id,
        name=run.run_name,
        model=run.model,
        config=run.config,
        started_at=run.started_at,
        finished_at=run.finished_at,
        status="completed",
        summary=run.summary,
    )
    for case in run.cases:
        batch.add_case(
            case_id=case.case_id,
            run_id=run_id,
            idx=case.idx,
            input=case.input,
            output=case.output,
            expected=case.expected,
            latency_ms=case.latency_ms,
            tokens_in=case.tokens_in,
            tokens_out=case.tokens_out,
            error=case.error,
        )
        batch.add_scores(case.case_id, case.scores)
        if case.trace is not None:
            batch.add_trace(case.trace)
            for span in case.spans:
                batch.add_span(span, deepeval.SOURCE)
    batch.record_import(key, f"{path} ({document.where})", RUN_FORMAT, run_id)
    return WrittenRun(run_id, run.unstorable)


def sqlite_documents(path: Path) -> Iterator[DeepEvalDocument]:
    """The test runs of a DeepEval local store (`deepeval.db`), oldest first, read-only."""
    try:
        for row_id, payload in deepeval_test_runs(path):
            where = f"test_runs row {row_id}"
            try:
                doc = json.loads(payload or "")
            except (TypeError, ValueError) as error:
                raise ImportFailure(f"{where}: payload_json is not JSON ({error})") from None
            if not isinstance(doc, dict) or not deepeval.is_test_run(doc):
                raise ImportFailure(f"{where}: payload_json is not a DeepEval test run")
            yield DeepEvalDocument(doc, where)
    except NotDeepEvalStore:
        raise ImportFailure(
            "a SQLite file but not a DeepEval local store (no test_runs table); "
            "a RunStore is opened with `evaltui PATH`, not imported"
        ) from None
    except UnreadableSQLite as error:
        raise ImportFailure(f"cannot read it as SQLite ({error})") from None
