"""Match the cases of two runs: by `idx` (compareRuns), by input, or auto.

Positions index `RunColumns` arrays (cases in (idx, rowid) order). Pairs come sorted by the
baseline position, so by baseline idx: compareRuns' `commonIndices` order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evaltui.diff.columns import IntArray, RunColumns
from evaltui.diff.models import PairBy, Pairing


@dataclass(frozen=True, eq=False)
class Pairs:
    base: IntArray  # baseline positions of paired cases
    cand: IntArray  # candidate positions, aligned with `base`
    removed: IntArray  # baseline positions left unpaired
    added: IntArray  # candidate positions left unpaired


def _unpaired(size: int, paired: IntArray) -> IntArray:
    mask = np.ones(size, dtype=bool)
    mask[paired] = False
    return np.flatnonzero(mask).astype(np.int64)


def _make(base: RunColumns, cand: RunColumns, bpos: IntArray, cpos: IntArray) -> Pairs:
    order = np.argsort(bpos, kind="stable")
    bpos, cpos = bpos[order], cpos[order]
    return Pairs(bpos, cpos, _unpaired(len(base), bpos), _unpaired(len(cand), cpos))


def _last_of_each_idx(columns: RunColumns) -> IntArray:
    """Positions of the last case of each idx value: compareRuns' `Map.set` keeps the last."""
    idx = columns.idx
    if len(idx) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(np.append(idx[1:] != idx[:-1], True)).astype(np.int64)


def pair_by_idx(base: RunColumns, cand: RunColumns) -> Pairs:
    """compareRuns' pairing: the idx values present in both runs."""
    bkeep, ckeep = _last_of_each_idx(base), _last_of_each_idx(cand)
    _, bsel, csel = np.intersect1d(
        base.idx[bkeep], cand.idx[ckeep], assume_unique=True, return_indices=True
    )
    return _make(base, cand, bkeep[bsel], ckeep[csel])


def _occurrences(columns: RunColumns) -> IntArray:
    """For each case, how many earlier cases (in idx order) have the same input."""
    size = len(columns)
    digests = columns.digests
    order = np.lexsort((np.arange(size), digests[:, 1], digests[:, 0]))
    ordered = digests[order]
    starts = np.ones(size, dtype=bool)
    if size:
        starts[1:] = np.any(ordered[1:] != ordered[:-1], axis=1)
    group_start = np.maximum.accumulate(np.where(starts, np.arange(size), 0))
    occurrence = np.empty(size, dtype=np.int64)
    occurrence[order] = np.arange(size) - group_start
    return occurrence


def pair_by_input(base: RunColumns, cand: RunColumns) -> Pairs:
    """Pair cases whose stored input is the same; the k-th duplicate pairs with the k-th."""
    nb, nc = len(base), len(cand)
    digests = np.concatenate([base.digests, cand.digests]).reshape(nb + nc, 2)
    occurrence = np.concatenate([_occurrences(base), _occurrences(cand)])
    side = np.concatenate([np.zeros(nb, dtype=np.int64), np.ones(nc, dtype=np.int64)])
    position = np.concatenate([np.arange(nb), np.arange(nc)]).astype(np.int64)
    order = np.lexsort((side, occurrence, digests[:, 1], digests[:, 0]))
    key_digests, key_occ, key_side = digests[order], occurrence[order], side[order]
    # Keys are unique within a run, so a key shared by both runs is two adjacent rows.
    same = np.all(key_digests[1:] == key_digests[:-1], axis=1) & (key_occ[1:] == key_occ[:-1])
    hit = np.flatnonzero(same & (key_side[:-1] == 0) & (key_side[1:] == 1))
    return _make(base, cand, position[order][hit], position[order][hit + 1])


def input_mismatches(base: RunColumns, cand: RunColumns, pairs: Pairs) -> int:
    """How many pairs have different inputs."""
    differ = np.any(base.digests[pairs.base] != cand.digests[pairs.cand], axis=1)
    return int(np.count_nonzero(differ))


def choose_pairing(base: RunColumns, cand: RunColumns, pair_by: PairBy) -> tuple[Pairs, Pairing]:
    """Pair as asked. `auto` is idx unless the inputs at some common idx differ, then input;
    but when no input at all is shared (e.g. items that carry a volatile field) it keeps idx
    and says so, rather than compare nothing."""
    by_idx = pair_by_idx(base, cand)
    mismatched = input_mismatches(base, cand, by_idx)
    of = f"{mismatched} of {len(by_idx.base)} common idx values"
    by_input = pair_by_input(base, cand) if pair_by != PairBy.IDX and mismatched else None
    if pair_by == PairBy.INPUT:
        pairs, used = by_input or pair_by_input(base, cand), PairBy.INPUT
        reason = "paired by input, as asked"
    elif by_input is not None and len(by_input.base):
        pairs, used = by_input, PairBy.INPUT
        reason = (
            f"paired by input: the inputs differ at {of} (a .failed() retry or "
            ".cases()/.sample() run renumbers idx from 0), so idx pairing would match "
            "unrelated cases"
        )
    else:
        pairs, used = by_idx, PairBy.IDX
        if not mismatched:
            reason = "paired by idx (the inputs at every common idx are the same)"
        elif pair_by == PairBy.IDX:
            reason = f"paired by idx, as compareRuns; warning: the inputs differ at {of}"
        else:
            reason = (
                f"paired by idx although the inputs differ at {of}: no input is shared "
                "by both runs, so pairing by input would compare nothing"
            )
    pairing = Pairing(
        requested=pair_by,
        used=used,
        mismatched_inputs=mismatched,
        compared=len(pairs.base),
        added=len(pairs.added),
        removed=len(pairs.removed),
        reason=reason,
    )
    return pairs, pairing
