"""Output bounded by input: trace JSON linear in the spans at any depth, tree walks without
recursion on deep chains and cycles, and a copy that spills to a file past the OSC 52 limit."""

from __future__ import annotations

import io
import json
import sys
import tracemalloc
from pathlib import Path
from typing import BinaryIO

import pytest

from evaltui.cli.main import main
from evaltui.traces.clipboard import CLIPBOARD_LIMIT, copy_or_spill
from evaltui.traces.models import Span, SpanNode
from evaltui.traces.outline import Outline
from evaltui.traces.tree import (
    MAX_JSON_LEVELS,
    build_tree,
    iter_tree_json,
    problem_nodes,
    score_rollup,
    tree_json,
    walk,
)


def span(pk: int, parent: int | None) -> Span:
    return Span(
        pk=pk,
        trace_id="t",
        span_id=f"s{pk}",
        parent_id=None if parent is None else f"s{parent}",
        kind="custom",
        name=f"step {pk}",
        start_ns=pk,
        end_ns=pk + 10,
        status="ok",
        error=None,
        model=None,
        tokens_in=None,
        tokens_out=None,
        cost=None,
    )


def chain(depth: int) -> list[SpanNode]:
    return build_tree([span(i, i - 1 if i else None) for i in range(depth)])


def cycle(size: int) -> list[SpanNode]:
    return build_tree([span(i, (i - 1) % size) for i in range(size)])


def test_indented_json_grows_linearly_with_depth() -> None:
    # Before: every level indented 4 more spaces, so a 10,000-deep chain was ~2.6 GB.
    shallow, deep = tree_json(chain(1_000)), tree_json(chain(2_000))
    assert len(deep) < 2.2 * len(shallow)
    widest = max(len(line) - len(line.lstrip(" ")) for line in deep.splitlines())
    assert widest <= 2 * (MAX_JSON_LEVELS + 2)


def test_capped_indentation_is_the_same_json() -> None:
    roots = chain(40)  # deeper than the cap, shallow enough for the stdlib decoder
    assert json.loads(tree_json(roots)) == json.loads(tree_json(roots, indent=None))


def test_walks_of_a_10000_deep_chain_and_a_5000_span_cycle_do_not_recurse() -> None:
    for roots, size in ((chain(10_000), 10_000), (cycle(5_000), 5_000)):
        assert sum(1 for _ in walk(roots)) == size
        assert len(score_rollup(roots)) == size
        assert problem_nodes(roots) == []
        outline = Outline(roots)
        outline.expand_all()
        assert len(outline.rows) == size
        deepest = outline.rows[-1].node
        assert deepest is not None
        outline.collapse_all()
        assert outline.reveal(deepest) == size - 1
        assert "".join(iter_tree_json(roots, indent=None)).count('"span_id"') == size


def _opener(target: Path) -> tuple[BinaryIO, Path]:
    return target.open("wb"), target


def test_a_small_copy_goes_to_the_clipboard(tmp_path: Path) -> None:
    roots = chain(3)
    copied = copy_or_spill(iter_tree_json(roots), lambda: _opener(tmp_path / "x.json"))
    assert copied.path is None and copied.text == tree_json(roots)
    assert not (tmp_path / "x.json").exists()


def test_a_copy_past_the_osc52_limit_streams_to_a_file_in_bounded_memory(tmp_path: Path) -> None:
    roots = chain(10_000)
    target = tmp_path / "trace.json"
    tracemalloc.start()
    try:
        copied = copy_or_spill(iter_tree_json(roots), lambda: _opener(target))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert copied.text is None and copied.path == target
    assert copied.size == target.stat().st_size > CLIPBOARD_LIMIT
    assert target.read_text(encoding="utf-8") == tree_json(roots)
    # the clipboard's share and one small frame per level of depth, never the whole text
    assert peak < 2 * CLIPBOARD_LIMIT + 300 * 10_000


def test_a_lone_surrogate_is_copied_as_a_replacement_character(tmp_path: Path) -> None:
    copied = copy_or_spill(["\ud800"], lambda: _opener(tmp_path / "x.json"))
    assert copied.text == "\ufffd"


@pytest.fixture
def chain_store(tmp_path: Path) -> Path:
    """A store holding one 3,000-deep chain, imported from OTLP JSON."""
    spans = [
        {
            "traceId": "a" * 32,
            "spanId": f"{i + 1:016x}",
            "name": f"step {i}",
            "startTimeUnixNano": str(1_700_000_000_000_000_000 + i),
            "endTimeUnixNano": str(1_700_000_000_000_000_000 + i + 1000),
            **({"parentSpanId": f"{i:016x}"} if i else {}),
        }
        for i in range(3_000)
    ]
    file = tmp_path / "chain.json"
    file.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}))
    store = tmp_path / "store.db"
    assert main(["import", str(file), "--store", str(store), "--create"]) == 0
    return store


def test_trace_json_is_compact_when_piped(
    chain_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["trace", "a" * 16, "--store", str(chain_store), "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.count('"span_id"') == 3_000
    assert len(out) < 250 * 3_000


def test_trace_json_is_indented_with_a_cap_at_a_terminal(
    chain_store: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    assert main(["trace", "a" * 16, "--store", str(chain_store), "--json"]) == 0
    out = terminal.getvalue()
    assert out.count("\n") > 3_000
    assert len(out) < 1_000 * 3_000  # indented in full it was ~6,000 spaces a line at the end
