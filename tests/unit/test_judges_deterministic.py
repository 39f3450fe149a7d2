"""The deterministic judges give the package's scores and reasons (0.29.1 scorers)."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evaltui.backends.base import JudgeError
from evaltui.backends.judges import UNDEFINED, JudgeInput, create_judge
from evaltui.core.jscompat import (
    edit_distance,
    js_deep_equal,
    js_json_parse,
    js_number,
    js_regex,
    js_string,
    utf16_units,
)
from evaltui.store import RunStore


def item(output: str | None, expected: Any = UNDEFINED, **extra: Any) -> JudgeInput:
    return JudgeInput(case_id="c1", output=output, expected=expected, **extra)


async def score(
    judge_type: str, case: JudgeInput, **options: Any
) -> tuple[float | None, str | None]:
    verdict = await create_judge(judge_type, options=options).evaluate(case)
    return verdict.score, verdict.reason


async def test_rejudging_the_real_store_reproduces_every_stored_score(real_store: Path) -> None:
    store = await RunStore.open(real_store)
    compared = 0
    judges = {name: create_judge(name) for name in ("exact", "includes", "levenshtein")}
    try:
        for run in await store.list_runs():
            index = await store.run_index(run.id)
            for case_id in index.ids:
                case = await store.get_case(case_id)
                if case.error.raw is not None:
                    continue  # the engine's "Task failed" zeros: no scorer ran
                for stored in case.scores:
                    verdict = await judges[stored.scorer_name].evaluate(JudgeInput.from_case(case))
                    assert (verdict.score, verdict.reason) == (stored.score, stored.reason), case.id
                    compared += 1
    finally:
        await store.close()
    assert compared >= 160


async def test_exact_and_includes_reasons() -> None:
    assert await score("exact", item("4", "4")) == (1.0, None)
    assert await score("exact", item("4 ", "4")) == (
        0.0,
        'Output does not exactly match expected. Expected "4" but got "4 ".',
    )
    assert await score("includes", item("The answer is Paris.", "Paris")) == (1.0, None)
    assert await score("includes", item("paris", "Paris")) == (
        0.0,
        'Output does not include expected substring "Paris".',
    )


async def test_expected_is_stringified_as_javascript_does() -> None:
    assert await score("exact", item("4", 4)) == (1.0, None)
    assert await score("exact", item("1.5", 1.5)) == (1.0, None)
    assert await score("exact", item("true", True)) == (1.0, None)
    assert await score("exact", item("a,b,", ["a", "b", None])) == (1.0, None)
    assert await score("exact", item("[object Object]", {"a": 1})) == (1.0, None)
    assert await score("exact", item("", None)) == (1.0, None)  # null -> ''
    assert await score("exact", item(None, UNDEFINED)) == (1.0, None)  # NULL output is ''
    assert await score("includes", item("anything")) == (1.0, None)


def test_js_number_formatting() -> None:
    cases = {
        0.0: "0",
        1.0: "1",
        100.0: "100",
        0.1: "0.1",
        1e21: "1e+21",
        1e20: "100000000000000000000",
        1.5e-6: "0.0000015",
        1e-7: "1e-7",
        123456789012345680000.0: "123456789012345680000",
        -2.5: "-2.5",
        1.7976931348623157e308: "1.7976931348623157e+308",
        5e-324: "5e-324",
    }
    for value, text in cases.items():
        assert js_number(value) == text
    assert js_number(-0.0) == "0"
    assert js_string(float("nan")) == "NaN" and js_string(math.inf) == "Infinity"


async def test_levenshtein_counts_utf16_code_units() -> None:
    assert await score("levenshtein", item("The answer is Jupiter.", "Jupiter")) == (
        1 - 15 / 22,
        None,
    )
    # one emoji is 2 UTF-16 units: 'a😀' vs 'a' is distance 2 over length 3
    assert (await score("levenshtein", item("a😀", "a")))[0] == 1 - 2 / 3
    assert (await score("levenshtein", item("a😀", "a"), units="codepoints"))[0] == 0.5
    assert await score("levenshtein", item("", "")) == (1.0, None)
    assert await score("levenshtein", item("abc", None)) == (0.0, None)


def naive_distance(a: list[int], b: list[int]) -> int:
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(current[j - 1] + 1, previous[j] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


@given(st.text(alphabet="ab😀c\n", max_size=70), st.text(alphabet="abc😀", max_size=70))
def test_bit_parallel_distance_matches_dynamic_programming(a: str, b: str) -> None:
    ua, ub = list(utf16_units(a)), list(utf16_units(b))
    assert edit_distance(ua, ub) == naive_distance(ua, ub)


def test_long_strings_are_fast() -> None:
    text = "lorem ipsum dolor sit amet " * 400  # 10,800 units
    start = time.perf_counter()
    assert edit_distance(text, text[:5000] + "X" + text[5000:]) == 1
    assert edit_distance("x" * 8000, "y" * 8000) == 8000
    assert time.perf_counter() - start < 2.0


async def test_json_match() -> None:
    assert await score("json_match", item('{"b": [1, 2], "a": 1}', {"a": 1.0, "b": [1, 2]})) == (
        1.0,
        None,
    )
    assert await score("json_match", item('{"a": 1}', '{"a": 1}')) == (
        1.0,
        None,
    )  # string expected is parsed
    assert await score("json_match", item("[2, 1]", [1, 2])) == (
        0.0,
        "JSON payload differs from expected JSON.",
    )
    assert await score("json_match", item("{bad", {"a": 1})) == (0.0, "Failed to parse JSON")
    assert await score("json_match", item('{"a": 1}', "{bad")) == (0.0, "Failed to parse JSON")
    assert await score("json_match", item("NaN", 1)) == (0.0, "Failed to parse JSON")
    assert await score("json_match", item("true", 1)) == (
        0.0,
        "JSON payload differs from expected JSON.",
    )
    # null equals null but not undefined (the column cannot tell them apart: see expected_of)
    assert await score("json_match", item("null", None)) == (1.0, None)
    assert await score("json_match", item("null", UNDEFINED)) == (
        0.0,
        "JSON payload differs from expected JSON.",
    )


def test_js_deep_equal_and_parse() -> None:
    assert js_deep_equal(js_json_parse("1"), js_json_parse("1.0"))
    assert not js_deep_equal(True, 1.0)
    assert js_deep_equal(
        js_json_parse("12345678901234567890"), js_json_parse("12345678901234567891")
    )
    with pytest.raises(ValueError):
        js_json_parse("Infinity")


async def test_regex_uses_javascript_flags_and_named_groups() -> None:
    assert await score("regex", item("Answer: 42"), pattern=r"\d+") == (1.0, None)
    assert await score("regex", item("PARIS"), pattern="paris") == (0.0, None)
    assert await score("regex", item("PARIS"), pattern="paris", flags="i") == (1.0, None)
    assert await score("regex", item("ab-ab"), pattern=r"(?<x>ab)-\k<x>") == (1.0, None)
    assert js_regex("a.b", "s").search("a\nb")
    with pytest.raises(JudgeError):
        create_judge("regex", options={})
    with pytest.raises(ValueError):
        js_regex("a", "q")


def test_from_case_reads_expected_as_the_engine_did() -> None:
    from evaltui.core.models import Case, JsonText

    def case(item: str, expected: str | None) -> Case:
        return Case(
            id="c",
            run_id="r",
            idx=3,
            input=JsonText.parse(item),
            output=None,
            expected=JsonText.parse(expected),
            latency_ms=1,
            tokens_in=0,
            tokens_out=0,
            error=JsonText.parse(None),
        )

    judged = JudgeInput.from_case(case('{"input": "q", "expected": "4"}', '"4"'))
    assert (judged.idx, judged.input, judged.expected, judged.output_text) == (
        3,
        {"input": "q", "expected": "4"},
        "4",
        "",
    )
    assert JudgeInput.from_case(case('{"input": "q", "expected": null}', None)).expected is None
    assert JudgeInput.from_case(case('{"input": "q"}', None)).expected is UNDEFINED
    assert JudgeInput.from_case(case("not json", "also not")).expected == "also not"
