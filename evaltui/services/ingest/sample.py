"""Deterministic sample traces for the cases of existing runs (for sample_data/ and tests).

    python -m evaltui.services.ingest.sample STORE [--run RUN ...] [--big-trace-spans 10000]

Every case of the given runs (all runs when none is given) gets a trace linked to it:

    agent  invoke_agent qa-agent          (the case's input and output; its scores)
      llm    chat <model>                 (plans a tool call; token usage)
      tool   execute_tool search
        retriever  retrieve docs          (span score "context relevance", some failing)
      tool   execute_tool calculator      (every 7th case: a TimeoutError, status error)
      llm    chat <model>                 (the answer; span score "faithfulness")

A case whose `error` is set gets an errored root and answer. The first case of the first
run instead gets one trace of `big_trace_spans` spans (10,000 by default): a span with
1,000 tool children, one with 5,000 retriever children, a chain 50 deep, and the rest in
agent -> llm -> tool -> retriever groups, with about 1% errored spans and scores on many.
Everything is written through `StoreWriter`, in one transaction per run.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaltui.core.jsonutil import dumps
from evaltui.core.textsafe import error_text
from evaltui.store.errors import StoreError
from evaltui.store.writer import StoreWriter, WriteBatch
from evaltui.traces.models import (
    CaseLink,
    SpanKind,
    SpanRecord,
    SpanScore,
    SpanStatus,
    TraceRecord,
)

SOURCE = "sample"
SEED = 20261121
THRESHOLD = 0.5
MS = 1_000_000


@dataclass(slots=True)
class SampleStats:
    traces: int = 0
    spans: int = 0
    big_trace_id: str | None = None


@dataclass(slots=True)
class _Case:
    id: str
    idx: int
    input: str
    output: str | None
    latency_ms: int | None
    error: str | None
    scores: list[tuple[str, float, str | None]]


class _Builder:
    """Spans of one trace, with ids and times from a seeded generator."""

    def __init__(self, rng: random.Random, trace_id: str, start_ns: int) -> None:
        self.rng = rng
        self.trace_id = trace_id
        self.clock = start_ns
        self.spans: list[SpanRecord] = []

    def span(
        self,
        parent: SpanRecord | None,
        kind: SpanKind,
        name: str,
        *,
        duration_ms: float = 5.0,
        **fields: Any,
    ) -> SpanRecord:
        start = self.clock
        self.clock += int(duration_ms * MS)
        record = SpanRecord(
            trace_id=self.trace_id,
            span_id=f"{self.rng.getrandbits(64):016x}",
            parent_id=None if parent is None else parent.span_id,
            kind=kind,
            name=name,
            start_ns=start,
            end_ns=self.clock,
            status=SpanStatus.OK,
            **fields,
        )
        self.spans.append(record)
        return record

    def close(self, span: SpanRecord) -> None:
        """Stretch a parent to end after its last child."""
        span.end_ns = max(span.end_ns or span.start_ns, self.clock)


def _question(raw: str) -> str:
    try:
        item = json.loads(raw)
    except ValueError:
        return raw
    if isinstance(item, dict):
        for key in ("input", "ticket", "question"):
            if isinstance(item.get(key), str):
                return str(item[key])
    return raw if isinstance(item, dict) else str(item)


def _messages(role: str, text: str) -> str:
    return dumps([{"role": role, "parts": [{"type": "text", "content": text}]}])


def _error_message(raw: str | None) -> str:
    if raw is None:
        return ""
    try:
        parsed = json.loads(raw)
    except ValueError:
        return raw
    if isinstance(parsed, dict) and parsed.get("message"):
        return f"{parsed.get('name', 'Error')}: {parsed['message']}"
    return raw


def case_trace(rng: random.Random, case: _Case, model: str, start_ns: int) -> _Builder:
    """The agent -> llm -> tool -> retriever trace of one case."""
    trace = _Builder(rng, f"{rng.getrandbits(128):032x}", start_ns)
    question = _question(case.input)
    total_ms = max(float(case.latency_ms or 400), 40.0)
    root = trace.span(
        None,
        SpanKind.AGENT,
        "invoke_agent qa-agent",
        duration_ms=1,
        input=case.input,
        output=None if case.output is None else dumps(case.output),
        attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "qa-agent"},
        scores=[
            SpanScore(name, score, THRESHOLD, score >= THRESHOLD, reason)
            for name, score, reason in case.scores
        ],
    )
    usage = {"tokens_in": rng.randint(200, 1500), "tokens_out": rng.randint(10, 120)}
    trace.span(
        root,
        SpanKind.LLM,
        f"chat {model}",
        duration_ms=total_ms * 0.3,
        model=model,
        input=_messages("user", question),
        output=dumps([{"role": "assistant", "parts": [{"type": "tool_call", "name": "search"}]}]),
        attributes={"gen_ai.operation.name": "chat", "gen_ai.request.model": model},
        **usage,
    )
    tool = trace.span(
        root,
        SpanKind.TOOL,
        "execute_tool search",
        duration_ms=1,
        input=dumps({"query": question[:200]}),
        attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search"},
    )
    relevance = round(rng.uniform(0.2, 1.0), 3)
    trace.span(
        tool,
        SpanKind.RETRIEVER,
        "retrieve docs",
        duration_ms=total_ms * 0.2,
        input=dumps({"query": question[:200], "top_k": 3}),
        output=dumps([f"doc-{rng.randint(1, 999)}" for _ in range(3)]),
        scores=[SpanScore("context relevance", relevance, THRESHOLD, relevance >= THRESHOLD)],
    )
    trace.close(tool)
    if case.idx % 7 == 3:
        failed = trace.span(
            root,
            SpanKind.TOOL,
            "execute_tool calculator",
            duration_ms=total_ms * 0.1,
            input=dumps({"expression": "2+2"}),
            attributes={"gen_ai.operation.name": "execute_tool", "error.type": "TimeoutError"},
            events=[
                {
                    "name": "exception",
                    "time_ns": trace.clock,
                    "attributes": {
                        "exception.type": "TimeoutError",
                        "exception.message": "calculator timed out after 10s",
                    },
                }
            ],
        )
        failed.status, failed.error = SpanStatus.ERROR, "TimeoutError: calculator timed out"
    faithful = round(rng.uniform(0.3, 1.0), 3)
    answer = trace.span(
        root,
        SpanKind.LLM,
        f"chat {model}",
        duration_ms=total_ms * 0.4,
        model=model,
        input=_messages("user", question),
        output=None if case.output is None else _messages("assistant", case.output),
        attributes={"gen_ai.operation.name": "chat", "gen_ai.request.model": model},
        scores=[SpanScore("faithfulness", faithful, THRESHOLD, faithful >= THRESHOLD)],
        tokens_in=rng.randint(300, 2000),
        tokens_out=rng.randint(5, 300),
    )
    if case.error is not None:
        message = _error_message(case.error)
        answer.status, answer.error = SpanStatus.ERROR, message
        root.status, root.error = SpanStatus.ERROR, message
    trace.close(root)
    return trace


def big_trace(rng: random.Random, spans: int, model: str, start_ns: int) -> _Builder:
    """One trace of `spans` spans: wide (1,000 and 5,000 children), deep (50), and groups."""
    trace = _Builder(rng, f"{rng.getrandbits(128):032x}", start_ns)
    root = trace.span(None, SpanKind.AGENT, "invoke_agent orchestrator", duration_ms=1)
    made = 1

    def errored(span: SpanRecord) -> None:
        nonlocal made
        made += 1
        if made % 97 == 0:
            span.status, span.error = SpanStatus.ERROR, f"step {made} failed: upstream 503"

    plan = trace.span(root, SpanKind.CHAIN, "plan", duration_ms=0.5)
    errored(plan)
    for i in range(min(1000, spans - made)):
        errored(trace.span(plan, SpanKind.TOOL, f"execute_tool lookup_{i}", duration_ms=0.05))
    trace.close(plan)
    if made < spans:
        fan = trace.span(root, SpanKind.AGENT, "invoke_agent fanout", duration_ms=0.5)
        errored(fan)
        for i in range(min(5000, spans - made)):
            score = round(rng.random(), 3)
            child = trace.span(
                fan,
                SpanKind.RETRIEVER,
                f"retrieve shard {i}",
                duration_ms=0.01,
                scores=[SpanScore("relevance", score, THRESHOLD, score >= THRESHOLD)]
                if i % 25 == 0
                else [],
            )
            errored(child)
        trace.close(fan)
    parent = root
    chain: list[SpanRecord] = []
    for depth in range(min(50, spans - made)):
        kind = SpanKind.CHAIN if depth % 2 == 0 else SpanKind.LLM
        parent = trace.span(parent, kind, f"deep step {depth}", duration_ms=0.2)
        chain.append(parent)
        errored(parent)
    for span in reversed(chain):
        trace.close(span)
    for group in _groups(spans - made):
        agent = trace.span(root, SpanKind.AGENT, f"invoke_agent worker {made}", duration_ms=0.1)
        errored(agent)
        under = agent
        for kind, name in group:
            under = trace.span(
                under, kind, name, duration_ms=0.1, model=model if kind is SpanKind.LLM else None
            )
            errored(under)
        trace.close(agent)
    trace.close(root)
    return trace


def _groups(remaining: int) -> Iterator[list[tuple[SpanKind, str]]]:
    shape = [
        (SpanKind.LLM, "chat"),
        (SpanKind.TOOL, "execute_tool fetch"),
        (SpanKind.RETRIEVER, "retrieve"),
    ]
    while remaining > 0:
        take = min(len(shape), remaining - 1)
        yield shape[:take]
        remaining -= take + 1


def _cases(writer: StoreWriter, run_id: str) -> list[_Case]:
    rows = writer.run_cases(run_id)
    scores: dict[str, list[tuple[str, float, str | None]]] = {}
    for case_id, name, score, reason in writer.run_scores(run_id):
        scores.setdefault(case_id, []).append((name, score, reason))
    return [
        _Case(
            id=r[0],
            idx=r[1],
            input=r[2],
            output=r[3],
            latency_ms=r[4],
            error=r[5],
            scores=scores.get(r[0], []),
        )
        for r in rows
    ]


def _write(batch: WriteBatch, trace: _Builder, case_id: str, name: str) -> int:
    batch.add_trace(TraceRecord(trace.trace_id, SOURCE, name=name, link=CaseLink(case_id=case_id)))
    return sum(batch.add_span(span, SOURCE) for span in trace.spans)


def generate_sample_traces(
    writer: StoreWriter,
    run_ids: Sequence[str] | None = None,
    *,
    seed: int = SEED,
    big_trace_spans: int = 10_000,
) -> SampleStats:
    """Write sample traces for the cases of `run_ids` (every run when None)."""
    writer.ensure_schema()
    if run_ids is None:
        run_ids = writer.run_ids()
    rng = random.Random(seed)
    stats = SampleStats()
    for number, run_id in enumerate(run_ids):
        model, started_at = writer.run_model_and_start(run_id)
        with writer.transaction() as batch:
            for position, case in enumerate(_cases(writer, run_id)):
                start_ns = (started_at + position * 1500) * MS
                if number == 0 and position == 0 and big_trace_spans > 0:
                    trace = big_trace(rng, big_trace_spans, model, start_ns)
                    stats.big_trace_id = trace.trace_id
                    name = f"orchestrator ({big_trace_spans} spans)"
                    stats.spans += _write(batch, trace, case.id, name)
                else:
                    trace = case_trace(rng, case, model, start_ns)
                    stats.spans += _write(batch, trace, case.id, "qa-agent")
            stats.traces += batch.counts.traces
    return stats


def write_sample_traces(
    store: Path, run_ids: Sequence[str] | None = None, **options: Any
) -> SampleStats:
    """Open `store` for writing and add sample traces (see `generate_sample_traces`)."""
    with StoreWriter.open(store) as writer:
        return generate_sample_traces(writer, run_ids, **options)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Add sample traces to the cases of a RunStore.")
    parser.add_argument("store", type=Path)
    parser.add_argument("--run", action="append", dest="runs", metavar="RUN")
    parser.add_argument("--big-trace-spans", type=int, default=10_000)
    args = parser.parse_args(argv)
    try:
        stats = write_sample_traces(args.store, args.runs, big_trace_spans=args.big_trace_spans)
    except StoreError as error:
        print(f"evaltui: error: {error_text(error)}", file=sys.stderr)
        return 2
    print(f"{stats.traces} traces, {stats.spans} spans; 10k-span trace {stats.big_trace_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
