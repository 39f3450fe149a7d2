"""What the comparison of a derived run (a re-judge or re-run) with its source reads.

Only the derived run's cases and the source cases the job was given are read (small columns,
previews and scores), never the rest of the source run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from evaltui.core.models import CaseRow, Run
from evaltui.diff.derived import DerivedComparison, compare_derived
from evaltui.store.errors import StoreError
from evaltui.store.reader import RunStore

CHUNK = 500
ALL_CASES = 1 << 62


async def _rows(store: RunStore, case_ids: Sequence[str]) -> list[CaseRow]:
    rows: list[CaseRow] = []
    for start in range(0, len(case_ids), CHUNK):
        rows += await store.case_rows(case_ids[start : start + CHUNK])
    return rows


async def load_derived_comparison(
    store: RunStore, derived: Run, source: Run | None = None
) -> DerivedComparison:
    """The derived run beside its source, on the derived run's cases only."""
    info = derived.derived
    if info is None:
        raise StoreError(f"run {derived.id[:8]} is not a re-judge or re-run")
    if source is None:
        if info.source_run_id is None:
            raise StoreError(
                f"run {derived.id[:8]} does not say which run it was made from; "
                "diff it with a baseline of your choice (b, then d)"
            )
        try:
            source = await store.get_run(info.source_run_id)
        except StoreError:
            raise StoreError(
                f"the source run {info.source_run_id[:8]} of {derived.id[:8]} is not in "
                f"{store.path}; diff it with a baseline of your choice (b, then d)"
            ) from None
    derived_ids = await store.first_case_ids(derived.id, ALL_CASES)
    source_ids = list(info.case_ids) or await store.first_case_ids(source.id, ALL_CASES)
    derived_rows = await _rows(store, derived_ids)
    source_rows = await _rows(store, source_ids)
    return await asyncio.to_thread(
        compare_derived, source, derived, info, source_rows, derived_rows
    )
