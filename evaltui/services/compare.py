"""What a run diff reads: each run once, streamed, plus `SUITE@latest` references.

Each run is read with two streamed queries (cases, then their scores; `evaltui.store.runload`),
never a join of the two runs on idx (quadratic with the package's single-column indexes).
Inputs are hashed as they arrive and only a 16-byte digest per case is kept. When both runs are
big, they are read at once by two worker processes (two threads would not overlap: see
`runload`), which leaves this process (and its event loop) free meanwhile; small runs are read
here, in a thread, one after the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import pickle
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from evaltui.core.models import JsonText, Run, parse_derived
from evaltui.diff import (
    ColumnsBuilder,
    DiffOptions,
    PairBy,
    RunColumns,
    RunDiff,
    accumulate,
    compare,
)
from evaltui.store import runload
from evaltui.store.errors import StoreError
from evaltui.store.reader import RunStore

# Below this many cases in the smaller run, both runs are read here, one after the other: a
# worker process costs tens of ms to start and to ship its columns back.
WORKER_MIN_CASES = 10_000
# The worker loads the accumulator by path (see `evaltui.store.runload`).
ACCUMULATE = Path(accumulate.__file__).resolve()

LATEST_REF = re.compile(r"^(?P<suite>.+)@latest(?::(?P<model>.+))?$", re.DOTALL)


async def load_run_columns(store: RunStore, run_id: str, full: bool = True) -> RunColumns:
    """Every case of a run as columns: idx, id, scores, latency/tokens, error flag and an
    input digest. getRunSummary's sums come from the same pass. Read in a thread.
    `full=False`: only idx, id and scores (`RunColumns.complete` is False)."""
    return await runload.read_in_thread(
        store.path,
        store.uri,
        store.timeout,
        run_id,
        ColumnsBuilder(run_id),
        full,
        then=ColumnsBuilder.build,
    )


async def _load_in_worker(store: RunStore, run_id: str, full: bool = True) -> RunColumns | None:
    """The run's columns read by a worker process (`runload.main`); None if the worker could
    not be started or failed (the caller then reads the run here, and reports any error)."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *runload.worker_command(ACCUMULATE, store.uri, run_id, store.timeout, full),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except (OSError, RuntimeError):
        return None
    try:
        output, _ = await proc.communicate()
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await asyncio.shield(proc.wait())
        raise
    if proc.returncode != 0:
        return None

    def build() -> RunColumns:
        builder = ColumnsBuilder(run_id)
        builder.load_state(pickle.loads(output))
        return builder.build()

    try:
        return await asyncio.to_thread(build)
    except Exception:  # a truncated or foreign output: read the run here instead
        return None


def _can_spawn() -> bool:
    """A worker needs a Python interpreter (not a frozen app's own executable)."""
    return bool(sys.executable) and not getattr(sys, "frozen", False)


async def _smaller_run(store: RunStore, baseline: Run, candidate: Run) -> int:
    """Cases in the smaller of the two runs: from the stored summaries when both have one."""
    if baseline.summary is not None and candidate.summary is not None:
        return min(baseline.summary.total_cases, candidate.summary.total_cases)
    counts = await store.case_counts([baseline.id, candidate.id])
    return min(counts.values())


async def load_pair(
    store: RunStore, baseline: Run, candidate: Run, full: bool = True
) -> tuple[RunColumns, RunColumns]:
    """The columns of both runs: read at once by two worker processes when both runs are
    big, else here; a run whose worker fails is read here after all (which reports the
    store's error, if that was the cause). `full=False`: the quick read of
    `load_run_columns`."""
    if baseline.id == candidate.id:
        columns = await load_run_columns(store, baseline.id, full)
        return columns, columns
    if not _can_spawn() or await _smaller_run(store, baseline, candidate) < WORKER_MIN_CASES:
        return (
            await load_run_columns(store, baseline.id, full),
            await load_run_columns(store, candidate.id, full),
        )
    workers = [
        asyncio.create_task(_load_in_worker(store, run_id, full))
        for run_id in (baseline.id, candidate.id)
    ]
    try:
        base, cand = await asyncio.gather(*workers)
    except BaseException:
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        raise
    if base is None:
        base = await load_run_columns(store, baseline.id, full)
    if cand is None:
        cand = await load_run_columns(store, candidate.id, full)
    return base, cand


LATEST_PAGE = 50


class OnlyDerivedRuns(StoreError):
    """Every completed run that `SUITE@latest` could pick is a re-judge or re-run."""


def _derived_config(raw: str | None) -> bool:
    return parse_derived(JsonText.parse(raw)) is not None


async def latest_completed_run(
    store: RunStore, suite_id: str, model: str | None = None, *, include_derived: bool = False
) -> Run:
    """The package's `getLatestCompletedRun(suiteId, model?)`; unless `include_derived`, the
    latest completed run that is not a re-judge or re-run written by evaltui."""
    latest = await store.latest_completed_run_id(suite_id, model)
    suffix = f" of model {model!r}" if model is not None else ""
    if latest is None:
        raise StoreError(f"suite {suite_id[:8]} has no completed run{suffix}")
    run = await store.get_run(latest)
    if include_derived or run.derived is None:
        return run
    # The newest is derived: page back (newest first) to the newest run that is not.
    offset = 0
    while True:
        page = await store.completed_runs_page(suite_id, model, LATEST_PAGE, offset)
        for run_id, config in page:
            if not _derived_config(config):
                return await store.get_run(run_id)
        if len(page) < LATEST_PAGE:
            break
        offset += LATEST_PAGE
    raise OnlyDerivedRuns(
        f"suite {suite_id[:8]} has only re-judged or re-run completed runs{suffix}"
        " (derived runs are skipped: pass --include-derived to pick one)"
    )


async def resolve_ref(store: RunStore, ref: str, *, include_derived: bool = False) -> Run:
    """A run id, a unique id prefix, `SUITE@latest` or `SUITE@latest:MODEL`.

    `SUITE@latest` is the latest completed run of the newest suite of that name, as the
    package's `findSuiteByName` + `getLatestCompletedRun` pick it, skipping the re-judges and
    re-runs that evaltui wrote unless `include_derived`.
    """
    match = LATEST_REF.match(ref)
    if match is None:
        return await store.resolve_run(ref)
    name, model = match["suite"], match["model"]
    suite = await store.suite_by_name(name)
    if suite is None:
        raise StoreError(f"no suite named {name!r} in {store.path}; list them with `evaltui runs`")
    try:
        return await latest_completed_run(store, suite.id, model, include_derived=include_derived)
    except StoreError as error:
        suffix = f" of model {model!r}" if model is not None else ""
        only_derived = isinstance(error, OnlyDerivedRuns)
        raise StoreError(
            f"the newest suite named {name!r} ({suite.id[:8]}) has no completed run{suffix}"
            + (
                " that is not a re-judge or re-run (pass --include-derived to pick one)"
                if only_derived
                else ""
            )
        ) from None


async def diff_runs(
    store: RunStore, baseline: Run, candidate: Run, options: DiffOptions | None = None
) -> RunDiff:
    """Load both runs (at once, see `load_pair`) and compare them off the event loop."""
    base, cand = await load_pair(store, baseline, candidate)
    return await asyncio.to_thread(compare, baseline, candidate, base, cand, options)


QUICK_OPTIONS = DiffOptions(pair_by=PairBy.IDX, resamples=0)


async def quick_diff_runs(store: RunStore, baseline: Run, candidate: Run) -> RunDiff:
    """A first look at a diff, for the screen: only idx, ids and scores are read (nothing
    from a case row's overflow pages), paired by idx, without confidence intervals. Its
    pairing reason, cost, errored flags and verdict are provisional (columns not
    `complete`): `diff_runs` gives the real ones."""
    base, cand = await load_pair(store, baseline, candidate, full=False)
    return await asyncio.to_thread(compare, baseline, candidate, base, cand, QUICK_OPTIONS)


async def input_previews(store: RunStore, case_ids: Sequence[str]) -> dict[str, str]:
    """Short input previews of a few cases (the `input` field of a dataset item, else JSON)."""
    rows = await store.case_rows(list(dict.fromkeys(case_ids)))
    return {row.id: row.input_preview for row in rows}
