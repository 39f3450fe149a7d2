"""`evaltui import` of the files written by the real tools (../shared/fixtures/deepeval, otlp).

Every span, parent and score of each file is checked against the file itself, and the
values spot-checked below were read off the files by hand.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evaltui.core.timefmt import iso_to_ns
from evaltui.services.ingest.importer import ImportFailure, ImportResult, import_file
from evaltui.store import RunStore
from evaltui.store import traces as queries
from evaltui.store.writer import StoreWriter
from tests.conftest import FIXTURES
from tests.shared import require_shared

DEEPEVAL = FIXTURES / "deepeval"
OTLP = FIXTURES / "otlp"
WITH_TRACES = "deepeval_test_run_with_traces.json"
E2E = "deepeval_test_run_e2e.json"
DOT_LATEST = "deepeval_dot_latest_test_run.json"
LOCAL_STORE = "deepeval_local_store.db"
OTLP_JSON = "otel_agent_trace.otlp.json"
OTLP_JSONL = "otel_agent_trace.otlp.jsonl"
SDK_JSONL = "otel_agent_trace.sdk_to_json.jsonl"
TRACE = "6387bc8f098117e37ca238db1174e22b"
SPAN_LISTS = ("baseSpans", "agentSpans", "llmSpans", "retrieverSpans", "toolSpans")


@pytest.fixture
def fixture_copy(tmp_path: Path) -> Iterator[Any]:
    """Copy a fixture into tmp (never write next to the originals)."""
    require_shared(DEEPEVAL)

    def copy(folder: Path, name: str) -> Path:
        target = tmp_path / "in" / name
        target.parent.mkdir(exist_ok=True)
        shutil.copy(folder / name, target)
        return target

    yield copy


@pytest.fixture
def writer(real_store: Path) -> Iterator[StoreWriter]:
    opened = StoreWriter.open(real_store)
    opened.ensure_schema()
    yield opened
    opened.close()


def rows(db_path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db_path) as db:
        return db.execute(sql, params).fetchall()


def span_rows(db_path: Path, trace_id: str) -> dict[str, dict[str, Any]]:
    """Every stored span of a trace with its payload and scores, keyed by span id."""
    out: dict[str, dict[str, Any]] = {}
    with sqlite3.connect(db_path) as db:
        db.row_factory = sqlite3.Row
        for row in db.execute(
            """SELECT s.*, p.input, p.output, p.attributes, p.events FROM evaltui_spans s
               JOIN evaltui_span_payloads p ON p.span_pk = s.id WHERE s.trace_id = ?""",
            (trace_id,),
        ):
            span = dict(row)
            span["scores"] = [
                dict(score)
                for score in db.execute(
                    "SELECT name, score, threshold, success, reason, evaluation_model, error"
                    " FROM evaltui_span_scores WHERE span_pk = ? ORDER BY id",
                    (row["id"],),
                )
            ]
            out[span["span_id"]] = span
    return out


# -- DeepEval -------------------------------------------------------------------------------


def raw_spans(trace: dict[str, Any]) -> list[dict[str, Any]]:
    return [span for name in SPAN_LISTS for span in trace.get(name) or []]


def check_deepeval_traces(db_path: Path, run_id: str, test_run: dict[str, Any]) -> int:
    """Every test case's trace, span, parent and span score, against the file."""
    cases = rows(db_path, "SELECT id, idx FROM cases WHERE run_id = ? ORDER BY idx", (run_id,))
    checked = 0
    ordered = sorted(test_run["testCases"], key=lambda case: case["order"])
    for (case_id, idx), raw_case in zip(cases, ordered, strict=True):
        trace = raw_case["trace"]
        stored_trace = rows(
            db_path,
            "SELECT case_id, run_id, case_idx, name, span_count, source FROM evaltui_traces"
            " WHERE trace_id = ?",
            (trace["uuid"],),
        )
        assert stored_trace == [
            (case_id, run_id, idx, trace["name"], len(raw_spans(trace)), "deepeval")
        ]
        stored = span_rows(db_path, trace["uuid"])
        assert set(stored) == {span["uuid"] for span in raw_spans(trace)}
        for raw in raw_spans(trace):
            span = stored[raw["uuid"]]
            assert span["parent_id"] == raw.get("parentUuid")
            assert span["name"] == raw["name"]
            assert span["kind"] == {"base": "custom"}.get(raw["type"], raw["type"])
            assert span["status"] == {"SUCCESS": "ok", "ERRORED": "error"}[raw["status"]]
            assert span["error"] == raw.get("error")
            assert span["start_ns"] == iso_to_ns(raw["startTime"])
            assert span["end_ns"] == iso_to_ns(raw["endTime"])
            assert span["model"] == raw.get("model")
            assert span["tokens_in"] == (
                int(raw["inputTokenCount"]) if "inputTokenCount" in raw else None
            )
            assert json.loads(span["input"]) == raw.get("input")
            assert (span["output"] and json.loads(span["output"])) == raw.get("output")
            assert [
                (s["name"], s["score"], s["threshold"], bool(s["success"]), s["reason"])
                for s in span["scores"]
            ] == [
                (m["name"], m["score"], m["threshold"], m["success"], m["reason"])
                for m in raw.get("metricsData") or []
            ]
            checked += 1
    return checked


def test_deepeval_component_run_becomes_a_run_with_traces(
    writer: StoreWriter, fixture_copy: Any, real_store: Path
) -> None:
    path = fixture_copy(DEEPEVAL, WITH_TRACES)
    result = import_file(writer, path)
    assert (result.format, result.cases, result.traces, result.spans) == ("deepeval", 2, 2, 9)
    assert result.linked == 2 and result.run_id is not None
    test_run = json.loads(path.read_text())
    assert check_deepeval_traces(real_store, result.run_id, test_run) == 9

    [(suite_id, name, model, config, started, finished, status, summary)] = rows(
        real_store,
        "SELECT suite_id, name, model, config, started_at, finished_at, status, summary"
        " FROM runs WHERE id = ?",
        (result.run_id,),
    )
    assert rows(real_store, "SELECT name, created_at FROM suites WHERE id = ?", (suite_id,)) == [
        ("deepeval", started)
    ]
    assert (name, model, status) == ("deepeval [fake-model-1]", "fake-model-1", "completed")
    assert json.loads(config) == {"source": "deepeval", "file": WITH_TRACES, "threshold": 0.5}
    assert started == iso_to_ns("2026-11-21T22:42:35.790Z") // 1_000_000
    assert finished - started == 25  # runDuration 0.0246 s
    assert json.loads(summary) == {
        "totalCases": 2,
        "passCount": 1,
        "failCount": 1,
        "meanScores": {"Contains Expected [agent]": 0.5},
        "totalLatencyMs": 0,
        "totalTokensIn": 84,
        "totalTokensOut": 14,
    }
    cases = rows(
        real_store,
        "SELECT id, idx, input, output, expected, latency_ms, tokens_in, tokens_out, error"
        " FROM cases WHERE run_id = ? ORDER BY idx",
        (result.run_id,),
    )
    assert [case[1:] for case in cases] == [
        (
            0,
            '{"input":"What is the capital of France?","name":"test_case_1"}',
            "The capital is Paris.",
            None,
            0,
            42,
            7,
            None,
        ),
        (1, '{"input":"What is 2+2?","name":"test_case_2"}', "5", None, 0, 42, 7, None),
    ]
    scores = [
        rows(real_store, "SELECT scorer_name, score, reason FROM scores WHERE case_id = ?", (c[0],))
        for c in cases
    ]
    assert scores == [
        [("Contains Expected [agent]", 1.0, "expected 'Paris' found in output")],
        [("Contains Expected [agent]", 0.0, "expected '4' not found in output")],
    ]
    spans = span_rows(real_store, "780feddc-c1ea-4b7c-bb0d-df22f3d6326f")
    llm = spans["6feab0ec-5190-42a8-8ee9-2e5b41ae1850"]
    assert (llm["kind"], llm["model"], llm["tokens_in"], llm["tokens_out"]) == (
        "llm",
        "fake-model-1",
        42,
        7,
    )
    assert llm["cost"] == pytest.approx(42 * 3e-06 + 7 * 1.5e-05)
    retriever = json.loads(spans["c45cb5cf-2e93-47ce-9702-a66927e70db6"]["attributes"])
    assert retriever == {
        "type": "retriever",
        "embedder": "fake-embedder",
        "topK": 1,
        "chunkSize": 256,
    }
    broken = spans["c9851a9d-862e-4d54-8f3b-cf2c2b7812ae"]
    assert (broken["kind"], broken["status"], broken["error"]) == (
        "custom",
        "error",
        "simulated failure",
    )
    agent = spans["82b3131a-3d22-4523-bd7f-56a8b3dfa328"]
    assert agent["parent_id"] is None and agent["scores"][0]["evaluation_model"] == "deterministic"


async def test_deepeval_run_reads_back_through_the_runstore(
    writer: StoreWriter, fixture_copy: Any, real_store: Path
) -> None:
    result = import_file(writer, fixture_copy(DEEPEVAL, WITH_TRACES))
    assert result.run_id is not None
    store = await RunStore.open(real_store)
    try:
        run = await store.get_run(result.run_id)
        assert run.summary == await store.run_summary(run.id, run.threshold)  # getRunSummary
        failing = await store.failing_cases(run.id, run.threshold)
        assert [case.idx for case in failing] == [1]
        [case_id] = [case.case_id for case in failing]
        [trace] = await queries.traces_for_case(store, case_id)
        assert (trace.trace_id, trace.error_count, trace.failed_score_count) == (
            "c1243475-af6d-402d-ab4c-28fb664949bc",
            1,
            1,
        )
        roots = await queries.trace_tree(store, trace.trace_id)
        assert [r.span.name for r in roots] == ["agent"]
        assert sorted(c.span.name for c in roots[0].children) == [
            "broken_step",
            "call_llm",
            "retrieve",
        ]
    finally:
        await store.close()


def test_deepeval_end_to_end_run_has_case_scores_and_no_traces(
    writer: StoreWriter, fixture_copy: Any, real_store: Path
) -> None:
    result = import_file(writer, fixture_copy(DEEPEVAL, E2E))
    assert (result.cases, result.traces, result.spans) == (2, 0, 0)
    [(name, started, finished, summary)] = rows(
        real_store,
        "SELECT name, started_at, finished_at, summary FROM runs WHERE id = ?",
        (result.run_id,),
    )
    assert name == "deepeval [deepeval]" and finished - started == 86
    assert json.loads(summary) == {
        "totalCases": 2,
        "passCount": 1,
        "failCount": 1,
        "meanScores": {"Contains Expected": 0.5},
        "totalLatencyMs": 48,
        "totalTokensIn": 0,
        "totalTokensOut": 0,
    }
    cases = rows(
        real_store,
        "SELECT c.idx, c.input, c.output, c.expected, c.latency_ms, s.scorer_name, s.score,"
        " s.reason FROM cases c JOIN scores s ON s.case_id = c.id WHERE c.run_id = ?"
        " ORDER BY c.idx",
        (result.run_id,),
    )
    first_input = json.loads(cases[0][1])
    assert first_input == {
        "input": "What is the capital of France?",
        "expected": "Paris",
        "name": "capital-fr",
        "retrievalContext": ["Paris is the capital of France."],
        "toolsCalled": [
            {
                "name": "lookup_capital",
                "type": "FUNCTION",
                "output": "Paris",
                "inputParameters": {"country": "France"},
            }
        ],
        "tags": ["geo"],
        "metadata": {"case_id": "c1"},
    }
    assert cases[0][2:] == (
        "The capital is Paris.",
        '"Paris"',
        28,
        "Contains Expected",
        1.0,
        "expected 'Paris' found in output",
    )
    assert cases[1][2:] == (
        "5",
        '"4"',
        20,
        "Contains Expected",
        0.0,
        "expected '4' not found in output",
    )


def test_dot_latest_wrapper_is_unwrapped(
    writer: StoreWriter, fixture_copy: Any, real_store: Path
) -> None:
    path = fixture_copy(DEEPEVAL, DOT_LATEST)
    result = import_file(writer, path)
    assert (result.cases, result.traces, result.spans) == (2, 2, 9)
    assert result.run_id is not None
    test_run = json.loads(path.read_text())["testRunData"]
    assert check_deepeval_traces(real_store, result.run_id, test_run) == 9


def test_deepeval_local_store_is_imported_from_its_test_runs(
    writer: StoreWriter, fixture_copy: Any, real_store: Path
) -> None:
    path = fixture_copy(DEEPEVAL, LOCAL_STORE)
    result = import_file(writer, path)
    assert (result.format, result.cases, result.traces, result.spans) == (
        "deepeval-sqlite",
        2,
        2,
        9,
    )
    assert result.run_id is not None
    with sqlite3.connect(path) as db:
        test_run = json.loads(db.execute("SELECT payload_json FROM test_runs").fetchone()[0])
    assert check_deepeval_traces(real_store, result.run_id, test_run) == 9
    # .latest_test_run.json holds the very same test run: it is not imported a second time
    again = import_file(writer, fixture_copy(DEEPEVAL, DOT_LATEST))
    assert (again.runs_seen, again.cases, again.spans, again.skipped) == (1, 0, 0, False)
    assert "1 DeepEval run already imported" in again.describe()


def test_a_sqlite_file_that_is_not_a_deepeval_store_is_refused(
    writer: StoreWriter, real_store: Path, tmp_path: Path
) -> None:
    other = tmp_path / "runstore-copy.db"
    shutil.copy(real_store, other)
    with pytest.raises(ImportFailure, match="not a DeepEval local store"):
        import_file(writer, other)


# -- OTLP -----------------------------------------------------------------------------------


def raw_otlp_spans(path: Path) -> list[dict[str, Any]]:
    doc = json.loads(path.read_text())
    return [s for rs in doc["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]


def test_otlp_json_every_span_and_parent(
    writer: StoreWriter, fixture_copy: Any, real_store: Path
) -> None:
    path = fixture_copy(OTLP, OTLP_JSON)
    result = import_file(writer, path)
    assert (result.format, result.traces, result.spans, result.cases) == ("otlp", 1, 5, 0)
    stored = span_rows(real_store, TRACE)
    raw = raw_otlp_spans(path)
    assert set(stored) == {span["spanId"] for span in raw}
    for span in raw:
        row = stored[span["spanId"]]
        assert row["parent_id"] == span.get("parentSpanId")
        assert row["name"] == span["name"]
        assert row["start_ns"] == int(span["startTimeUnixNano"])
        assert row["end_ns"] == int(span["endTimeUnixNano"])
        assert row["status"] == ("error" if span["status"].get("code") == 2 else "unset")
        assert len(json.loads(row["events"])) == len(span.get("events", []))
        assert row["scores"] == []
    by_name = {(row["name"], row["span_id"]): row for row in stored.values()}
    summary = sorted(
        (r["span_id"], r["kind"], r["model"], r["tokens_in"], r["tokens_out"], r["error"])
        for r in by_name.values()
    )
    assert summary == [
        ("2b9c292eef920aed", "llm", "claude-sonnet-4-5", 480, 25, None),
        ("88e9f6ce0be88caf", "tool", None, None, None, None),
        ("ab3e203645470d12", "llm", "claude-sonnet-4-5-20250929", 412, 38, None),
        ("ebbc555745561387", "agent", None, 892, 63, None),
        ("f76e37309ced1860", "tool", None, None, None, "tool timed out"),
    ]
    chat = stored["ab3e203645470d12"]
    assert json.loads(chat["input"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]}
    ]
    assert json.loads(chat["output"])[0]["parts"][0]["arguments"] == {"location": "Paris"}
    attributes = json.loads(chat["attributes"])
    assert attributes["gen_ai.request.max_tokens"] == 1024
    assert attributes["gen_ai.response.finish_reasons"] == ["tool_use"]
    assert attributes["otel.span_kind"] == "client"
    tool = stored["88e9f6ce0be88caf"]
    assert (json.loads(tool["input"]), json.loads(tool["output"])) == (
        {"location": "Paris"},
        {"temp_f": 57, "sky": "rainy"},
    )
    assert json.loads(tool["events"]) == [
        {
            "name": "log",
            "time_ns": 1795300882422200069,
            "attributes": {"message": "called weather API"},
        }
    ]
    broken = json.loads(stored["f76e37309ced1860"]["events"])[0]
    assert broken["name"] == "exception"
    assert broken["attributes"]["exception.type"] == "TimeoutError"
    [(name, start, end, count, errors, attributes_text)] = rows(
        real_store,
        "SELECT name, start_ns, end_ns, span_count, error_count, attributes FROM evaltui_traces",
    )
    assert (name, start, end, count, errors) == (
        "invoke_agent weather_agent",
        1795300882411529223,
        1795300882438370809,
        5,
        1,
    )
    assert json.loads(attributes_text)["service.name"] == "demo-agent"


def skeleton(db_path: Path) -> list[tuple[Any, ...]]:
    return rows(
        db_path,
        "SELECT s.trace_id, s.span_id, s.parent_id, s.kind, s.name, s.status, s.error, s.model,"
        " s.tokens_in, s.tokens_out, p.input, p.output FROM evaltui_spans s"
        " JOIN evaltui_span_payloads p ON p.span_pk = s.id ORDER BY s.span_id",
    )


@pytest.mark.parametrize("name", [OTLP_JSONL, SDK_JSONL])
def test_jsonl_and_sdk_forms_give_the_same_spans(
    name: str, fixture_copy: Any, tmp_path: Path, real_store: Path
) -> None:
    reference = tmp_path / "reference.db"
    other = tmp_path / "other.db"
    for db, file in ((reference, OTLP_JSON), (other, name)):
        with StoreWriter.open(db, create=True) as w:
            w.ensure_schema()
            result = import_file(w, fixture_copy(OTLP, file))
            assert (result.traces, result.spans) == (1, 5)
    assert skeleton(other) == skeleton(reference)
    if name == SDK_JSONL:  # microsecond ISO times: equal to the microsecond
        times = rows(other, "SELECT span_id, start_ns, end_ns FROM evaltui_spans ORDER BY span_id")
        exact = rows(
            reference, "SELECT span_id, start_ns, end_ns FROM evaltui_spans ORDER BY span_id"
        )
        for (a, start, end), (b, start_ref, end_ref) in zip(times, exact, strict=True):
            assert a == b and abs(start - start_ref) < 1000 and abs(end - end_ref) < 1000


def test_importing_twice_adds_nothing(
    writer: StoreWriter, fixture_copy: Any, real_store: Path
) -> None:
    results: list[ImportResult] = []
    for name in (OTLP_JSON, OTLP_JSON, OTLP_JSONL, SDK_JSONL):
        results.append(import_file(writer, fixture_copy(OTLP, name)))
    assert results[1].skipped  # same file (same sha256)
    assert [(r.spans, r.duplicates) for r in (results[2], results[3])] == [(0, 5), (0, 5)]
    assert rows(real_store, "SELECT COUNT(*) FROM evaltui_spans") == [(5,)]
    assert rows(real_store, "SELECT span_count FROM evaltui_traces") == [(5,)]
    assert rows(real_store, "SELECT COUNT(*) FROM evaltui_imports") == [(3,)]
    deepeval = fixture_copy(DEEPEVAL, E2E)
    import_file(writer, deepeval)
    assert import_file(writer, deepeval).skipped
    assert rows(real_store, "SELECT COUNT(*) FROM runs WHERE name LIKE 'deepeval%'") == [(1,)]


def test_every_fixture_imports_into_one_store(
    writer: StoreWriter, fixture_copy: Any, real_store: Path
) -> None:
    totals = [
        (r.cases, r.traces, r.spans)
        for r in (
            import_file(writer, fixture_copy(folder, name))
            for folder, name in (
                (DEEPEVAL, E2E),
                (DEEPEVAL, WITH_TRACES),
                (DEEPEVAL, DOT_LATEST),
                (DEEPEVAL, LOCAL_STORE),
                (OTLP, OTLP_JSON),
                (OTLP, OTLP_JSONL),
                (OTLP, SDK_JSONL),
            )
        )
    ]
    assert totals == [(2, 0, 0), (2, 2, 9), (2, 2, 9), (0, 0, 0), (0, 1, 5), (0, 0, 0), (0, 0, 0)]
    assert rows(
        real_store, "SELECT COUNT(*), SUM(span_count), SUM(error_count) FROM evaltui_traces"
    ) == [(5, 23, 5)]
    assert rows(real_store, "SELECT COUNT(*), SUM(success = 0) FROM evaltui_span_scores") == [
        (4, 2)
    ]
    assert rows(real_store, "PRAGMA integrity_check") == [("ok",)]
    assert rows(real_store, "PRAGMA foreign_key_check") == []
