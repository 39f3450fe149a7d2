"""`evaltui import`: read trace files of any supported format into a store, one transaction each.

A file is a sequence of top-level JSON objects (one document, JSON lines, or objects one
after another), each of which is detected on its own:

* `{"resourceSpans": [...]}`: OTLP/JSON (`TracesData` / `ExportTraceServiceRequest`), streamed
  span by span: memory stays bounded however large the file or any one line is;
* `{"context": ..., "name": ...}`: one span as the OpenTelemetry SDK's `to_json` writes it;
* `{"testCases": ...}` or `{"testRunData": ...}`: a DeepEval test run, read whole (DeepEval
  itself writes it whole, from memory).

A SQLite file is read as DeepEval's local store (`DEEPEVAL_LOCAL_STORE=sqlite`): every
`test_runs.payload_json` is a test run. A file whose sha256 is in `evaltui_imports` is
skipped; so is a DeepEval test run already imported from any file, and a stored span.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaltui.core.formatting import count
from evaltui.services.ingest.deepeval_writer import (
    DeepEvalDocument,
    ImportFailure,
    WrittenRun,
    sqlite_documents,
    write_run,
)
from evaltui.store.reader import SQLITE_HEADER
from evaltui.store.writer import LinkOptions, StoreWriter
from evaltui.traces import deepeval
from evaltui.traces.jsonstream import JsonStream, JsonSyntaxError
from evaltui.traces.models import SpanRecord
from evaltui.traces.otlp import FieldError, resource_attributes, span_from_otlp, span_from_sdk

__all__ = ["ImportFailure", "ImportResult", "file_sha256", "import_file", "iter_items"]

OTLP_SOURCE = "otlp"
ProgressFn = Callable[[int], None]


@dataclass(slots=True)
class ImportResult:
    path: Path
    format: str
    skipped: bool = False
    traces: int = 0
    spans: int = 0
    duplicates: int = 0
    cases: int = 0
    linked: int = 0
    run_id: str | None = None
    runs_seen: int = 0  # DeepEval test runs already in the store (from another file)
    unstorable: int = 0  # integers beyond SQLite's INTEGER range: clamped or stored empty

    def warning(self) -> str | None:
        """What a user must know about the numbers that could not be stored as they were."""
        if not self.unstorable:
            return None
        return (
            f"{self.path}: {count(self.unstorable, 'integer')} beyond SQLite's range "
            "(-2^63..2^63-1): span token counts and case indexes were stored empty (the span's "
            "attributes keep the exact number), durations and totals clamped to the range"
        )

    def describe(self) -> str:
        if self.skipped:
            return f"{self.path}: already imported, nothing added"
        parts = [f"{count(self.spans, 'span')} in {count(self.traces, 'new trace')}"]
        if self.duplicates:
            parts.append(f"{count(self.duplicates, 'span')} already stored")
        if self.cases:
            parts.append(f"{count(self.cases, 'case')} in run {self.run_id or '(several)'}")
        if self.runs_seen:
            parts.append(f"{count(self.runs_seen, 'DeepEval run')} already imported")
        if self.linked:
            parts.append(f"{count(self.linked, 'trace')} linked to cases")
        return f"{self.path} ({self.format}): " + ", ".join(parts)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _otlp(span: Any, resource: dict[str, Any], line: int, where: str) -> SpanRecord:
    try:
        return span_from_otlp(span, resource)
    except FieldError as error:
        raise ImportFailure(f"line {line}: {error.within(where)}") from None


def _resource_spans(stream: JsonStream, key: str) -> Iterator[SpanRecord]:
    """The spans of a `resourceSpans` array, one at a time."""
    for i in stream.array_items():
        where = f"{key}[{i}]"
        resource: dict[str, Any] | None = None
        pending: list[tuple[Any, int, str]] = []  # spans seen before their resource
        for field in stream.object_keys():
            if field == "resource":
                line = stream.line()
                value = stream.read_value()
                try:
                    resource = resource_attributes({"resource": value}, where)
                except FieldError as error:
                    raise ImportFailure(f"line {line}: {error}") from None
                for span, span_line, span_where in pending:
                    yield _otlp(span, resource, span_line, span_where)
                pending.clear()
            elif field in ("scopeSpans", "scope_spans"):
                for j in stream.array_items():
                    for scope_field in stream.object_keys():
                        if scope_field != "spans":
                            stream.read_value()
                            continue
                        for k in stream.array_items():
                            line = stream.line()
                            span = stream.read_value()
                            span_where = f"{where}.{field}[{j}].spans[{k}]"
                            if resource is None:
                                pending.append((span, line, span_where))
                            else:
                                yield _otlp(span, resource, line, span_where)
            else:
                stream.read_value()
        for span, span_line, span_where in pending:
            yield _otlp(span, {}, span_line, span_where)


def iter_items(stream: JsonStream) -> Iterator[SpanRecord | DeepEvalDocument]:
    """Every span and DeepEval test run of a file, in file order."""
    if not stream.peek():
        raise ImportFailure("the file holds no JSON")
    while stream.peek():
        line = stream.line()
        if stream.peek() != "{":
            raise ImportFailure(
                f"line {line}: expected a JSON object (an OTLP/JSON document, an "
                "OpenTelemetry SDK span or a DeepEval test run)"
            )
        other: dict[str, Any] = {}
        streamed = False
        for key in stream.object_keys():
            if key in ("resourceSpans", "resource_spans"):
                streamed = True
                yield from _resource_spans(stream, key)
            else:
                other[key] = stream.read_value()
        if streamed:
            continue
        if deepeval.is_test_run(other):
            yield DeepEvalDocument(other, f"line {line}")
        elif "context" in other and "name" in other:
            try:
                yield span_from_sdk(other)
            except FieldError as error:
                raise ImportFailure(f"line {line}: {error}") from None
        else:
            keys = ", ".join(sorted(other)[:8]) or "none"
            raise ImportFailure(
                f"line {line}: not an OTLP/JSON document (no resourceSpans), an OpenTelemetry "
                f"SDK span or a DeepEval test run (no testCases); its keys: {keys}"
            )


def import_file(
    writer: StoreWriter,
    path: Path,
    *,
    link: LinkOptions | None = None,
    on_read: ProgressFn | None = None,
) -> ImportResult:
    """Import one file in one transaction (nothing is written if any part of it is bad)."""
    try:
        sha256 = file_sha256(path)
        mtime_ms = int(path.stat().st_mtime * 1000)
    except OSError as error:
        raise ImportFailure(f"{path}: cannot read it ({error.strerror})") from None
    if writer.already_imported(sha256):
        return ImportResult(path=path, format="", skipped=True)
    formats: list[str] = []
    runs: list[WrittenRun] = []
    unstorable = 0
    try:
        with path.open("rb") as handle, writer.transaction(link) as batch:
            if handle.read(len(SQLITE_HEADER)) == SQLITE_HEADER:
                formats.append("deepeval-sqlite")
                for document in sqlite_documents(path):
                    runs.append(write_run(batch, document, path, mtime_ms))
            else:
                handle.seek(0)
                for item in iter_items(JsonStream(handle, on_read=on_read)):
                    if isinstance(item, SpanRecord):
                        batch.add_span(item, OTLP_SOURCE)
                        unstorable += item.unstorable
                        kind = "otlp"
                    else:
                        runs.append(write_run(batch, item, path, mtime_ms))
                        kind = "deepeval"
                    if kind not in formats:
                        formats.append(kind)
            fmt = "+".join(formats) or "empty"
            written = [run.run_id for run in runs if run.run_id is not None]
            batch.record_import(sha256, str(path), fmt, _one(written))
            counts = batch.counts
    except JsonSyntaxError as error:
        raise ImportFailure(f"{path}: {error} (nothing was imported from it)") from None
    except ImportFailure as error:
        raise ImportFailure(f"{path}: {error} (nothing was imported from it)") from None
    except OSError as error:
        raise ImportFailure(f"{path}: cannot read it ({error.strerror})") from None
    return ImportResult(
        path=path,
        format=fmt,
        traces=counts.traces,
        spans=counts.spans,
        duplicates=counts.duplicates,
        cases=counts.cases,
        linked=counts.linked,
        run_id=_one(written),
        runs_seen=sum(run.run_id is None for run in runs),
        unstorable=unstorable + sum(run.unstorable for run in runs),
    )


def _one(run_ids: list[str]) -> str | None:
    return run_ids[0] if len(run_ids) == 1 else None
