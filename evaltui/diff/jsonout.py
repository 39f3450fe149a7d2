"""The `--json` object: compareRuns' keys with its exact values, then evaltui's own keys.

compareRuns' keys (`caseDiffs`, `scorerSummaries`, `costDelta`, `totalCasesCompared`,
`regression`) keep its shapes and key order. With input pairing, `caseDiffs[].index` is the
baseline idx and each entry also has `candidateIndex`. Big lists are streamed in chunks
(`iter_json`), so a 100,000-case diff never exists as one Python structure. A non-finite
number is null, as JSON.stringify writes it, and named in a `nonFinite` key (its case diff's,
or a last top-level one).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

from evaltui.core.jsonutil import NON_FINITE_KEY, escape_controls, null_non_finite
from evaltui.diff.columns import FloatArray
from evaltui.diff.models import FlipCounts, PairBy
from evaltui.diff.rundiff import ERRORED_BASELINE, ERRORED_CANDIDATE, RunDiff

CHUNK = 1000
ObjectArray = npt.NDArray[np.object_]
VERDICT_RULE = (
    "regression: CI upper bound < 0 and meanDelta < -regressionThreshold, or McNemar p < alpha "
    "with more pass->fail than fail->pass; possible_regression: compareRuns' rule "
    "(meanDelta < -regressionThreshold) without either; improvement: the mirror of regression"
)

NOT_COMPARED_REASON = (
    "in one run only: compareRuns counts its missing scores as 0 (its numbers above are "
    "kept), evaltui leaves it out of the verdict"
)

CHANGE_NAMES = {1: "improved", -1: "regressed", 0: "unchanged"}


def _chunk_columns(diff: RunDiff, start: int, stop: int) -> tuple[list[Any], ...]:
    rows = slice(start, stop)
    return (
        diff.baseline.idx[diff.base_pos[rows]].tolist(),
        diff.candidate.idx[diff.cand_pos[rows]].tolist(),
        np.nan_to_num(diff.base_scores[:, rows], nan=0.0, posinf=np.inf, neginf=-np.inf).tolist(),
        np.nan_to_num(diff.cand_scores[:, rows], nan=0.0, posinf=np.inf, neginf=-np.inf).tolist(),
        diff.deltas[:, rows].tolist(),
        diff.changes[:, rows].tolist(),
    )


def iter_case_diffs(diff: RunDiff) -> Iterator[list[dict[str, Any]]]:
    """compareRuns' `caseDiffs`, in chunks: `{index, scorerDeltas: {name: {baseline,
    candidate, delta, change}}}` over the paired cases, by baseline idx."""
    for start in range(0, diff.paired, CHUNK):
        yield _case_dicts(diff, start, min(start + CHUNK, diff.paired))


def _case_dicts(diff: RunDiff, start: int, stop: int) -> list[dict[str, Any]]:
    names = diff.scorer_names
    by_input = diff.summary.pairing.used == PairBy.INPUT
    base_idx, cand_idx, base, cand, deltas, changes = _chunk_columns(diff, start, stop)
    chunk = []
    for i in range(stop - start):
        entry: dict[str, Any] = {"index": base_idx[i]}
        if by_input:
            entry["candidateIndex"] = cand_idx[i]
        entry["scorerDeltas"] = {
            name: {
                "baseline": base[j][i],
                "candidate": cand[j][i],
                "delta": deltas[j][i],
                "change": CHANGE_NAMES[changes[j][i]],
            }
            for j, name in enumerate(names)
        }
        chunk.append(null_non_finite(entry))  # null, as JSON.stringify, and a note
    return chunk


def _case_diff_template(diff: RunDiff) -> str:
    """One `caseDiffs` entry as a %-format: `%d` for the idx values, `%s` for the rest."""
    lead = '{"index":%d,' + (
        '"candidateIndex":%d,' if diff.summary.pairing.used == PairBy.INPUT else ""
    )
    body = ",".join(
        escape_controls(json.dumps(name, ensure_ascii=False)).replace("%", "%%")
        + ':{"baseline":%s,"candidate":%s,"delta":%s,"change":"%s"}'
        for name in diff.scorer_names
    )
    return f'{lead}"scorerDeltas":{{{body}}}}}'


def _float_texts(values: FloatArray) -> ObjectArray:
    """`repr` of each value (what `json` writes for a float), as an object array. Scores
    repeat a lot (0, 1, a few judge levels), so each distinct bit pattern is formatted once
    when they are less than a quarter of the values."""
    bits = np.ascontiguousarray(values).view(np.uint64)
    distinct, inverse = np.unique(bits, return_inverse=True)
    if len(distinct) * 4 > len(values):
        return np.array(list(map(repr, values.tolist())), dtype=object)
    texts = np.array(list(map(repr, distinct.view(np.float64).tolist())), dtype=object)
    return texts[inverse.reshape(-1)]


def _case_diff_texts(diff: RunDiff) -> Iterator[list[str]]:
    """`iter_case_diffs` as compact JSON texts, formatted directly (several times faster):
    each float formatted once (`_float_texts`), then one %-format per entry. A chunk with a
    non-finite number (a score can be infinite while its delta, clamped by the engine, is
    not) goes through `json` instead, which writes null for it."""
    template = _case_diff_template(diff)
    paired = diff.paired
    by_input = diff.summary.pairing.used == PairBy.INPUT
    change_names = np.array([CHANGE_NAMES[-1], CHANGE_NAMES[0], CHANGE_NAMES[1]], dtype=object)
    filled = [
        np.nan_to_num(scores[:, :paired], nan=0.0, posinf=np.inf, neginf=-np.inf)
        for scores in (diff.base_scores, diff.cand_scores)
    ]
    finite = np.ones(paired, dtype=bool)  # rows whose numbers are all finite
    for values in (*filled, diff.deltas[:, :paired]):
        finite &= np.isfinite(values).all(axis=0)
    texts = [
        [
            _float_texts(filled[0][j]),
            _float_texts(filled[1][j]),
            _float_texts(diff.deltas[j, :paired]),
            change_names[diff.changes[j, :paired] + 1],
        ]
        for j in range(len(diff.scorer_names))
    ]
    base_idx = diff.baseline.idx[diff.base_pos[:paired]]
    cand_idx = diff.candidate.idx[diff.cand_pos[:paired]]
    for start in range(0, paired, CHUNK):
        stop = min(start + CHUNK, paired)
        if not finite[start:stop].all():
            yield [_dumps(item, indent=False) for item in _case_dicts(diff, start, stop)]
            continue
        columns: list[list[Any]] = [base_idx[start:stop].tolist()]
        if by_input:
            columns.append(cand_idx[start:stop].tolist())
        for scorer in texts:
            columns += [column[start:stop].tolist() for column in scorer]
        yield [template % values for values in zip(*columns, strict=True)]


def _unpaired(diff: RunDiff, removed: bool) -> Iterator[list[dict[str, Any]]]:
    start = diff.paired if removed else diff.paired + diff.summary.pairing.removed
    stop = start + (diff.summary.pairing.removed if removed else diff.summary.pairing.added)
    columns = diff.baseline if removed else diff.candidate
    positions = diff.base_pos if removed else diff.cand_pos
    for first in range(start, stop, CHUNK):
        chunk = positions[first : min(first + CHUNK, stop)].tolist()
        yield [{"index": int(columns.idx[p]), "caseId": columns.case_ids[p]} for p in chunk]


def _flips(counts: FlipCounts) -> dict[str, Any]:
    return {
        "passToFail": counts.pass_to_fail,
        "failToPass": counts.fail_to_pass,
        "pValue": counts.p_value,
    }


def _errored(diff: RunDiff) -> dict[str, list[int]]:
    rows = np.arange(diff.paired)
    flags = diff.flags[: diff.paired]
    base = rows[(flags & ERRORED_BASELINE) != 0]
    cand = rows[(flags & ERRORED_CANDIDATE) != 0]
    return {
        "baselineOnly": diff.baseline.idx[diff.base_pos[base]].tolist(),
        "candidateOnly": diff.candidate.idx[diff.cand_pos[cand]].tolist(),
    }


def sections(diff: RunDiff) -> list[tuple[str, Any]]:
    """Top-level keys in order; a value that is an iterator yields chunks of a list."""
    s = diff.summary
    cost = s.cost
    run_info = [
        {
            "id": run.id,
            "name": run.name,
            "suite": run.suite_name,
            "suiteId": run.suite_id,
            "model": run.model,
            "status": run.status,
            "threshold": run.threshold,
            "cases": columns.totals.cases,
        }
        for run, columns in ((s.baseline, diff.baseline), (s.candidate, diff.candidate))
    ]
    return [
        ("caseDiffs", iter_case_diffs(diff)),
        (
            "scorerSummaries",
            {
                m.name: {
                    "meanDelta": m.mean_delta,
                    "improvedCount": m.improved,
                    "regressedCount": m.regressed,
                    "unchangedCount": m.unchanged,
                }
                for m in s.scorers
            },
        ),
        (
            "costDelta",
            {
                "latencyDeltaMs": cost.latency_delta_ms,
                "tokenInDelta": cost.token_in_delta,
                "tokenOutDelta": cost.token_out_delta,
            },
        ),
        ("totalCasesCompared", s.pairing.compared),
        (
            "regression",
            {
                "regressed": s.regressed,
                "details": {
                    m.name: {"meanDelta": m.mean_delta, "exceeds": m.exceeds} for m in s.scorers
                },
            },
        ),
        ("baseline", run_info[0]),
        ("candidate", run_info[1]),
        (
            "options",
            {
                "tolerance": s.options.tolerance,
                "regressionThreshold": s.options.regression_threshold,
                "threshold": s.threshold,
                "pairBy": s.options.pair_by.value,
                "resamples": s.options.resamples,
                "confidence": s.options.confidence,
                "seed": s.options.seed,
                "alpha": s.options.alpha,
            },
        ),
        (
            "pairing",
            {
                "requested": s.pairing.requested.value,
                "used": s.pairing.used.value,
                "mismatchedInputs": s.pairing.mismatched_inputs,
                "compared": s.pairing.compared,
                "added": s.pairing.added,
                "removed": s.removed,
                "notInDerived": s.outside_derived,
                "reason": s.pairing.reason,
            },
        ),
        (
            "verdict",
            {
                "overall": s.verdict.value,
                "reason": s.verdict_reason,
                "scorers": {
                    m.name: m.verdict.value if s.is_compared(m.name) else "not_compared"
                    for m in s.scorers
                },
                "rule": VERDICT_RULE,
                "regressedCompared": s.regressed_compared,
            },
        ),
        (
            "notCompared",
            [
                {"scorer": n.scorer, "onlyIn": n.only_in, "reason": NOT_COMPARED_REASON}
                for n in s.not_compared
            ],
        ),
        (
            "confidenceIntervals",
            {
                m.name: {
                    "low": m.ci.low,
                    "high": m.ci.high,
                    "level": m.ci.level,
                    "resamples": m.ci.resamples,
                    "seed": m.ci.seed,
                }
                for m in s.scorers
            },
        ),
        (
            "flips",
            {
                "threshold": s.threshold,
                "cases": _flips(s.case_flips),
                "scorers": {m.name: _flips(m.flips) for m in s.scorers},
            },
        ),
        (
            "scorerMeans",
            {
                m.name: {
                    "baseline": m.baseline_mean,
                    "candidate": m.candidate_mean,
                    "missingBaseline": m.missing_baseline,
                    "missingCandidate": m.missing_candidate,
                }
                for m in s.scorers
            },
        ),
        (
            "costTotals",
            {
                "baseline": cost.baseline.model_dump(by_alias=True),
                "candidate": cost.candidate.model_dump(by_alias=True),
            },
        ),
        (
            "contextDifferences",
            [{"key": c.key, "baseline": c.baseline, "candidate": c.candidate} for c in s.context],
        ),
        ("errored", _errored(diff)),
        ("added", _unpaired(diff, removed=False)),
        ("removed", iter(()) if s.derived_candidate else _unpaired(diff, removed=True)),
        ("notInDerived", _unpaired(diff, removed=True) if s.derived_candidate else iter(())),
    ]


def _dumps(value: Any, indent: bool) -> str:
    separators = (", ", ": ") if indent else (",", ":")
    text = json.dumps(
        value,
        indent=2 if indent else None,
        ensure_ascii=False,
        allow_nan=False,
        separators=separators,
    )
    return escape_controls(text)


def _list_pieces(chunks: Iterator[list[Any]], indent: bool) -> Iterator[str]:
    """A JSON list from chunks of items (dicts, or already encoded JSON texts)."""
    sep = ",\n    " if indent else ","
    yield "["
    first = True
    for chunk in chunks:
        if not chunk:
            continue
        texts = [item if isinstance(item, str) else _dumps(item, indent=False) for item in chunk]
        yield ("\n    " if first and indent else "" if first else sep) + sep.join(texts)
        first = False
    yield "]" if first or not indent else "\n  ]"


def _nulled(key: str, value: Any, notes: dict[str, str]) -> Any:
    """`value` with its non-finite numbers null (as JSON.stringify writes them), each named
    in `notes` by its JSON Pointer from the top."""
    fixed = null_non_finite({key: value})
    notes.update(fixed.pop(NON_FINITE_KEY, {}))
    return fixed[key]


def iter_json(diff: RunDiff, *, indent: bool = True) -> Iterator[str]:
    """The JSON text in pieces: indented with one list item per line, or compact. A
    non-finite number is null, named in its case diff's `nonFinite` key or, outside
    `caseDiffs`, in a last top-level `nonFinite` key."""
    yield "{"
    notes: dict[str, str] = {}
    for n, (key, value) in enumerate(sections(diff)):
        lead = ("," if n else "") + ("\n  " if indent else "")
        yield lead + json.dumps(key) + (": " if indent else ":")
        if key == "caseDiffs":
            yield from _list_pieces(_case_diff_texts(diff), indent)
        elif isinstance(value, Iterator):
            yield from _list_pieces(value, indent)
        else:
            text = _dumps(_nulled(key, value, notes), indent)
            yield text.replace("\n", "\n  ") if indent else text
    if notes:
        text = _dumps(notes, indent)
        yield ("," + "\n  " if indent else ",") + json.dumps(NON_FINITE_KEY)
        yield (": " + text.replace("\n", "\n  ")) if indent else ":" + text
    yield "\n}\n" if indent else "}\n"


def to_json_dict(diff: RunDiff) -> dict[str, Any]:
    """The whole object as Python values (for small diffs and tests)."""
    notes: dict[str, str] = {}
    out = {
        key: [item for chunk in value for item in chunk]
        if isinstance(value, Iterator)
        else _nulled(key, value, notes)
        for key, value in sections(diff)
    }
    if notes:
        out[NON_FINITE_KEY] = notes
    return out
