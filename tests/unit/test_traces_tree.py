"""Span trees: building from flat spans, the recursion-free JSON writer, roll-ups and walks."""

from __future__ import annotations

import json
import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from evaltui.traces.models import Span, SpanNode, SpanScore
from evaltui.traces.tree import (
    build_tree,
    iter_nodes_json,
    node_fields,
    problem_nodes,
    score_rollup,
    tree_json,
    walk,
)


def span(pk: int, span_id: str, parent: str | None, start: int, status: str = "ok") -> Span:
    return Span(
        pk=pk,
        trace_id="t",
        span_id=span_id,
        parent_id=parent,
        kind="custom",
        name=f"span {span_id}",
        start_ns=start,
        end_ns=start + 10,
        status=status,
        error="boom" if status == "error" else None,
        model=None,
        tokens_in=None,
        tokens_out=None,
        cost=None,
    )


def as_dict(node: SpanNode) -> dict[str, Any]:
    """The reference (recursive) rendering `iter_tree_json` must equal."""
    return {**node_fields(node), "children": [as_dict(child) for child in node.children]}


def test_children_are_ordered_by_start_and_orphans_are_roots() -> None:
    spans = [
        span(1, "root", None, 0),
        span(2, "late", "root", 30),
        span(3, "early", "root", 10),
        span(4, "orphan", "not-received", 5),
        span(5, "grandchild", "early", 11),
    ]
    roots = build_tree(reversed(spans))
    assert [r.span.span_id for r in roots] == ["root", "orphan"]
    assert roots[1].span.parent_id == "not-received"  # kept, for the reader to see
    assert [c.span.span_id for c in roots[0].children] == ["early", "late"]
    assert [(n.span.span_id, n.depth) for n in walk(roots)] == [
        ("root", 0),
        ("early", 1),
        ("grandchild", 2),
        ("late", 1),
        ("orphan", 0),
    ]


def test_a_parent_cycle_is_broken_so_every_span_appears_once() -> None:
    spans = [span(1, "a", "c", 5), span(2, "b", "a", 6), span(3, "c", "b", 7), span(4, "s", "s", 1)]
    roots = build_tree(spans)
    assert [r.span.span_id for r in roots] == ["s", "a"]
    assert sorted(n.span.span_id for n in walk(roots)) == ["a", "b", "c", "s"]
    assert [n.depth for n in walk(roots)] == [0, 0, 1, 2]


def test_json_equals_the_stdlib_rendering_and_has_the_documented_keys() -> None:
    spans = [span(1, "r", None, 0), span(2, "x", "r", 1, "error"), span(3, "y", "x", 2)]
    scores = {2: [SpanScore("relevance", 0.2, 0.5, None, "weak")]}
    roots = build_tree(spans, scores)
    text = tree_json(roots)
    assert text == json.dumps(as_dict(roots[0]), indent=2, ensure_ascii=False)
    tree = json.loads(text)
    assert list(tree) == [
        "span_id",
        "parent_id",
        "kind",
        "name",
        "start_ns",
        "end_ns",
        "status",
        "error",
        "scores",
        "children",
    ]
    child = tree["children"][0]
    assert child["status"] == "error" and child["error"] == "boom"
    assert child["scores"] == [
        {
            "name": "relevance",
            "score": 0.2,
            "threshold": 0.5,
            "success": False,  # derived from score < threshold
            "reason": "weak",
            "evaluation_model": None,
            "error": None,
        }
    ]
    assert json.loads(tree_json(roots, indent=None)) == tree
    assert "\n" not in tree_json(roots, indent=None)


def test_many_roots_are_wrapped_in_a_trace_node() -> None:
    roots = build_tree([span(1, "a", None, 5, "error"), span(2, "b", None, 1)])
    tree = json.loads(tree_json(roots, trace_name="my trace"))
    assert tree["span_id"] is None and tree["kind"] == "trace" and tree["name"] == "my trace"
    assert (tree["start_ns"], tree["end_ns"], tree["status"]) == (1, 15, "error")
    assert [c["span_id"] for c in tree["children"]] == ["b", "a"]


def test_a_10000_deep_chain_builds_and_serialises_without_recursion() -> None:
    spans = [span(i + 1, f"s{i}", f"s{i - 1}" if i else None, i) for i in range(10_000)]
    roots = build_tree(spans)
    assert max(n.depth for n in walk(roots)) == 9_999
    text = "".join(iter_nodes_json(roots[0], indent=None))
    assert text.count('"span_id"') == 10_000
    assert text.endswith("]}" * 10_000)


def test_score_rollup_and_problem_nodes() -> None:
    spans = [span(1, "r", None, 0), span(2, "a", "r", 1), span(3, "b", "a", 2, "error")]
    scores = {
        2: [SpanScore("m", 1.0, 0.5, True)],
        3: [SpanScore("m", 0.0, 0.5, False), SpanScore("n", None)],
    }
    roots = build_tree(spans, scores)
    assert score_rollup(roots) == {1: (1, 1), 2: (1, 1), 3: (0, 1)}
    assert [n.span.span_id for n in problem_nodes(roots)] == ["b"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=-1, max_value=40), min_size=1, max_size=40))
def test_random_forests_round_trip(parents: list[int]) -> None:
    spans = [
        span(i + 1, f"s{i}", None if p < 0 else f"s{p}", random.Random(i).randint(0, 5))
        for i, p in enumerate(parents)
    ]
    roots = build_tree(spans)
    assert sorted(n.span.pk for n in walk(roots)) == list(range(1, len(spans) + 1))
    for root in roots:
        assert json.loads("".join(iter_nodes_json(root))) == as_dict(root)
