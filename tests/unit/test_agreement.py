"""Cohen's kappa and the agreement of two judges over a run diff."""

from __future__ import annotations

import pytest

from evaltui.diff.agreement import cohen_kappa


def test_kappa_known_values() -> None:
    # the textbook example: 20 both yes, 15 both no, 5 + 10 disagreements -> kappa 0.4
    assert cohen_kappa(20, 15, 5, 10) == pytest.approx(0.4)
    assert cohen_kappa(10, 10, 0, 0) == pytest.approx(1.0)
    assert cohen_kappa(0, 0, 0, 0) is None
    assert cohen_kappa(5, 0, 0, 0) is None  # both always pass: undefined, never 1.00
    assert cohen_kappa(0, 3, 0, 0) is None  # both always fail: undefined too
    assert cohen_kappa(0, 0, 5, 5) == pytest.approx(-1.0)


@pytest.mark.parametrize("table", [(0, 1, 2, 0), (0, 2, 1, 0), (0, 1, 0, 2), (0, 3, 4, 0)])
def test_kappa_of_a_constant_rater_is_zero_never_minus_zero(
    table: tuple[int, int, int, int],
) -> None:
    """One rater gives one verdict to every case: kappa is 0 (defined), shown as 0.00."""
    kappa = cohen_kappa(*table)
    assert kappa == 0.0 and f"{kappa:.2f}" == "0.00"
