"""Build a span tree from a trace's flat spans, and write it as JSON without recursion.

A trace can be 10,000 spans deep or wide, so nothing here recurses: `build_tree` links
children in one pass, `iter_tree_json` streams the JSON from an explicit stack (the stdlib
encoder would hit the recursion limit on a deep trace), and the walks are iterative.
Indented JSON stops indenting deeper after `MAX_JSON_LEVELS` levels, so its size stays
linear in the spans (a 10,000-deep chain indented in full would be gigabytes of spaces).
The JSON of a node is the shape `evaltui trace --json` prints and the UI's copy key uses:
`{"span_id", "parent_id", "kind", "name", "start_ns", "end_ns", "status", "error",
"scores", "children"}`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from evaltui.core.jsonutil import null_non_finite
from evaltui.traces.models import Span, SpanNode, SpanScore

TRACE_KIND = "trace"  # kind of the synthetic node that holds the roots of a many-rooted trace
MAX_JSON_LEVELS = 24  # indentation of the JSON stops growing here (12 spans deep)


def _order(span: Span) -> tuple[int, str]:
    return (span.start_ns, span.span_id)


def build_tree(
    spans: Iterable[Span], scores: Mapping[int, list[SpanScore]] | None = None
) -> list[SpanNode]:
    """The roots of the trace, children ordered by (start_ns, span_id), depths set.

    A span whose parent is not in the trace (not received, or filtered) is a root and keeps
    its `parent_id`. A parent cycle in bad data is broken at its earliest span, which becomes
    a root, so every span appears exactly once.
    """
    scores = scores or {}
    ordered = sorted(spans, key=_order)
    nodes: dict[str, SpanNode] = {}
    for span in ordered:
        nodes.setdefault(span.span_id, SpanNode(span, list(scores.get(span.pk, ()))))
    roots: list[SpanNode] = []
    parent_of: dict[str, SpanNode] = {}
    for node in nodes.values():
        parent_id = node.span.parent_id
        parent = nodes.get(parent_id) if parent_id and parent_id != node.span.span_id else None
        if parent is None:
            roots.append(node)
        else:
            parent.children.append(node)
            parent_of[node.span.span_id] = parent
    seen = _set_depths(roots)
    if len(seen) < len(nodes):
        for node in nodes.values():  # in start order: the earliest span of a cycle wins
            if id(node) in seen:
                continue
            parent = parent_of[node.span.span_id]
            parent.children.remove(node)
            roots.append(node)
            seen |= _set_depths([node])
        roots.sort(key=lambda n: _order(n.span))
    return roots


def _set_depths(tops: Sequence[SpanNode]) -> set[int]:
    seen: set[int] = set()
    stack = [(node, 0) for node in tops]
    while stack:
        node, depth = stack.pop()
        node.depth = depth
        seen.add(id(node))
        stack.extend((child, depth + 1) for child in node.children)
    return seen


def walk(roots: Sequence[SpanNode]) -> Iterator[SpanNode]:
    """Every node in display order (pre-order, children by start time)."""
    stack = list(reversed(roots))
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(node.children))


def is_problem(node: SpanNode) -> bool:
    """An errored span, or one with a failing score."""
    return node.span.status == "error" or any(s.passed is False for s in node.scores)


def problem_nodes(roots: Sequence[SpanNode]) -> list[SpanNode]:
    """Errored or failing spans in display order: the targets of "jump to next problem"."""
    return [node for node in walk(roots) if is_problem(node)]


def score_rollup(roots: Sequence[SpanNode]) -> dict[int, tuple[int, int]]:
    """(passed, failed) score counts of each node's subtree, keyed by span pk."""
    totals: dict[int, tuple[int, int]] = {}
    for node in reversed(list(walk(roots))):  # children before their parent
        passed = sum(1 for s in node.scores if s.passed is True)
        failed = sum(1 for s in node.scores if s.passed is False)
        for child in node.children:
            child_passed, child_failed = totals[child.span.pk]
            passed += child_passed
            failed += child_failed
        totals[node.span.pk] = (passed, failed)
    return totals


def node_fields(node: SpanNode) -> dict[str, Any]:
    """The JSON fields of one node, without `children`."""
    span = node.span
    return {
        "span_id": span.span_id,
        "parent_id": span.parent_id,
        "kind": span.kind,
        "name": span.name,
        "start_ns": span.start_ns,
        "end_ns": span.end_ns,
        "status": span.status,
        "error": span.error,
        "scores": [score.to_json() for score in node.scores],
    }


def _trace_fields(roots: Sequence[SpanNode], name: str | None) -> dict[str, Any]:
    starts = [n.span.start_ns for n in roots]
    ends = [n.span.end_ns for n in roots if n.span.end_ns is not None]
    errored = any(n.span.status == "error" for n in walk(roots))
    return {
        "span_id": None,
        "parent_id": None,
        "kind": TRACE_KIND,
        "name": name,
        "start_ns": min(starts) if starts else None,
        "end_ns": max(ends) if ends else None,
        "status": "error" if errored else "unset",
        "error": None,
        "scores": [],
    }


def iter_tree_json(
    roots: Sequence[SpanNode], *, indent: int | None = 2, trace_name: str | None = None
) -> Iterator[str]:
    """The trace as one JSON object, in pieces: its root node when it has one root, else a
    synthetic node (`"span_id": null, "kind": "trace"`) whose children are the roots.
    With `indent` the text is what `json.dumps(..., indent=indent)` would give, except that
    lines nested deeper than `MAX_JSON_LEVELS` are indented as at that level."""
    if len(roots) == 1:
        return iter_nodes_json(roots[0], indent=indent)
    return _iter_json(_trace_fields(roots, trace_name), list(roots), indent)


def iter_nodes_json(node: SpanNode, *, indent: int | None = 2) -> Iterator[str]:
    """One node and its subtree as JSON, in pieces (for a copy of one span)."""
    return _iter_json(node_fields(node), node.children, indent)


def tree_json(
    roots: Sequence[SpanNode], *, indent: int | None = 2, trace_name: str | None = None
) -> str:
    return "".join(iter_tree_json(roots, indent=indent, trace_name=trace_name))


def _iter_json(
    fields: dict[str, Any], children: list[SpanNode], indent: int | None
) -> Iterator[str]:
    newline = "" if indent is None else "\n"
    colon = ":" if indent is None else ": "
    separators = (",", ":") if indent is None else None

    def pad(level: int) -> str:
        return "" if indent is None else " " * (indent * min(level, MAX_JSON_LEVELS))

    def head(values: dict[str, Any], level: int) -> str:
        """The node's fields, ending where its children start: one `json.dumps` a node."""
        values = null_non_finite(values)  # JSON has no Infinity: null, named in `nonFinite`
        text = json.dumps(
            values, ensure_ascii=False, indent=indent, separators=separators, allow_nan=False
        )
        text = text[:-1].rstrip()  # drop the closing brace
        if indent is not None and level:
            text = text.replace("\n", "\n" + pad(level))
        return text + "," + newline + pad(level + 1) + '"children"' + colon + "["

    yield head(fields, 0)
    if not children:
        yield "]" + newline + "}"
        return
    # One frame per open array: memory grows with the depth, never with the width.
    frames: list[tuple[Iterator[tuple[int, SpanNode]], int]] = [(enumerate(children), 0)]
    while frames:
        siblings, level = frames[-1]
        step = next(siblings, None)
        if step is None:
            frames.pop()
            yield newline + pad(level + 1) + "]" + newline + pad(level) + "}"
            continue
        i, child = step
        yield ("," if i else "") + newline + pad(level + 2) + head(node_fields(child), level + 2)
        if child.children:
            frames.append((enumerate(child.children), level + 2))
        else:
            yield "]" + newline + pad(level + 2) + "}"
