"""Judge agreement: how often two scorers (one per run) give the same pass/fail verdict on
the same cases, with Cohen's kappa (agreement beyond chance)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evaltui.diff.rundiff import RunDiff


@dataclass(frozen=True)
class Agreement:
    baseline_scorer: str
    candidate_scorer: str
    compared: int  # paired cases that both scorers scored
    agree: int
    base_pass_cand_fail: int
    base_fail_cand_pass: int
    kappa: float | None  # None: undefined (nothing compared, or one verdict only on both sides)
    disagreeing_rows: tuple[int, ...]  # rows of the diff, in row order

    @property
    def rate(self) -> float | None:
        return self.agree / self.compared if self.compared else None


def cohen_kappa(both_pass: int, both_fail: int, base_only: int, cand_only: int) -> float | None:
    """Cohen's kappa of two pass/fail raters from their 2x2 table; None when it is undefined:
    nothing compared, or both raters gave the same single verdict to every case (chance
    agreement is then 1, and 0/0 is no evidence of agreement beyond it)."""
    n = both_pass + both_fail + base_only + cand_only
    if n == 0:
        return None
    observed = (both_pass + both_fail) / n
    base_pass = (both_pass + base_only) / n
    cand_pass = (both_pass + cand_only) / n
    expected = base_pass * cand_pass + (1 - base_pass) * (1 - cand_pass)
    if expected >= 1.0:
        return None
    kappa = (observed - expected) / (1 - expected)
    return 0.0 if abs(kappa) < 1e-12 else kappa  # never a -0.00 from rounding


def agreement(diff: RunDiff, base_scorer: str, cand_scorer: str, threshold: float) -> Agreement:
    """Pass/fail agreement of `base_scorer` in the baseline and `cand_scorer` in the candidate
    over paired cases where both have a score (a missing score is not a verdict)."""
    names = diff.scorer_names
    base = diff.base_scores[names.index(base_scorer)]
    cand = diff.cand_scores[names.index(cand_scorer)]
    both = ~np.isnan(base) & ~np.isnan(cand)
    base_pass = base >= threshold
    cand_pass = cand >= threshold
    both_pass = int(np.sum(both & base_pass & cand_pass))
    both_fail = int(np.sum(both & ~base_pass & ~cand_pass))
    base_only = int(np.sum(both & base_pass & ~cand_pass))
    cand_only = int(np.sum(both & ~base_pass & cand_pass))
    disagree = np.flatnonzero(both & (base_pass != cand_pass))
    return Agreement(
        baseline_scorer=base_scorer,
        candidate_scorer=cand_scorer,
        compared=int(np.sum(both)),
        agree=both_pass + both_fail,
        base_pass_cand_fail=base_only,
        base_fail_cand_pass=cand_only,
        kappa=cohen_kappa(both_pass, both_fail, base_only, cand_only),
        disagreeing_rows=tuple(int(row) for row in disagree),
    )


def all_agreements(diff: RunDiff, threshold: float) -> list[Agreement]:
    """Every (baseline scorer, candidate scorer) pair that shares at least one case."""
    names = diff.scorer_names
    base_has = [name for j, name in enumerate(names) if not np.all(np.isnan(diff.base_scores[j]))]
    cand_has = [name for j, name in enumerate(names) if not np.all(np.isnan(diff.cand_scores[j]))]
    pairs = [agreement(diff, b, c, threshold) for b in base_has for c in cand_has]
    return [pair for pair in pairs if pair.compared]
