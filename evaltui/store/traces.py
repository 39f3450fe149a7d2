"""Read queries for traces and spans, over a read-only `RunStore` connection.

Browsing never creates anything: a store without evaltui's tables (never imported into)
simply has no traces, and every function here returns an empty result for it. The skeleton
of a trace (`trace_spans`) carries no big text; input, output, attributes and events come
one span at a time from `span_detail`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import fields
from typing import Any

from evaltui.store.errors import StoreError
from evaltui.store.reader import MIN_PREFIX, RunStore
from evaltui.traces.models import Span, SpanDetail, SpanNode, SpanScore, TraceSummary
from evaltui.traces.tree import build_tree

_TRACE_COLUMNS = """trace_id, source, name, case_id, run_id, case_idx, start_ns, end_ns,
    span_count, error_count, score_count, failed_score_count, imported_at,
    EXISTS (SELECT 1 FROM cases WHERE cases.id = evaltui_traces.case_id)"""
# A trace without a case in the store: no link, or a link to a case not (yet) written.
_UNLINKED = "NOT EXISTS (SELECT 1 FROM cases WHERE cases.id = evaltui_traces.case_id)"
_SPAN_COLUMNS = """id, trace_id, span_id, parent_id, kind, name, start_ns, end_ns, status, error,
    model, tokens_in, tokens_out, cost"""


_TRACE_FIELDS = [column.name for column in fields(TraceSummary)]


def _trace(row: Sequence[Any]) -> TraceSummary:
    values = dict(zip(_TRACE_FIELDS, row, strict=True))
    values["case_found"] = bool(values["case_found"])
    return TraceSummary(**values)


def _span(row: Sequence[Any]) -> Span:
    return Span(*row)


def _score(row: Sequence[Any]) -> SpanScore:
    success = row[4]
    return SpanScore(
        name=row[0],
        score=row[1],
        threshold=row[2],
        success=None if success is None else bool(success),
        reason=row[3],
        evaluation_model=row[5],
        error=row[6],
    )


async def has_traces(store: RunStore) -> bool:
    """Whether the store has evaltui's trace tables (an import or collect ever ran)."""
    rows = await store.fetch(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'"
        " AND name IN ('evaltui_traces', 'evaltui_spans', 'evaltui_span_scores',"
        " 'evaltui_span_payloads')"
    )
    return int(rows[0][0]) == 4


async def list_traces(
    store: RunStore,
    *,
    case_id: str | None = None,
    run_id: str | None = None,
    unlinked_only: bool = False,
    limit: int | None = None,
    offset: int = 0,
) -> list[TraceSummary]:
    """Traces, newest first: of one run, or only those without a case in the store (no link,
    or a link to a case not written yet). With `case_id`,
    that case's traces, as `traces_for_case` (the other filters do not apply)."""
    if case_id is not None:
        return await traces_for_case(store, case_id)
    if not await has_traces(store):
        return []
    where: list[str] = []
    params: list[Any] = []
    if run_id is not None:
        where.append("run_id = ?")
        params.append(run_id)
    if unlinked_only:
        where.append(_UNLINKED)
    sql = f"SELECT {_TRACE_COLUMNS} FROM evaltui_traces"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY start_ns DESC, trace_id"
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params += [limit, offset]
    return [_trace(row) for row in await store.fetch(sql, params)]


async def traces_for_case(store: RunStore, case_id: str) -> list[TraceSummary]:
    """A case's traces, by `evals.case_id` or by its run and index, oldest first."""
    if not await has_traces(store):
        return []
    rows = await store.fetch(
        f"""SELECT {_TRACE_COLUMNS} FROM evaltui_traces WHERE case_id = ?
            UNION
            SELECT {_TRACE_COLUMNS} FROM evaltui_traces WHERE case_id IS NULL
              AND (run_id, case_idx) IN (SELECT run_id, idx FROM cases WHERE id = ?)
            ORDER BY start_ns, trace_id""",
        (case_id, case_id),
    )
    return [_trace(row) for row in rows]


async def trace_counts(store: RunStore, case_ids: Sequence[str]) -> dict[str, int]:
    """How many traces each of the given cases has (0 for none): a marker for case tables."""
    counts = dict.fromkeys(case_ids, 0)
    if not case_ids or not await has_traces(store):
        return counts
    rows = await store.fetch(
        """SELECT c.id,
             (SELECT COUNT(*) FROM evaltui_traces t WHERE t.case_id = c.id)
             + (SELECT COUNT(*) FROM evaltui_traces t WHERE t.case_id IS NULL
                AND t.run_id = c.run_id AND t.case_idx = c.idx)
           FROM cases c WHERE c.id IN (SELECT value FROM json_each(?))""",
        (json.dumps(list(case_ids)),),
    )
    counts.update({row[0]: row[1] for row in rows})
    return counts


async def get_trace(store: RunStore, trace_id: str) -> TraceSummary | None:
    if not await has_traces(store):
        return None
    rows = await store.fetch(
        f"SELECT {_TRACE_COLUMNS} FROM evaltui_traces WHERE trace_id = ?", (trace_id,)
    )
    return _trace(rows[0]) if rows else None


async def resolve_trace(store: RunStore, ref: str) -> list[TraceSummary]:
    """The trace(s) `ref` names: a trace id, a case id, or a unique prefix of either."""
    if not await has_traces(store):
        raise StoreError(
            f"no traces in {store.path}: add some with `evaltui import FILE` or `evaltui collect`"
        )
    found = await get_trace(store, ref)
    if found is not None:
        return [found]
    if await store.fetch("SELECT 1 FROM cases WHERE id = ?", (ref,)):
        return await _case_traces_or_fail(store, ref)
    if len(ref) < MIN_PREFIX:
        raise StoreError(f"prefix {ref!r} is too short: give at least {MIN_PREFIX} characters")
    traces = await store.fetch(
        "SELECT trace_id FROM evaltui_traces WHERE substr(trace_id, 1, ?) = ? LIMIT 6",
        (len(ref), ref),
    )
    cases = await store.fetch(
        "SELECT id FROM cases WHERE substr(id, 1, ?) = ? LIMIT 6", (len(ref), ref)
    )
    matches = [("trace", row[0]) for row in traces] + [("case", row[0]) for row in cases]
    if not matches:
        raise StoreError(
            f"no trace or case matches {ref!r} in {store.path}; list them with `evaltui traces`"
        )
    if len(matches) > 1:
        shown = ", ".join(f"{kind} {ident[:12]}" for kind, ident in matches[:5])
        raise StoreError(f"{ref!r} is ambiguous ({shown}…): give more characters")
    kind, ident = matches[0]
    if kind == "case":
        return await _case_traces_or_fail(store, ident)
    trace = await get_trace(store, ident)
    assert trace is not None
    return [trace]


async def _case_traces_or_fail(store: RunStore, case_id: str) -> list[TraceSummary]:
    traces = await traces_for_case(store, case_id)
    if not traces:
        raise StoreError(f"case {case_id} has no trace in {store.path}")
    return traces


async def trace_spans(store: RunStore, trace_id: str) -> list[Span]:
    """The skeleton of a trace (no big text), in start order."""
    if not await has_traces(store):
        return []
    rows = await store.fetch(
        f"SELECT {_SPAN_COLUMNS} FROM evaltui_spans WHERE trace_id = ? ORDER BY start_ns, span_id",
        (trace_id,),
    )
    return [_span(row) for row in rows]


async def child_spans(store: RunStore, trace_id: str, parent_id: str | None) -> list[Span]:
    """The children of one span (the roots for `parent_id=None`), in start order."""
    if not await has_traces(store):
        return []
    test = "parent_id IS NULL" if parent_id is None else "parent_id = ?"
    params: tuple[Any, ...] = (trace_id,) if parent_id is None else (trace_id, parent_id)
    rows = await store.fetch(
        f"SELECT {_SPAN_COLUMNS} FROM evaltui_spans WHERE trace_id = ? AND {test}"
        " ORDER BY start_ns, span_id",
        params,
    )
    return [_span(row) for row in rows]


async def trace_scores(store: RunStore, trace_id: str) -> dict[int, list[SpanScore]]:
    """Span scores of a trace, keyed by span pk."""
    if not await has_traces(store):
        return {}
    rows = await store.fetch(
        """SELECT span_pk, name, score, threshold, reason, success, evaluation_model, error
           FROM evaltui_span_scores WHERE span_pk IN (SELECT id FROM evaltui_spans
           WHERE trace_id = ?) ORDER BY span_pk, id""",
        (trace_id,),
    )
    scores: dict[int, list[SpanScore]] = {}
    for row in rows:
        scores.setdefault(row[0], []).append(_score(row[1:]))
    return scores


async def trace_tree(store: RunStore, trace_id: str) -> list[SpanNode]:
    """The roots of a trace's span tree, scores attached (see `evaltui.traces.tree`)."""
    spans = await trace_spans(store, trace_id)
    scores = await trace_scores(store, trace_id)
    return build_tree(spans, scores)


async def span_detail(store: RunStore, span_pk: int) -> SpanDetail | None:
    """Input, output, attributes and events of one span."""
    if not await has_traces(store):
        return None
    rows = await store.fetch(
        "SELECT span_pk, input, output, attributes, events FROM evaltui_span_payloads"
        " WHERE span_pk = ?",
        (span_pk,),
    )
    if not rows:
        return None
    pk, span_input, output, attributes, events = rows[0]
    return SpanDetail(
        pk=pk,
        input=span_input,
        output=output,
        attributes=_loads(attributes, {}),
        events=_loads(events, []),
    )


def _loads(text: str | None, default: Any) -> Any:
    if text is None:
        return default
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return default


async def problem_span_pks(store: RunStore, trace_id: str) -> list[int]:
    """Errored spans and spans with a failing score, in start order (partial indexes)."""
    if not await has_traces(store):
        return []
    rows = await store.fetch(
        """SELECT id FROM evaltui_spans WHERE id IN (
             SELECT id FROM evaltui_spans WHERE trace_id = ?1 AND status = 'error'
             UNION
             SELECT span_pk FROM evaltui_span_scores WHERE trace_id = ?1 AND success = 0)
           ORDER BY start_ns, span_id""",
        (trace_id,),
    )
    return [row[0] for row in rows]


async def search_spans(store: RunStore, trace_id: str, needle: str) -> set[int]:
    """Pks of the trace's spans whose name, error, input, output, attributes or events
    contain `needle` (case-insensitive for ASCII letters, as SQLite's LIKE)."""
    if not needle or not await has_traces(store):
        return set()
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = await store.fetch(
        """SELECT s.id FROM evaltui_spans s JOIN evaltui_span_payloads p ON p.span_pk = s.id
           WHERE s.trace_id = ?1 AND (s.name LIKE ?2 ESCAPE '\\' OR s.error LIKE ?2 ESCAPE '\\'
             OR p.input LIKE ?2 ESCAPE '\\' OR p.output LIKE ?2 ESCAPE '\\'
             OR p.attributes LIKE ?2 ESCAPE '\\' OR p.events LIKE ?2 ESCAPE '\\')""",
        (trace_id, f"%{escaped}%"),
    )
    return {row[0] for row in rows}


async def resolve_case_id(store: RunStore, ref: str) -> str:
    """A case id from a full id or a unique prefix of at least four characters."""
    if await store.fetch("SELECT 1 FROM cases WHERE id = ?", (ref,)):
        return ref
    if len(ref) < MIN_PREFIX:
        raise StoreError(f"case id prefix {ref!r} is too short: give at least {MIN_PREFIX}")
    rows = await store.fetch(
        "SELECT id FROM cases WHERE substr(id, 1, ?) = ? LIMIT 2", (len(ref), ref)
    )
    if not rows:
        raise StoreError(f"no case matches {ref!r} in {store.path}")
    if len(rows) > 1:
        raise StoreError(f"case prefix {ref!r} is ambiguous: give more characters")
    return str(rows[0][0])
