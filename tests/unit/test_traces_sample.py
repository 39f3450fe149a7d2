"""The sample trace generator, and the headless `traces` / `trace` commands over its output."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from evaltui.cli.traces import main
from evaltui.services.ingest.sample import write_sample_traces
from tests.storebuilder import StoreBuilder


@pytest.fixture
def sampled(builder: StoreBuilder) -> tuple[Path, list[str], list[str]]:
    suite = builder.suite("qa")
    runs = [
        builder.run(suite, "gpt-x"),
        builder.run(suite, "claude-y", started_at=1_795_000_100_000),
    ]
    cases = [
        builder.case(
            run,
            i,
            scores={"exact": 1.0 if i % 3 else 0.0},
            error='{"message":"t"}' if i == 5 else None,
        )
        for run in runs
        for i in range(10)
    ]
    return builder.path, runs, cases


def q(db_path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db_path) as db:
        return db.execute(sql, params).fetchall()


def test_every_case_gets_a_linked_trace_and_one_has_10000_spans(
    sampled: tuple[Path, list[str], list[str]],
) -> None:
    store, runs, cases = sampled
    stats = write_sample_traces(store, runs)
    assert stats.traces == 20
    assert sorted(row[0] for row in q(store, "SELECT case_id FROM evaltui_traces")) == sorted(cases)
    [(span_count, errors, name, case_id)] = q(
        store,
        "SELECT span_count, error_count, name, case_id FROM evaltui_traces WHERE trace_id = ?",
        (stats.big_trace_id,),
    )
    assert (span_count, case_id) == (10_000, cases[0]) and 90 <= errors <= 120
    assert name == "orchestrator (10000 spans)"
    children = Counter(
        parent
        for (parent,) in q(
            store, "SELECT parent_id FROM evaltui_spans WHERE trace_id = ?", (stats.big_trace_id,)
        )
    )
    assert sorted(children.values())[-2:] == [1000, 5000]
    kinds = dict(q(store, "SELECT kind, COUNT(*) FROM evaltui_spans GROUP BY kind"))
    assert set(kinds) == {"agent", "llm", "tool", "retriever", "chain"}
    assert q(store, "SELECT COUNT(*) FROM evaltui_span_scores WHERE success = 0")[0][0] > 0
    assert q(store, "SELECT COUNT(*) FROM evaltui_spans WHERE status = 'error'")[0][0] > errors
    assert q(store, "PRAGMA foreign_key_check") == [] and q(store, "PRAGMA integrity_check") == [
        ("ok",)
    ]


def test_a_small_case_trace_has_the_documented_shape(
    sampled: tuple[Path, list[str], list[str]],
) -> None:
    store, runs, cases = sampled
    write_sample_traces(store, runs[1:], big_trace_spans=0)
    [(trace_id,)] = q(store, "SELECT trace_id FROM evaltui_traces WHERE case_id = ?", (cases[13],))
    spans = q(
        store,
        "SELECT kind, name, status FROM evaltui_spans WHERE trace_id = ?"
        " ORDER BY start_ns, span_id",
        (trace_id,),
    )
    assert spans == [
        ("agent", "invoke_agent qa-agent", "ok"),
        ("llm", "chat claude-y", "ok"),
        ("tool", "execute_tool search", "ok"),
        ("retriever", "retrieve docs", "ok"),
        ("tool", "execute_tool calculator", "error"),  # idx 3: every 7th case from 3
        ("llm", "chat claude-y", "ok"),
    ]
    [(errored,)] = q(store, "SELECT trace_id FROM evaltui_traces WHERE case_id = ?", (cases[15],))
    assert q(
        store,
        "SELECT error FROM evaltui_spans WHERE trace_id = ? AND parent_id IS NULL",
        (errored,),
    ) == [("Error: t",)]


def test_the_same_seed_gives_the_same_traces(builder: StoreBuilder, tmp_path: Path) -> None:
    run = builder.run(builder.suite("s"), "m")
    builder.case(run, 0)
    builder.close()
    copy = tmp_path / "copy.db"
    copy.write_bytes(builder.path.read_bytes())
    first = write_sample_traces(builder.path, [run], big_trace_spans=50)
    second = write_sample_traces(copy, [run], big_trace_spans=50)
    assert first.big_trace_id == second.big_trace_id
    sql = "SELECT trace_id, span_id, parent_id, name, start_ns FROM evaltui_spans ORDER BY id"
    assert q(builder.path, sql) == q(copy, sql)


def test_traces_and_trace_commands(
    sampled: tuple[Path, list[str], list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    store, runs, cases = sampled
    stats = write_sample_traces(store, runs, big_trace_spans=120)
    assert stats.big_trace_id is not None
    assert main(["traces", "--store", str(store), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) == 20 and {t["case_id"] for t in listed} == set(cases)
    assert main(["traces", "--store", str(store), "--run", runs[1], "--json"]) == 0
    assert {t["run_id"] for t in json.loads(capsys.readouterr().out)} == {runs[1]}
    assert main(["traces", "--store", str(store), "--case", cases[3], "--json"]) == 0
    assert [t["case_idx"] for t in json.loads(capsys.readouterr().out)] == [3]
    assert main(["traces", "--store", str(store)]) == 0
    assert "TRACE" in capsys.readouterr().out

    assert main(["trace", stats.big_trace_id[:10], "--store", str(store), "--json"]) == 0
    tree = json.loads(capsys.readouterr().out)
    assert tree["name"] == "invoke_agent orchestrator" and tree["parent_id"] is None
    count, stack = 0, [tree]
    while stack:
        node = stack.pop()
        count += 1
        assert set(node) == {
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
        }
        stack.extend(node["children"])
    assert count == 120

    assert main(["trace", cases[12], "--store", str(store)]) == 0  # by case id, as text
    text = capsys.readouterr().out.splitlines()
    assert "case #2" in text[0] and text[1].startswith("agent     invoke_agent qa-agent")
    assert "[exact 1.00 pass]" in text[1]
    assert main(["trace", "nope-nope", "--store", str(store)]) == 2
    assert "no trace or case matches 'nope-nope'" in capsys.readouterr().err


def test_read_commands_on_a_store_without_traces(
    builder: StoreBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["traces", "--store", str(builder.path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["trace", "abcd", "--store", str(builder.path)]) == 2
    assert "add some with `evaltui import FILE`" in capsys.readouterr().err
    tables = q(builder.path, "SELECT name FROM sqlite_master WHERE name LIKE 'evaltui%'")
    assert tables == []
