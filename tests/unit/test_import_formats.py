"""OTLP/JSON variants, case linking, streaming, bad files and the `import` command."""

from __future__ import annotations

import base64
import copy
import io
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evaltui.cli.traces import main
from evaltui.services.ingest.importer import ImportFailure, import_file, iter_items
from evaltui.store.errors import StoreError
from evaltui.store.writer import LinkOptions, StoreWriter
from evaltui.traces.jsonstream import JsonStream, JsonSyntaxError
from evaltui.traces.models import SpanRecord
from evaltui.traces.otlp import records_from_document
from tests.conftest import FIXTURES
from tests.shared import require_shared
from tests.storebuilder import StoreBuilder

OTLP_JSON = FIXTURES / "otlp" / "otel_agent_trace.otlp.json"
TRACE = "6387bc8f098117e37ca238db1174e22b"


@pytest.fixture
def doc() -> dict[str, Any]:
    require_shared(OTLP_JSON)
    loaded: dict[str, Any] = json.loads(OTLP_JSON.read_text())
    return loaded


@pytest.fixture
def store(builder: StoreBuilder) -> Iterator[Path]:
    suite = builder.suite("qa")
    run = builder.run(suite, "gpt")
    for idx, question in enumerate(["Weather in Paris?", "Weather in Rome?", "2+2?"]):
        builder.case(run, idx, input={"input": question, "expected": "x"}, scores={"exact": 1.0})
    with StoreWriter.open(builder.path) as writer:
        writer.ensure_schema()
    yield builder.path


def write(tmp_path: Path, name: str, value: Any, *, lines: bool = False) -> Path:
    path = tmp_path / name
    if lines:
        path.write_text("\n".join(json.dumps(item) for item in value) + "\n")
    else:
        path.write_text(json.dumps(value, indent=2))
    return path


def imported(store: Path, path: Path, link: LinkOptions | None = None) -> Any:
    with StoreWriter.open(store) as writer:
        writer.ensure_schema()
        return import_file(writer, path, link=link)


def q(db_path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db_path) as db:
        return db.execute(sql, params).fetchall()


def spans_of(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for rs in doc["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]


def fields(records: list[SpanRecord]) -> list[tuple[Any, ...]]:
    return sorted(
        (
            r.trace_id,
            r.span_id,
            r.parent_id,
            r.kind,
            r.name,
            r.start_ns,
            r.end_ns,
            r.status,
            r.error,
            r.model,
            r.tokens_in,
            r.tokens_out,
            r.input,
            r.output,
        )
        for r in records
    )


# -- format variants ----------------------------------------------------------------------


def test_base64_ids_named_enums_and_snake_case_give_the_same_spans(doc: dict[str, Any]) -> None:
    reference = fields(list(records_from_document(doc)))
    variant = copy.deepcopy(doc)
    for span in spans_of(variant):
        for key in ("traceId", "spanId", "parentSpanId"):
            if key in span:
                span[key] = base64.b64encode(bytes.fromhex(span[key])).decode()
        span["kind"] = {1: "SPAN_KIND_INTERNAL", 3: "SPAN_KIND_CLIENT"}[span["kind"]]
        if span["status"].get("code") == 2:
            span["status"]["code"] = "STATUS_CODE_ERROR"
        span["startTimeUnixNano"] = int(span["startTimeUnixNano"])  # a number, not a string
    assert fields(list(records_from_document(variant))) == reference
    snake = json.loads(
        json.dumps(doc)
        .replace('"resourceSpans"', '"resource_spans"')
        .replace('"scopeSpans"', '"scope_spans"')
        .replace('"traceId"', '"trace_id"')
        .replace('"spanId"', '"span_id"')
        .replace('"parentSpanId"', '"parent_span_id"')
        .replace('"startTimeUnixNano"', '"start_time_unix_nano"')
        .replace('"stringValue"', '"string_value"')
        .replace('"intValue"', '"int_value"')
    )
    assert fields(list(records_from_document(snake))) == reference


def any_value(value: Any) -> dict[str, Any]:
    """A Python value as an OTLP AnyValue, as the SDK encodes structured attributes."""
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, list):
        return {"arrayValue": {"values": [any_value(v) for v in value]}}
    return {
        "kvlistValue": {"values": [{"key": k, "value": any_value(v)} for k, v in value.items()]}
    }


def test_structured_attribute_values_equal_json_strings(doc: dict[str, Any]) -> None:
    reference = fields(list(records_from_document(doc)))
    variant = copy.deepcopy(doc)
    for span in spans_of(variant):
        for attribute in span["attributes"]:
            text = attribute["value"].get("stringValue", "")
            if text.startswith(("[", "{")):
                attribute["value"] = any_value(json.loads(text))
    assert fields(list(records_from_document(variant))) == reference


def otlp_doc(spans: list[dict[str, Any]], resource: dict[str, Any] | None = None) -> dict[str, Any]:
    attributes = [{"key": k, "value": any_value(v)} for k, v in (resource or {}).items()]
    return {
        "resourceSpans": [
            {"resource": {"attributes": attributes}, "scopeSpans": [{"spans": spans}]}
        ]
    }


def make_span(
    span_id: str, parent: str | None = None, attributes: dict[str, Any] | None = None
) -> dict[str, Any]:
    span: dict[str, Any] = {
        "traceId": "0af7651916cd43dd8448eb211c80319c",
        "spanId": span_id,
        "name": f"span {span_id[-2:]}",
        "kind": 1,
        "startTimeUnixNano": str(1_700_000_000_000_000_000 + int(span_id, 16)),
        "endTimeUnixNano": str(1_700_000_000_000_000_000 + int(span_id, 16) + 5),
        "attributes": [{"key": k, "value": any_value(v)} for k, v in (attributes or {}).items()],
    }
    if parent:
        span["parentSpanId"] = parent
    return span


def test_genai_mapping_legacy_tokens_and_evaluation_events() -> None:
    llm = make_span(
        "00000000000000a1",
        attributes={
            "gen_ai.operation.name": "text_completion",
            "gen_ai.request.model": "m-1",
            "gen_ai.usage.prompt_tokens": "12",
            "gen_ai.usage.completion_tokens": 3.0,
            "gen_ai.prompt": "say hi",
            "gen_ai.completion": '{"text": "hi"}',
        },
    )
    llm["events"] = [
        {
            "name": "gen_ai.evaluation.result",
            "timeUnixNano": "1",
            "attributes": [
                {"key": "gen_ai.evaluation.name", "value": {"stringValue": "relevance"}},
                {"key": "gen_ai.evaluation.score.value", "value": {"doubleValue": 0.25}},
                {"key": "gen_ai.evaluation.score.label", "value": {"stringValue": "fail"}},
                {"key": "gen_ai.evaluation.explanation", "value": {"stringValue": "off topic"}},
            ],
        }
    ]
    kinds = {
        "00000000000000a2": {"gen_ai.operation.name": "embeddings"},
        "00000000000000a3": {"gen_ai.operation.name": "retrieval"},
        "00000000000000a4": {"gen_ai.operation.name": "invoke_workflow"},
        "00000000000000a5": {"openinference.span.kind": "TOOL", "input.value": "x"},
        "00000000000000a6": {"traceloop.span.kind": "agent"},
        "00000000000000a7": {"http.method": "GET"},
    }
    spans = [llm] + [make_span(sid, attributes=attrs) for sid, attrs in kinds.items()]
    records = {r.span_id: r for r in records_from_document(otlp_doc(spans))}
    first = records["00000000000000a1"]
    assert (first.kind, first.model, first.tokens_in, first.tokens_out) == ("llm", "m-1", 12, 3)
    assert (first.input, first.output) == ('"say hi"', '{"text":"hi"}')
    [score] = first.scores
    assert (score.name, score.score, score.passed, score.reason) == (
        "relevance",
        0.25,
        False,
        "off topic",
    )
    assert [records[sid].kind for sid in kinds] == [
        "embedding",
        "retriever",
        "chain",
        "tool",
        "agent",
        "custom",
    ]
    assert records["00000000000000a5"].input == '"x"'


def test_resource_after_scope_spans_still_applies(tmp_path: Path, store: Path) -> None:
    document = otlp_doc([make_span("00000000000000b1")], {"evals.case_id": "nope"})
    group = document["resourceSpans"][0]
    document["resourceSpans"][0] = {
        "scopeSpans": group["scopeSpans"],
        "resource": group["resource"],
    }
    imported(store, write(tmp_path, "late.json", document))
    assert q(store, "SELECT case_id FROM evaltui_traces") == [("nope",)]


# -- linking to cases ---------------------------------------------------------------------


def case_ids(store: Path) -> list[str]:
    return [row[0] for row in q(store, "SELECT id FROM cases ORDER BY idx")]


def test_evals_case_id_on_a_span_or_the_resource_links_the_trace(
    tmp_path: Path, store: Path
) -> None:
    ids = case_ids(store)
    by_resource = otlp_doc([make_span("00000000000000c1")], {"evals.case_id": ids[1]})
    by_span = otlp_doc([make_span("00000000000000c2", attributes={"evals.case_id": ids[2]})])
    by_span["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"] = "1" * 32
    result = imported(store, write(tmp_path, "a.jsonl", [by_resource, by_span], lines=True))
    assert result.linked == 2
    assert sorted(q(store, "SELECT case_id, case_idx FROM evaltui_traces")) == sorted(
        [(ids[1], 1), (ids[2], 2)]
    )


def test_match_by_index_with_run(tmp_path: Path, store: Path) -> None:
    run_id = q(store, "SELECT id FROM runs")[0][0]
    document = otlp_doc([make_span("00000000000000d1", attributes={"evals.case_idx": 2})])
    result = imported(store, write(tmp_path, "i.json", document), LinkOptions(run_id, "idx"))
    assert result.linked == 1
    assert q(store, "SELECT case_id, run_id, case_idx FROM evaltui_traces") == [
        (case_ids(store)[2], run_id, 2)
    ]


def test_match_by_input_uses_the_root_span_input(tmp_path: Path, store: Path) -> None:
    run_id = q(store, "SELECT id FROM runs")[0][0]
    messages = json.dumps(
        [{"role": "user", "parts": [{"type": "text", "content": "Weather in Rome?"}]}]
    )
    root = make_span("00000000000000e1", attributes={"gen_ai.input.messages": messages})
    child = make_span("00000000000000e2", "00000000000000e1", attributes={"input.value": "2+2?"})
    result = imported(
        store, write(tmp_path, "m.json", otlp_doc([child, root])), LinkOptions(run_id, "input")
    )
    assert result.linked == 1
    assert q(store, "SELECT case_id, case_idx FROM evaltui_traces") == [(case_ids(store)[1], 1)]


def test_run_and_index_link_once_the_case_is_written(tmp_path: Path, builder: StoreBuilder) -> None:
    run_id = builder.run(builder.suite("live"), "m")
    attrs = {"evals.run_id": run_id, "evals.case_idx": 0}
    imported(
        builder.path,
        write(tmp_path, "live.json", otlp_doc([make_span("00000000000000f1", attributes=attrs)])),
    )
    assert q(builder.path, "SELECT case_id, run_id, case_idx FROM evaltui_traces") == [
        (None, run_id, 0)
    ]
    case_id = builder.case(run_id, 0)  # the engine writes the case after its task ran
    early = otlp_doc([make_span("00000000000000f2", attributes={"evals.case_id": "later"})])
    early["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"] = "2" * 32
    imported(builder.path, write(tmp_path, "early.json", early))
    builder.db.execute("UPDATE cases SET id = 'later' WHERE id = ?", (case_id,))
    builder.db.commit()
    with StoreWriter.open(builder.path) as writer:
        assert writer.link_pending() == 2
    assert sorted(q(builder.path, "SELECT case_id, run_id, case_idx FROM evaltui_traces")) == [
        ("later", run_id, 0),
        ("later", run_id, 0),
    ]


def test_links_to_cases_not_in_the_store_are_listed_as_unlinked_and_named(
    tmp_path: Path, store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id = q(store, "SELECT id FROM runs")[0][0]
    missing_id = otlp_doc([make_span("00000000000000a7", attributes={"evals.case_id": "ghost"})])
    pending = otlp_doc(
        [make_span("00000000000000a8", attributes={"evals.run_id": run_id, "evals.case_idx": 9})]
    )
    pending["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"] = "3" * 32
    linked = otlp_doc(
        [make_span("00000000000000a9", attributes={"evals.case_id": case_ids(store)[0]})]
    )
    linked["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"] = "4" * 32
    imported(store, write(tmp_path, "l.jsonl", [missing_id, pending, linked], lines=True))
    capsys.readouterr()
    assert main(["traces", "--store", str(store)]) == 0
    listing = capsys.readouterr().out
    assert "#None" not in listing
    assert "ghost (not in the store)" in listing
    assert f"#9 of run {run_id[:8]} (not in the store)" in listing
    assert f"#0 {case_ids(store)[0][:8]}" in listing
    assert main(["traces", "--unlinked", "--store", str(store), "--json"]) == 0
    unlinked = json.loads(capsys.readouterr().out)
    assert sorted(trace["trace_id"][:1] for trace in unlinked) == ["0", "3"]
    assert not any(trace["case_found"] for trace in unlinked)


# -- streaming ------------------------------------------------------------------------------


def stream_records(text: str, chunk: int) -> list[Any]:
    stream = JsonStream(io.BytesIO(text.encode()), chunk_chars=chunk)
    return list(iter_items(stream))


@pytest.mark.parametrize("chunk", [1, 7, 64, 4096])
def test_small_chunks_give_the_same_spans(doc: dict[str, Any], chunk: int) -> None:
    reference = fields(list(records_from_document(doc)))
    pretty = json.dumps(doc, indent=3)
    compact = json.dumps(doc) + "\n" + json.dumps(doc)  # JSON lines
    assert fields(stream_records(pretty, chunk)) == reference
    assert fields(stream_records(compact, chunk)) == sorted(reference * 2)
    assert fields(stream_records("\ufeff" + pretty, chunk)) == reference  # a UTF-8 BOM


def test_a_value_larger_than_the_limit_fails_instead_of_growing() -> None:
    text = '{"resourceSpans": [{"scopeSpans": [{"spans": [' + json.dumps({"name": "x" * 5000})
    stream = JsonStream(io.BytesIO(text.encode()), chunk_chars=16, max_value_chars=1000)
    with pytest.raises(JsonSyntaxError, match="larger than"):
        list(iter_items(stream))


# -- bad files: nothing is written, and the message says where -------------------------------


def table_counts(db_path: Path) -> list[tuple[Any, ...]]:
    tables = [
        "suites",
        "runs",
        "cases",
        "scores",
        "evaltui_traces",
        "evaltui_spans",
        "evaltui_imports",
    ]
    return [q(db_path, f"SELECT COUNT(*) FROM {table}")[0] for table in tables]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "holds no JSON"),
        (
            '{"resourceSpans": [\n  {"scopeSpans": [{"spans": [\n    {"name": 1,}',
            "line 3, column 16",
        ),
        ("[1, 2]", "line 1: expected a JSON object"),
        ('{"hello": 1}', "keys: hello"),
        ("{\n\n", "line 3"),
    ],
)
def test_bad_json_is_reported_with_its_line(
    tmp_path: Path, store: Path, content: str, message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with StoreWriter.open(store) as writer:
        writer.ensure_schema()
        with pytest.raises(ImportFailure, match=message) as caught:
            import_file(writer, path)
    assert str(path) in str(caught.value) and "nothing was imported" in str(caught.value)


def test_a_bad_span_late_in_a_file_rolls_back_the_whole_file(
    tmp_path: Path, store: Path, doc: dict[str, Any]
) -> None:
    imported(store, write(tmp_path, "first.json", otlp_doc([make_span("0000000000000a01")])))
    before = table_counts(store)
    bad = copy.deepcopy(doc)
    spans_of(bad)[3]["spanId"] = "not-an-id"
    path = write(tmp_path, "bad.json", bad)
    with pytest.raises(ImportFailure) as caught:
        imported(store, path)
    text = str(caught.value)
    opening = [n for n, t in enumerate(path.read_text().splitlines(), 1) if t == " " * 12 + "{"]
    assert len(opening) == 5  # the line where each span's object starts
    assert f"line {opening[3]}: resourceSpans[0].scopeSpans[0].spans[3].spanId:" in text
    assert "'not-an-id'" in text
    assert table_counts(store) == before


def test_a_bad_deepeval_field_names_its_path(tmp_path: Path, store: Path) -> None:
    run = {
        "testCases": [
            {"name": "a", "input": "q", "trace": {"uuid": "t", "llmSpans": [{"name": "x"}]}}
        ]
    }
    before = table_counts(store)
    with pytest.raises(ImportFailure, match=r"testCases\[0\]\.trace\.llmSpans\[0\]\.uuid: missing"):
        imported(store, write(tmp_path, "de.json", run))
    assert table_counts(store) == before


# -- the command ----------------------------------------------------------------------------


def test_import_command_json_output_and_exit_codes(
    tmp_path: Path, store: Path, doc: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    good = write(tmp_path, "good.json", doc)
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    before = table_counts(store)
    missing = str(tmp_path / "missing.json")
    assert main(["import", str(good), missing, "--store", str(store)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and f"no such file: {missing} (nothing was imported)" in err
    assert table_counts(store) == before  # inputs are checked before anything is written
    code = main(["import", str(good), str(bad), "--store", str(store), "--json"])
    out, err = capsys.readouterr()
    assert code == 2
    assert json.loads(out)["spans"] == 5
    assert err.count("evaltui: error: ") == 1 and "line 1, column 2" in err
    assert main(["import", str(good), "--store", str(store)]) == 0
    assert "already imported" in capsys.readouterr().out
    assert main(["import", str(good), "--store", str(store), "--match", "idx"]) == 2
    assert "--match needs --run" in capsys.readouterr().err
    assert main(["import", str(good), "--store", str(store), "--run", "zzzz"]) == 2
    assert "no run matches 'zzzz'" in capsys.readouterr().err


def test_import_creates_a_new_store_that_the_app_can_open(
    tmp_path: Path, doc: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "new" / "store.db"
    target.parent.mkdir()
    trace_file = str(write(tmp_path, "t.json", doc))
    assert main(["import", trace_file, "--store", str(target)]) == 2  # a mistyped --store
    assert "pass --create to make one" in capsys.readouterr().err
    assert not target.exists()
    assert main(["import", trace_file, "--store", str(target), "--create"]) == 0
    assert "created a new store" in capsys.readouterr().err
    assert q(target, "PRAGMA journal_mode") == [("wal",)]
    assert {row[0] for row in q(target, "SELECT name FROM sqlite_master WHERE type='table'")} >= {
        "suites",
        "runs",
        "cases",
        "scores",
        "prompts",
        "evaltui_spans",
    }


def test_writer_refuses_a_database_that_is_not_a_runstore(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE notes (x)")
    with pytest.raises(StoreError, match="not a complete @deepagents/evals RunStore"):
        StoreWriter.open(other)
    assert q(other, "SELECT name FROM sqlite_master") == [("notes",)]


def test_the_import_line_counts_in_words_that_agree() -> None:
    from evaltui.services.ingest.importer import ImportResult

    one = ImportResult(path=Path("t.json"), format="otlp", traces=1, spans=1, linked=1)
    assert one.describe() == "t.json (otlp): 1 span in 1 new trace, 1 trace linked to cases"
    many = ImportResult(path=Path("t.json"), format="otlp", traces=2, spans=9604, duplicates=3)
    assert many.describe() == "t.json (otlp): 9,604 spans in 2 new traces, 3 spans already stored"
