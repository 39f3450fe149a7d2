"""`compare()`: the columns of two runs in, a `RunDiff` out. Pure CPU work, no I/O.

compareRuns' numbers (deltas, changes, meanDelta, counts, exceeds, costDelta) are computed
exactly as the package does: missing score = 0, delta = candidate - baseline, unchanged
when |delta| <= tolerance, left-to-right sums in baseline idx order.
"""

from __future__ import annotations

import numpy as np

from evaltui.core.models import Run, is_derived_of
from evaltui.diff.columns import BoolArray, FloatArray, IntArray, RunColumns
from evaltui.diff.context import context_differences
from evaltui.diff.models import (
    ConfidenceInterval,
    CostDelta,
    DiffOptions,
    DiffSummary,
    FlipCounts,
    NotCompared,
    Pairing,
    ScorerSummary,
    Verdict,
)
from evaltui.diff.pairing import Pairs, choose_pairing
from evaltui.diff.rundiff import (
    ADDED,
    ERRORED_BASELINE,
    ERRORED_CANDIDATE,
    FAIL_TO_PASS,
    IMPROVED,
    PASS_TO_FAIL,
    REGRESSED,
    REMOVED,
    SCORER_FLIP,
    FlagArray,
    Int8Array,
    RunDiff,
)
from evaltui.diff.stats import (
    bootstrap_mean_ci,
    mcnemar_p,
    overall_verdict,
    scorer_verdict,
    sequential_mean,
)


def js_key_order(names: list[str]) -> tuple[str, ...]:
    """Key order of a JavaScript object: array-index keys ascending, then insertion order."""

    def is_index(name: str) -> bool:
        return (
            name.isascii() and name.isdigit() and str(int(name)) == name and int(name) < 2**32 - 1
        )

    indexes = sorted((name for name in names if is_index(name)), key=int)
    return (*indexes, *(name for name in names if not is_index(name)))


def _matrix(columns: RunColumns, names: tuple[str, ...], rows: IntArray) -> FloatArray:
    """(scorers, rows) scores at the given positions (-1: no case), NaN where absent."""
    out = np.full((len(names), len(rows)), np.nan)
    present = rows >= 0
    for j, name in enumerate(names):
        column = columns.scores.get(name)
        if column is not None:
            out[j, present] = column[rows[present]]
    return out


def _flip_counts(base_pass: BoolArray, cand_pass: BoolArray) -> FlipCounts:
    down = int(np.count_nonzero(base_pass & ~cand_pass))
    up = int(np.count_nonzero(~base_pass & cand_pass))
    return FlipCounts(pass_to_fail=down, fail_to_pass=up, p_value=mcnemar_p(down, up))


def _summaries(
    names: tuple[str, ...],
    base: FloatArray,
    cand: FloatArray,
    threshold: float,
    options: DiffOptions,
) -> tuple[FloatArray, Int8Array, Int8Array, list[ScorerSummary]]:
    """Deltas, changes and scorer flips of the paired cases, and one summary per scorer."""
    base_filled, cand_filled = np.nan_to_num(base, nan=0.0), np.nan_to_num(cand, nan=0.0)
    with np.errstate(over="ignore"):  # clamped infinities: a delta of +-inf, no warning
        deltas = cand_filled - base_filled
    unchanged = np.abs(deltas) <= options.tolerance
    changes = np.where(unchanged, 0, np.where(deltas > 0, 1, -1)).astype(np.int8)
    base_pass, cand_pass = base_filled >= threshold, cand_filled >= threshold
    flips = (cand_pass.astype(np.int8) - base_pass.astype(np.int8)).astype(np.int8)
    low, high = bootstrap_mean_ci(
        deltas, resamples=options.resamples, confidence=options.confidence, seed=options.seed
    )
    size = deltas.shape[1]
    summaries = []
    for j, name in enumerate(names):
        mean_delta = sequential_mean(deltas[j])
        ci = ConfidenceInterval(
            low=None if np.isnan(low[j]) else float(low[j]),
            high=None if np.isnan(high[j]) else float(high[j]),
            level=options.confidence,
            resamples=options.resamples,
            seed=options.seed,
        )
        flip_counts = _flip_counts(base_pass[j], cand_pass[j])
        summaries.append(
            ScorerSummary(
                name=name,
                mean_delta=mean_delta,
                improved=int(np.count_nonzero(changes[j] == 1)),
                regressed=int(np.count_nonzero(changes[j] == -1)),
                unchanged=int(np.count_nonzero(changes[j] == 0)),
                exceeds=mean_delta < -options.regression_threshold,
                baseline_mean=sequential_mean(base_filled[j]) if size else None,
                candidate_mean=sequential_mean(cand_filled[j]) if size else None,
                missing_baseline=int(np.count_nonzero(np.isnan(base[j]))),
                missing_candidate=int(np.count_nonzero(np.isnan(cand[j]))),
                ci=ci,
                flips=flip_counts,
                verdict=scorer_verdict(
                    mean_delta,
                    ci.low,
                    ci.high,
                    flip_counts.pass_to_fail,
                    flip_counts.fail_to_pass,
                    flip_counts.p_value,
                    options.regression_threshold,
                    options.alpha,
                ),
            )
        )
    return deltas, changes, flips, summaries


def _case_flags(
    base: RunColumns,
    cand: RunColumns,
    pairs: Pairs,
    changes: Int8Array,
    flips: Int8Array,
    threshold: float,
    mins: tuple[FloatArray, FloatArray] | None = None,
    compared: list[int] | None = None,
) -> tuple[FlagArray, FlipCounts]:
    """Flags of the paired rows, and the case-level flips.

    A case passes when its lowest score >= threshold and fails below (getRunSummary's
    rule); a case without scores is neither, so it never flips. `mins`: the paired cases'
    lowest scores to use instead, and `compared`: the scorer rows that count (those of both
    runs: a scorer of one run only makes no case regressed, improved or flipped)."""
    flags = np.zeros(len(pairs.base), dtype=np.uint16)
    if compared is not None:
        changes, flips = changes[compared], flips[compared]
    flags[np.any(changes == -1, axis=0)] |= REGRESSED
    flags[np.any(changes == 1, axis=0)] |= IMPROVED
    flags[np.any(flips != 0, axis=0)] |= SCORER_FLIP
    base_error, cand_error = base.errored[pairs.base], cand.errored[pairs.cand]
    flags[base_error & ~cand_error] |= ERRORED_BASELINE
    flags[cand_error & ~base_error] |= ERRORED_CANDIDATE
    if mins is None:
        base_min, cand_min = base.min_scores[pairs.base], cand.min_scores[pairs.cand]
    else:
        base_min, cand_min = mins
    scored = ~np.isnan(base_min) & ~np.isnan(cand_min)
    base_pass, cand_pass = scored & (base_min >= threshold), scored & (cand_min >= threshold)
    flags[base_pass & scored & ~cand_pass] |= PASS_TO_FAIL
    flags[cand_pass & scored & ~base_pass] |= FAIL_TO_PASS
    return flags, _flip_counts(base_pass, cand_pass)


def _explain(summary: ScorerSummary, threshold: float) -> str:
    ci = summary.ci
    interval = "" if ci.low is None or ci.high is None else f"[{ci.low:+.4f}, {ci.high:+.4f}]"
    return (
        f"{summary.name}: mean delta {summary.mean_delta:+.4f}, "
        f"{ci.level:.0%} CI {interval or 'n/a'}, "
        f"pass->fail {summary.flips.pass_to_fail} vs fail->pass {summary.flips.fail_to_pass} "
        f"at {threshold:g} (McNemar p={summary.flips.p_value:.3g})"
    )


def _verdict_reason(
    verdict: Verdict, scorers: list[ScorerSummary], case_flips: FlipCounts, threshold: float
) -> str:
    named = [s for s in scorers if s.verdict == verdict]
    detail = "; ".join(_explain(s, threshold) for s in named)
    if verdict == Verdict.REGRESSION:
        if not named:
            detail = (
                f"cases: pass->fail {case_flips.pass_to_fail} vs fail->pass "
                f"{case_flips.fail_to_pass} (McNemar p={case_flips.p_value:.3g})"
            )
        return f"regression beyond noise: {detail}"
    if verdict == Verdict.POSSIBLE_REGRESSION:
        return f"compareRuns flags a regression, but it is within noise: {detail}"
    if verdict == Verdict.IMPROVEMENT:
        if not named:
            detail = f"cases: fail->pass {case_flips.fail_to_pass} (p={case_flips.p_value:.3g})"
        return f"improvement beyond noise: {detail}"
    return "no difference beyond noise"


def _not_compared(
    names: tuple[str, ...], base: RunColumns, cand: RunColumns
) -> tuple[NotCompared, ...]:
    """Scorers that only one of the two runs has."""
    base_has, cand_has = set(base.scorer_names), set(cand.scorer_names)
    return tuple(
        NotCompared(scorer=name, only_in="baseline" if name in base_has else "candidate")
        for name in names
        if (name in base_has) != (name in cand_has)
    )


def _common_mins(scores: FloatArray, rows: list[int]) -> FloatArray:
    """Per column, the lowest score over the given scorer rows (NaN where none)."""
    if not rows:
        return np.full(scores.shape[1], np.nan)
    lowest: FloatArray = np.fmin.reduce(scores[rows], axis=0)
    return lowest


def _why_not_compared(
    not_compared: tuple[NotCompared, ...], candidate: Run, baseline: Run, outside: int
) -> str:
    parts = []
    if not_compared:
        listed = ", ".join(f"{n.scorer} (only in the {n.only_in})" for n in not_compared)
        parts.append(
            f"not compared: {listed}; compareRuns counts a missing score as 0, so these are"
            " left out of the verdict"
        )
    derived = candidate.derived
    if derived is not None:
        source = (
            "the baseline"
            if is_derived_of(candidate, baseline)
            else f"run {(derived.source_run_id or '?')[:8]}"
        )
        parts.append(
            f"the candidate is a {derived.verb} of {source}: the baseline's {outside} other"
            " cases were never given to it and are not removed"
        )
    return "; ".join(parts)


def _summary(
    baseline: Run,
    candidate: Run,
    base: RunColumns,
    cand: RunColumns,
    options: DiffOptions,
    threshold: float,
    pairing: Pairing,
    scorers: list[ScorerSummary],
    flags: FlagArray,
    case_flips: FlipCounts,
    not_compared: tuple[NotCompared, ...] = (),
) -> DiffSummary:
    one_sided = {n.scorer for n in not_compared}
    compared = [s for s in scorers if s.name not in one_sided]
    case_verdict = scorer_verdict(
        0.0,
        None,
        None,
        case_flips.pass_to_fail,
        case_flips.fail_to_pass,
        case_flips.p_value,
        options.regression_threshold,
        options.alpha,
    )
    if scorers and not compared:
        verdict = Verdict.NOT_COMPARED
        reason = "nothing to judge by: no scorer is in both runs"
    else:
        verdict = overall_verdict([*(s.verdict for s in compared), case_verdict])
        reason = _verdict_reason(verdict, compared, case_flips, threshold)
    why = _why_not_compared(not_compared, candidate, baseline, pairing.removed)
    if why:
        reason = f"{reason} ({why})"
    return DiffSummary(
        baseline=baseline,
        candidate=candidate,
        options=options,
        threshold=threshold,
        pairing=pairing,
        scorers=tuple(scorers),
        case_flips=case_flips,
        regressed_cases=int(np.count_nonzero(flags & REGRESSED)),
        improved_cases=int(np.count_nonzero(flags & IMPROVED)),
        errored_baseline_only=int(np.count_nonzero(flags & ERRORED_BASELINE)),
        errored_candidate_only=int(np.count_nonzero(flags & ERRORED_CANDIDATE)),
        cost=CostDelta(
            latency_delta_ms=cand.totals.latency_ms - base.totals.latency_ms,
            token_in_delta=cand.totals.tokens_in - base.totals.tokens_in,
            token_out_delta=cand.totals.tokens_out - base.totals.tokens_out,
            baseline=base.totals,
            candidate=cand.totals,
        ),
        context=context_differences(
            baseline,
            candidate,
            base.scorer_names,
            cand.scorer_names,
            len(base),
            len(cand),
        ),
        regressed=any(s.exceeds for s in scorers),
        verdict=verdict,
        verdict_reason=reason,
        not_compared=not_compared,
        regressed_compared=any(s.exceeds for s in compared),
        derived_candidate=candidate.derived is not None,
    )


def compare(
    baseline: Run,
    candidate: Run,
    base: RunColumns,
    cand: RunColumns,
    options: DiffOptions | None = None,
) -> RunDiff:
    """Pair, classify and test the two runs (CPU-bound: call it via asyncio.to_thread)."""
    options = options or DiffOptions()
    threshold = options.threshold if options.threshold is not None else baseline.threshold
    pairs, pairing = choose_pairing(base, cand, options.pair_by)
    names = js_key_order(list(dict.fromkeys([*base.scorer_names, *cand.scorer_names])))
    m = len(pairs.base)
    none_b = np.full(len(pairs.added), -1, dtype=np.int64)
    none_c = np.full(len(pairs.removed), -1, dtype=np.int64)
    base_pos = np.concatenate([pairs.base, pairs.removed, none_b])
    cand_pos = np.concatenate([pairs.cand, none_c, pairs.added])
    base_scores, cand_scores = _matrix(base, names, base_pos), _matrix(cand, names, cand_pos)
    deltas, changes, flips, scorers = _summaries(
        names, base_scores[:, :m], cand_scores[:, :m], threshold, options
    )
    not_compared = _not_compared(names, base, cand)
    mins, common = None, None
    if not_compared:  # a case's pass/fail over the scorers of both runs only
        one_sided = {n.scorer for n in not_compared}
        common = [j for j, name in enumerate(names) if name not in one_sided]
        mins = (
            _common_mins(base_scores[:, :m], common),
            _common_mins(cand_scores[:, :m], common),
        )
    flags, case_flips = _case_flags(base, cand, pairs, changes, flips, threshold, mins, common)
    unpaired = len(pairs.removed) + len(pairs.added)
    rows = m + unpaired
    pad = np.full((len(names), unpaired), np.nan)
    summary = _summary(
        baseline,
        candidate,
        base,
        cand,
        options,
        threshold,
        pairing,
        scorers,
        flags,
        case_flips,
        not_compared,
    )
    all_flags = np.concatenate(
        [
            flags,
            np.full(len(pairs.removed), REMOVED, dtype=np.uint16),
            np.full(len(pairs.added), ADDED, dtype=np.uint16),
        ]
    )
    worst = np.full(rows, np.nan)
    if names and m:
        worst[:m] = deltas.min(axis=0)
    return RunDiff(
        summary=summary,
        baseline=base,
        candidate=cand,
        scorer_names=names,
        base_pos=base_pos,
        cand_pos=cand_pos,
        base_scores=base_scores,
        cand_scores=cand_scores,
        deltas=np.concatenate([deltas, pad], axis=1),
        changes=np.concatenate([changes, np.zeros(pad.shape, dtype=np.int8)], axis=1),
        scorer_flips=np.concatenate([flips, np.zeros(pad.shape, dtype=np.int8)], axis=1),
        flags=all_flags,
        worst=worst,
    )
