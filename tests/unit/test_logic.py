"""Pure logic: JSON columns, thresholds, statuses, the run view and text sanitising."""

from __future__ import annotations

import math
from array import array

from hypothesis import given
from hypothesis import strategies as st

from evaltui.core.models import CaseStatus, JsonText, Run, RunIndex, case_status
from evaltui.core.runview import SortOrder, ViewSpec, next_failing, view_positions
from evaltui.core.textsafe import one_line, printable, safe_text


def make_run(config: str | None) -> Run:
    return Run(
        id="r",
        suite_id="s",
        suite_name="s",
        name="n",
        model="m",
        config=JsonText.parse(config),
        started_at=0,
        finished_at=None,
        status="running",
    )


def test_json_text_variants() -> None:
    assert JsonText.parse(None).display == ""
    assert JsonText.parse('"Paris"').display == "Paris"
    assert JsonText.parse('{"a": 1}').display == '{\n  "a": 1\n}'
    broken = JsonText.parse("{nope")
    assert not broken.is_json and broken.display == "{nope"


def test_threshold_from_config() -> None:
    assert make_run(None).threshold == 0.5
    assert make_run('{"threshold": 0.8}').threshold == 0.8
    assert make_run('{"threshold": "0.8"}').threshold == 0.5
    assert make_run('{"threshold": true}').threshold == 0.5
    assert make_run("[1, 2]").threshold == 0.5
    assert make_run("{broken").threshold == 0.5


def test_case_status() -> None:
    assert case_status(0.5, False, 0.5) is CaseStatus.PASS
    assert case_status(0.49, False, 0.5) is CaseStatus.FAIL
    assert case_status(1.0, True, 0.5) is CaseStatus.ERROR
    assert case_status(None, False, 0.5) is CaseStatus.UNSCORED
    assert case_status(math.nan, False, 0.5) is CaseStatus.UNSCORED


def index_of(mins: list[float], other: list[float]) -> RunIndex:
    return RunIndex(
        ids=[f"c{i}" for i in range(len(mins))],
        idxs=array("q", range(len(mins))),
        min_scores=array("d", mins),
        scorer_scores={"a": array("d", mins), "b": array("d", other)},
    )


scores = st.one_of(st.floats(0, 1), st.just(math.nan))


@given(st.lists(st.tuples(scores, scores), max_size=60), st.floats(0, 1))
def test_view_filters_are_consistent(pairs: list[tuple[float, float]], threshold: float) -> None:
    index = index_of([a for a, _ in pairs], [b for _, b in pairs])
    spec = ViewSpec(threshold=threshold, failing_only=True)
    failing = view_positions(index, spec)
    assert failing == [i for i, (a, _) in enumerate(pairs) if a < threshold]
    passed, failed = index.pass_fail(threshold)
    assert failed == len(failing)
    assert passed + failed == sum(1 for a, _ in pairs if not math.isnan(a))
    by_b = view_positions(index, spec.with_(scorer="b"))
    assert by_b == [i for i, (_, b) in enumerate(pairs) if b < threshold]
    worst = view_positions(index, spec.with_(failing_only=False, sort=SortOrder.SCORE))
    assert sorted(worst) == list(range(len(pairs)))
    values = [pairs[i][0] for i in worst if not math.isnan(pairs[i][0])]
    assert values == sorted(values)
    assert all(math.isnan(pairs[i][0]) for i in worst[len(values) :])


@given(st.lists(scores, min_size=1, max_size=40), st.data())
def test_next_failing_finds_the_nearest(mins: list[float], data: st.DataObject) -> None:
    index = index_of(mins, mins)
    spec = ViewSpec(threshold=0.5)
    view = view_positions(index, spec)
    start = data.draw(st.integers(0, len(view) - 1))
    found = next_failing(index, view, start, 1, spec)
    expected = next((r for r in range(start + 1, len(view)) if mins[view[r]] < 0.5), None)
    assert found == expected
    back = next_failing(index, view, start, -1, spec)
    expected_back = next((r for r in range(start - 1, -1, -1) if mins[view[r]] < 0.5), None)
    assert back == expected_back


def test_search_matches_narrow_the_view() -> None:
    index = index_of([0.1, 0.9, 0.2], [0.0, 0.0, 0.0])
    spec = ViewSpec(threshold=0.5)
    assert view_positions(index, spec, {"c1", "c2"}) == [1, 2]
    assert view_positions(index, spec.with_(failing_only=True), {"c1", "c2"}) == [2]


@given(st.text())
def test_printable_never_lets_a_control_character_through(text: str) -> None:
    shown = printable(text)
    for char in shown:
        code = ord(char)
        assert code in (9, 10) or not (code < 0x20 or 0x7F <= code < 0xA0)
        assert char not in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    assert "\n" not in one_line(text)


def test_markup_stays_literal() -> None:
    text = safe_text("[bold]x[/] \x1b]52;c;aGk=\x07")
    assert text.plain.startswith("[bold]x[/] ")
    assert "\x1b" not in text.plain and not text.spans


def test_p_values_read_the_same_in_every_view() -> None:
    from evaltui.core.numbers import p_value_text

    assert [p_value_text(v) for v in (2.3e-108, 0.0009, 0.001, 0.04321, 1.0)] == [
        "<0.001",
        "<0.001",
        "0.001",
        "0.0432",
        "1",
    ]
    assert p_value_text(float("nan")) == "undefined"


def test_an_error_cause_is_never_lost() -> None:
    from evaltui.core.formatting import error_headline
    from evaltui.core.models import JsonText
    from evaltui.ui.screens.case import error_full

    coded = JsonText.parse('{"name":"Error","message":"upstream 503","cause":{"code":503}}')
    assert error_headline(coded) == 'Error: upstream 503 (cause: {"code": 503})'
    assert '"code": 503' in error_full(coded)
    named = JsonText.parse('{"message":"boom","cause":{"name":"TypeError","message":"x is null"}}')
    assert error_headline(named) == "Error: boom (cause: TypeError: x is null)"
    assert "x is null" in error_full(named)
