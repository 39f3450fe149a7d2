"""What a run diff reads: each run once, streamed, plus `SUITE@latest` references.

Each run is read with two streamed queries on the background connection (cases, then their
scores), never a join of the two runs on idx (quadratic with the package's single-column
indexes). Inputs are hashed chunk by chunk and only a 16-byte digest per case is kept.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence

from evaltui.diff import ColumnsBuilder, DiffOptions, RunColumns, RunDiff, compare
from evaltui.models import Run, RunStatus
from evaltui.store.errors import StoreError
from evaltui.store.reader import RunStore

CHUNK_ROWS = 1000  # cases per chunk: bounds the input text held at once

CASES_SQL = """SELECT rowid, idx, id, latency_ms, tokens_in, tokens_out, error IS NOT NULL, input
FROM cases WHERE run_id = ?"""
SCORES_SQL = """SELECT c.rowid, s.scorer_name, s.score
FROM cases c JOIN scores s ON s.case_id = c.id WHERE c.run_id = ?"""
# The package's getLatestCompletedRun, verbatim (status bound to 'completed').
LATEST_SQL = (
    "SELECT id FROM runs WHERE suite_id = ? AND status = ? ORDER BY started_at DESC LIMIT 1"
)
LATEST_MODEL_SQL = (
    "SELECT id FROM runs WHERE suite_id = ? AND status = ? AND model = ?"
    " ORDER BY started_at DESC LIMIT 1"
)
LATEST_REF = re.compile(r"^(?P<suite>.+)@latest(?::(?P<model>.+))?$", re.DOTALL)


async def load_run_columns(store: RunStore, run_id: str) -> RunColumns:
    """Every case of a run as columns: idx, id, scores, latency/tokens, error flag and an
    input digest. getRunSummary's sums come from the same pass."""
    builder = ColumnsBuilder(run_id)
    async for rows in store._chunks(CASES_SQL, (run_id,), size=CHUNK_ROWS):
        await asyncio.to_thread(builder.add_cases, rows)
    async for rows in store._chunks(SCORES_SQL, (run_id,), size=CHUNK_ROWS * 5):
        builder.add_scores(rows)
    return await asyncio.to_thread(builder.build)


async def latest_completed_run(store: RunStore, suite_id: str, model: str | None = None) -> Run:
    """The package's `getLatestCompletedRun(suiteId, model?)`."""
    if model is None:
        rows = await store._fetch(LATEST_SQL, (suite_id, RunStatus.COMPLETED.value))
    else:
        rows = await store._fetch(LATEST_MODEL_SQL, (suite_id, RunStatus.COMPLETED.value, model))
    if not rows:
        suffix = f" of model {model!r}" if model is not None else ""
        raise StoreError(f"suite {suite_id[:8]} has no completed run{suffix}")
    return await store.get_run(rows[0][0])


async def resolve_ref(store: RunStore, ref: str) -> Run:
    """A run id, a unique id prefix, `SUITE@latest` or `SUITE@latest:MODEL`.

    `SUITE@latest` is the latest completed run of the newest suite of that name, as the
    package's `findSuiteByName` + `getLatestCompletedRun` pick it.
    """
    match = LATEST_REF.match(ref)
    if match is None:
        return await store.resolve_run(ref)
    name, model = match["suite"], match["model"]
    suite = await store.suite_by_name(name)
    if suite is None:
        raise StoreError(f"no suite named {name!r} in {store.path}; list them with `evaltui runs`")
    try:
        return await latest_completed_run(store, suite.id, model)
    except StoreError:
        suffix = f" of model {model!r}" if model is not None else ""
        raise StoreError(
            f"the newest suite named {name!r} ({suite.id[:8]}) has no completed run{suffix}"
        ) from None


async def diff_runs(
    store: RunStore, baseline: Run, candidate: Run, options: DiffOptions | None = None
) -> RunDiff:
    """Load both runs (one after the other) and compare them off the event loop."""
    base = await load_run_columns(store, baseline.id)
    cand = await load_run_columns(store, candidate.id)
    return await asyncio.to_thread(compare, baseline, candidate, base, cand, options)


async def input_previews(store: RunStore, case_ids: Sequence[str]) -> dict[str, str]:
    """Short input previews of a few cases (the `input` field of a dataset item, else JSON)."""
    rows = await store.case_rows(list(dict.fromkeys(case_ids)))
    return {row.id: row.input_preview for row in rows}
