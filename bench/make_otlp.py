"""Generate a large, deterministic OTLP/JSON trace file, and optionally time its import.

    python bench/make_otlp.py [--spans 100000] [--traces 100] [--out bench/data/otlp_100k.json]
                              [--jsonl] [--measure]

The file is one OTLP/JSON document (`{"resourceSpans": [...]}`, one resource, one scope),
or with --jsonl one document per trace per line, written as it is generated (constant
memory). Each trace is an agent root with chat (GenAI usage, model, JSON-string messages),
execute_tool (arguments/result, a log event) and retrieval spans; about 1% of tool spans
fail with an exception event. With --measure, the file is imported into a fresh empty
store in a subprocess (`python -m evaltui.cli.traces import`) and the wall time and the
child's peak RSS are printed as JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BASE_NS = 1_795_300_000_000_000_000


def _kv(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        wrapped: dict[str, Any] = {"boolValue": value}
    elif isinstance(value, int):
        wrapped = {"intValue": str(value)}
    elif isinstance(value, float):
        wrapped = {"doubleValue": value}
    else:
        wrapped = {"stringValue": str(value)}
    return {"key": key, "value": wrapped}


def _span(
    rng: random.Random,
    trace_id: str,
    span_id: str,
    parent: str | None,
    name: str,
    start: int,
    attributes: dict[str, Any],
    error: str | None = None,
) -> dict[str, Any]:
    span: dict[str, Any] = {
        "traceId": trace_id,
        "spanId": span_id,
        "name": name,
        "kind": 3 if name.startswith("chat") else 1,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + rng.randint(200_000, 40_000_000)),
        "attributes": [_kv(key, value) for key, value in attributes.items()],
        "status": {},
        "flags": 256,
    }
    if parent is not None:
        span["parentSpanId"] = parent
    if error is not None:
        span["status"] = {"code": 2, "message": error}
        span["events"] = [
            {
                "timeUnixNano": str(start + 100_000),
                "name": "exception",
                "attributes": [
                    _kv("exception.type", "TimeoutError"),
                    _kv("exception.message", error),
                ],
            }
        ]
    return span


def trace_spans(rng: random.Random, index: int, count: int) -> Iterator[dict[str, Any]]:
    """`count` spans of one trace: a root agent and a mix of chat, tool and retrieval children."""
    trace_id = f"{rng.getrandbits(128):032x}"
    root = f"{rng.getrandbits(64):016x}"
    start = BASE_NS + index * 10_000_000_000
    yield _span(
        rng,
        trace_id,
        root,
        None,
        "invoke_agent planner",
        start,
        {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "planner"},
    )
    parents = [root]
    for i in range(1, count):
        span_id = f"{rng.getrandbits(64):016x}"
        parent = rng.choice(parents[-20:])
        at = start + i * 50_000
        choice = i % 4
        if choice == 0:
            parents.append(span_id)
            yield _span(
                rng,
                trace_id,
                span_id,
                parent,
                "invoke_agent worker",
                at,
                {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "worker"},
            )
        elif choice == 1:
            question = f"step {i}: what is {rng.randint(1, 99)} times {rng.randint(1, 99)}?"
            yield _span(
                rng,
                trace_id,
                span_id,
                parent,
                "chat claude-sonnet-4-5",
                at,
                {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.provider.name": "anthropic",
                    "gen_ai.request.model": "claude-sonnet-4-5",
                    "gen_ai.usage.input_tokens": rng.randint(100, 4000),
                    "gen_ai.usage.output_tokens": rng.randint(5, 500),
                    "gen_ai.input.messages": json.dumps(
                        [{"role": "user", "parts": [{"type": "text", "content": question}]}]
                    ),
                    "gen_ai.output.messages": json.dumps(
                        [{"role": "assistant", "parts": [{"type": "text", "content": "42"}]}]
                    ),
                },
            )
        elif choice == 2:
            failed = rng.random() < 0.04
            yield _span(
                rng,
                trace_id,
                span_id,
                parent,
                "execute_tool calculator",
                at,
                {
                    "gen_ai.operation.name": "execute_tool",
                    "gen_ai.tool.name": "calculator",
                    "gen_ai.tool.call.arguments": json.dumps({"a": i, "b": 2}),
                    "gen_ai.tool.call.result": json.dumps({"value": i * 2}),
                },
                error="tool timed out" if failed else None,
            )
        else:
            yield _span(
                rng,
                trace_id,
                span_id,
                parent,
                "retrieval docs",
                at,
                {"gen_ai.operation.name": "retrieval", "gen_ai.data_source.id": "docs"},
            )


RESOURCE = {
    "attributes": [_kv("service.name", "bench-agent"), _kv("telemetry.sdk.language", "python")]
}
SCOPE = {"name": "bench", "version": "1.0"}


def write(out: Path, spans: int, traces: int, jsonl: bool, seed: int = 4318_2026) -> int:
    """Write the file; returns the number of spans written."""
    rng = random.Random(seed)
    per_trace = [spans // traces + (1 if i < spans % traces else 0) for i in range(traces)]
    written = 0
    with out.open("w", encoding="utf-8") as handle:
        if not jsonl:
            handle.write('{"resourceSpans":[{"resource":')
            handle.write(json.dumps(RESOURCE))
            handle.write(',"scopeSpans":[{"scope":' + json.dumps(SCOPE) + ',"spans":[\n')
        for index, count in enumerate(per_trace):
            if jsonl:
                batch = list(trace_spans(rng, index, count))
                written += len(batch)
                doc = {
                    "resourceSpans": [
                        {"resource": RESOURCE, "scopeSpans": [{"scope": SCOPE, "spans": batch}]}
                    ]
                }
                handle.write(json.dumps(doc, separators=(",", ":")) + "\n")
                continue
            for i, span in enumerate(trace_spans(rng, index, count)):
                first = index == 0 and i == 0
                handle.write(("" if first else ",\n") + json.dumps(span, separators=(",", ":")))
                written += 1
        if not jsonl:
            handle.write("\n]}]}]}\n")
    return written


def measure(path: Path) -> dict[str, Any]:
    """Import `path` into a fresh store in a child process: seconds and the child's peak RSS."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store.db"
        command = [
            sys.executable,
            "-m",
            "evaltui.cli.traces",
            "import",
            str(path),
            "--store",
            str(store),
            "--create",
            "--json",
        ]
        started = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"import failed: {done.stderr.strip()}")
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        result = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "file": str(path),
        "file_mib": round(path.stat().st_size / (1 << 20), 1),
        "spans": result["spans"],
        "traces": result["traces"],
        "seconds": round(seconds, 2),
        "spans_per_second": round(result["spans"] / seconds),
        "peak_rss_mib": round(peak_kib / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=100_000)
    parser.add_argument("--traces", type=int, default=100)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "data" / "otlp_100k.json")
    parser.add_argument("--jsonl", action="store_true", help="one document per trace per line")
    parser.add_argument("--measure", action="store_true", help="time an import of the file")
    parser.add_argument("--measure-only", type=Path, metavar="FILE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure_only:
        print(json.dumps(measure(args.measure_only), indent=2))
        return
    args.out.parent.mkdir(parents=True, exist_ok=True)
    count = write(args.out, args.spans, max(1, args.traces), args.jsonl)
    print(f"wrote {count} spans to {args.out} ({args.out.stat().st_size / (1 << 20):.1f} MiB)")
    if args.measure:
        # From a fresh, small process: a forked child's peak RSS counts its parent's pages.
        subprocess.run([sys.executable, __file__, "--measure-only", str(args.out)], check=True)


if __name__ == "__main__":
    main()
