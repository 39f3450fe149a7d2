"""Headless trace commands: `import`, `collect` (write) and `traces`, `trace` (read-only).

`add_parsers` adds them to the main parser's subcommands and `HANDLERS` runs them; a handler
returns an exit code and raises `StoreError` for a one-line error. `import` and `collect` are
the only commands that write (through `evaltui.store.writer`); the read commands open the
store read-only and work on a store that has never had traces.
Run standalone with `python -m evaltui.cli.traces COMMAND ...`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from evaltui.cli.traces_args import add_parsers
from evaltui.core.formatting import when
from evaltui.core.jsonutil import dumps_output
from evaltui.core.numbers import number_text
from evaltui.core.textsafe import error_text, one_line
from evaltui.services.ingest.collector import (
    Collector,
    is_loopback,
)
from evaltui.services.ingest.importer import ImportFailure, ImportResult, import_file
from evaltui.store import RunStore, StoreError, find_store_path
from evaltui.store import traces as trace_queries
from evaltui.store.writer import LinkOptions, StoreWriter
from evaltui.traces.models import SpanNode, TraceSummary
from evaltui.traces.tree import iter_tree_json, walk

EXIT_BAD_INPUT = 2
MAX_INDENT = 24  # levels of indentation shown in the text tree; deeper spans show their depth


class Progress:
    """A one-line progress bar on stderr, redrawn at most ten times a second."""

    def __init__(self, name: str, total: int) -> None:
        self.name = one_line(name, 40)
        self.total = max(total, 1)
        self.done = 0
        self._drawn = 0.0

    def __call__(self, size: int) -> None:
        self.done += size
        now = time.monotonic()
        if now - self._drawn >= 0.1:
            self._drawn = now
            self._draw()

    def _draw(self) -> None:
        share = min(self.done / self.total, 1.0)
        bar = "#" * int(share * 30)
        mib = self.done / (1 << 20)
        sys.stderr.write(f"\r{self.name} [{bar:<30}] {share:4.0%} {mib:,.1f} MiB")
        sys.stderr.flush()

    def close(self) -> None:
        if self._drawn:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def _error(message: str) -> None:
    print(f"evaltui: error: {error_text(message)}", file=sys.stderr)


def cmd_import(args: argparse.Namespace) -> int:
    if args.match and not args.run:
        raise StoreError("--match needs --run RUN: the run whose cases traces are matched to")
    path = find_store_path(args.store)
    files = [Path(name) for name in args.files]
    missing = [str(file) for file in files if not file.is_file()]
    if missing:  # checked before the store is created or written
        raise StoreError(f"no such file: {', '.join(missing)} (nothing was imported)")
    if not args.create and not os.path.lexists(path):
        raise StoreError(
            f"no store at {path}: check --store (or $EVALS_DB_PATH), or pass --create to make one"
        )
    with StoreWriter.open(path, create=args.create) as writer:
        if writer.created:
            print(f"created a new store at {path}", file=sys.stderr)
        writer.ensure_schema()
        link = LinkOptions(writer.find_run(args.run), args.match or "idx") if args.run else None
        failed = 0
        for file in files:
            result = _import_one(writer, file, link)
            if result is None:
                failed += 1
            else:
                if (warning := result.warning()) is not None:
                    print(f"evaltui: warning: {error_text(warning)}", file=sys.stderr)
                print(dumps_output(_result_json(result)) if args.json else result.describe())
    return EXIT_BAD_INPUT if failed else 0


def _import_one(writer: StoreWriter, file: Path, link: LinkOptions | None) -> ImportResult | None:
    if _same_file(file, writer.path):
        # Reading it would open the store outside SQLite while we hold it (lost locks).
        _error(f"{file} is the store itself (or its WAL): import trace files or another database")
        return None
    progress = Progress(file.name, file.stat().st_size) if sys.stderr.isatty() else None
    try:
        return import_file(writer, file, link=link, on_read=progress)
    except ImportFailure as error:
        _error(str(error))
        return None
    finally:
        if progress is not None:
            progress.close()


def _same_file(file: Path, store: Path) -> bool:
    """Whether `file` is the store or its -wal, -shm or -journal (same inode, whatever the
    path), by `os.stat` only."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(OSError):
            if os.path.samefile(file, f"{store}{suffix}"):
                return True
    return False


def _result_json(result: ImportResult) -> dict[str, object]:
    return {
        "file": str(result.path),
        "format": result.format,
        "skipped": result.skipped,
        "traces": result.traces,
        "spans": result.spans,
        "duplicates": result.duplicates,
        "cases": result.cases,
        "linked": result.linked,
        "run_id": result.run_id,
        "unstorable": result.unstorable,
    }


# -- collect -----------------------------------------------------------------------------


def cmd_collect(args: argparse.Namespace) -> int:
    path = find_store_path(args.store)
    if args.max_body_mb < 1:
        raise StoreError("--max-body-mb must be at least 1")
    if not is_loopback(args.host):
        print(
            f"evaltui: warning: listening on {args.host}: anyone who can reach this port can "
            "write traces into the store (there is no authentication)",
            file=sys.stderr,
        )
    with StoreWriter.open(path, create=True) as writer:
        writer.ensure_schema()
        collector = Collector(
            writer,
            max_body=args.max_body_mb << 20,
            log=lambda message: print(error_text(message), file=sys.stderr),  # quotes requests
        )
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_collect(collector, args.host, args.port, path))
        stats = collector.stats
        print(
            f"stopped: {stats.spans} spans received in {stats.requests} requests "
            f"({stats.added} new, {stats.duplicates} already stored, "
            f"{stats.rejected} requests rejected)",
            file=sys.stderr,
        )
    return 0


async def _collect(collector: Collector, host: str, port: int, path: Path) -> None:
    try:
        bound_host, bound_port = await collector.start(host, port)
    except OSError as error:
        raise StoreError(
            f"cannot listen on {host}:{port} ({error.strerror}); pick another with --port"
        ) from None
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    print(
        f"listening on http://{shown}:{bound_port}/v1/traces (OTLP/HTTP, JSON or protobuf), "
        f"writing to {path}; Ctrl-C stops",
        file=sys.stderr,
    )
    reporter = asyncio.create_task(_report(collector))
    try:
        await collector.serve_forever()
    finally:
        reporter.cancel()
        await collector.close()


async def _report(collector: Collector, every: float = 10.0) -> None:
    last = -1
    while True:
        await asyncio.sleep(every)
        if collector.stats.spans != last:
            last = collector.stats.spans
            print(
                f"{collector.stats.spans} spans received in {collector.stats.requests} requests",
                file=sys.stderr,
            )


# -- traces and trace --------------------------------------------------------------------


def _indent() -> int | None:
    """JSON indented for a person at a terminal, compact when piped (as `print_json`)."""
    return 2 if sys.stdout.isatty() else None


def _duration(ns: int | None) -> str:
    if ns is None:
        return "-"
    if ns < 1_000_000:
        return f"{ns / 1000:.0f}µs"
    if ns < 1_000_000_000:
        return f"{ns / 1_000_000:.1f}ms"
    return f"{ns / 1_000_000_000:.2f}s"


async def _open(args: argparse.Namespace) -> RunStore:
    return await RunStore.open(find_store_path(args.store), immutable=args.immutable)


async def _traces(args: argparse.Namespace) -> int:
    store = await _open(args)
    try:
        run_id = (await store.resolve_run(args.run)).id if args.run else None
        case_id = await trace_queries.resolve_case_id(store, args.case) if args.case else None
        traces = await trace_queries.list_traces(
            store, case_id=case_id, run_id=run_id, unlinked_only=args.unlinked
        )
    finally:
        await store.close()
    if args.json:
        print(dumps_output([trace.to_json() for trace in traces], indent=_indent()))
        return 0
    if not traces:
        print(
            f"no traces in {store.path}" + (" for that selection" if args.case or args.run else "")
        )
        return 0
    rows = [["TRACE", "NAME", "SOURCE", "SPANS", "ERRORS", "FAILED", "DURATION", "STARTED", "CASE"]]
    for trace in traces:
        case = trace.case_label()
        rows.append(
            [
                trace.trace_id[:16],
                one_line(trace.name or "?", 40),
                trace.source,
                str(trace.span_count),
                str(trace.error_count),
                str(trace.failed_score_count),
                _duration(trace.duration_ns),
                when(None if trace.start_ns is None else trace.start_ns // 1_000_000),
                case,
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    return 0


def _node_line(node: SpanNode) -> str:
    span = node.span
    indent = "  " * min(node.depth, MAX_INDENT)
    if node.depth > MAX_INDENT:
        indent += f"[{node.depth}] "
    parts = [f"{indent}{span.kind:<9} {one_line(span.name, 80)}", _duration(span.duration_ns)]
    if span.status == "error":
        parts.append("ERROR" + (f": {one_line(span.error, 120)}" if span.error else ""))
    if span.model:
        parts.append(one_line(span.model, 40))
    if span.tokens_in is not None or span.tokens_out is not None:
        parts.append(f"tokens {span.tokens_in or 0}/{span.tokens_out or 0}")
    for score in node.scores:
        mark = {True: "pass", False: "FAIL", None: "?"}[score.passed]
        value = "-" if score.score is None else number_text(score.score, ".2f")
        parts.append(f"[{one_line(score.name, 40)} {value} {mark}]")
    return "  ".join(parts)


async def _trace(args: argparse.Namespace) -> int:
    store = await _open(args)
    try:
        traces = await trace_queries.resolve_trace(store, args.ref)
        trace = traces[-1]
        if len(traces) > 1:
            print(
                f"case has {len(traces)} traces; showing the latest, {trace.trace_id} "
                "(list them with `evaltui traces --case ...`)",
                file=sys.stderr,
            )
        roots = await trace_queries.trace_tree(store, trace.trace_id)
    finally:
        await store.close()
    if args.json:
        for piece in iter_tree_json(roots, indent=_indent(), trace_name=trace.name):
            sys.stdout.write(piece)
        sys.stdout.write("\n")
        return 0
    print(_trace_header(trace))
    for node in walk(roots):
        print(_node_line(node))
    return 0


def _trace_header(trace: TraceSummary) -> str:
    case = "no case" if trace.case_id is None else f"case #{trace.case_idx} {trace.case_id}"
    return (
        f"{one_line(trace.name or '?', 80)}  ({trace.trace_id}, {trace.source}, {case})  "
        f"{trace.span_count} spans, {trace.error_count} errored, "
        f"{trace.failed_score_count} failing scores, {_duration(trace.duration_ns)}"
    )


def cmd_traces(args: argparse.Namespace) -> int:
    return asyncio.run(_traces(args))


def cmd_trace(args: argparse.Namespace) -> int:
    return asyncio.run(_trace(args))


HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "import": cmd_import,
    "collect": cmd_collect,
    "traces": cmd_traces,
    "trace": cmd_trace,
}


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m evaltui.cli.traces COMMAND ...`, until the main CLI wires these in."""
    parser = argparse.ArgumentParser(prog="evaltui")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    add_parsers(commands)
    args = parser.parse_args(argv)
    try:
        return HANDLERS[args.command](args)
    except StoreError as error:
        _error(str(error))
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
