"""Benchmark of evaltui's traces: the span tree, `import`, `collect`, and `deepeval inspect`.

    python bench/bench_traces.py [--quick] [--only 1,3]

Measures, in one run, each figure as a median over repetitions, then prints a Markdown table
and writes bench/results_traces.json (inputs and stores live in bench/data/, git-ignored):

1. the 10,000-span trace of a copy of sample_data/store.db (written with
   `write_sample_traces` if the copy lacks it), in fresh headless apps (120x40):
   (a) TraceScreen pushed -> first SpanTree paint with a data row, against the floor of the
       SQL `trace_spans` issues, replayed with sqlite3; (b) `enter` on the `plan` node
       (1,000 children; the root expanded first) -> next SpanTree paint, and the same for the
       5,000-child `fanout` node and the "N more" row; (c) `n` -> the next paint with the
       cursor on the next errored or failing span; (d) in a fresh process per repetition,
       peak RSS (VmHWM) after opening the trace and expanding all (`e`) minus the RSS before
2. `python -m evaltui import FILE --store COPY` of a 100,000-span OTLP/JSON file (written
   by bench/make_otlp.py): wall time and peak RSS, and the peak for a 300,000-span file
3. `python -m evaltui collect` on 127.0.0.1 and a free port; this process posts OTLP/JSON
   bodies of 100 spans at 10 requests/s (1,000 spans/s) for 60 s (10 s with --quick), then
   stops it and counts the spans stored
4. one generated DeepEval test run with a 10,000-span trace: process start -> first paint
   of the span tree in a real pty, `deepeval inspect FILE` (deepeval installed in its own
   venv, bench/data/deepeval-venv) against `python -m evaltui STORE --run RUN`, enter, `t`
   (after `evaltui import FILE` into a fresh store, timed separately)

Paint times come from SpanTree's own `render_lines` calls (patched in the benchmarked
process), never from pilot sleeps. Every UI repetition runs in a fresh process. The code
measured is a copy of evaltui/ taken at the start, so that edits made meanwhile cannot mix
two versions into one run. All traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import gc
import hashlib
import importlib.util
import json
import os
import pty
import random
import re
import select
import shutil
import signal
import socket
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

from common import CODE_ENV, ROOT, Stat, code_dir, evaltui_argv, machine, pooled, ro_connect

sys.path.insert(0, os.environ.get(CODE_ENV, str(ROOT)))

DATA = ROOT / "bench" / "data"
SAMPLE_STORE = ROOT / "sample_data" / "store.db"
TRACE_STORE = DATA / "traces_store.db"
IMPORT_STORE = DATA / "traces_import_store.db"
COLLECT_STORE = DATA / "traces_collect_store.db"
DEEPEVAL_DIR = DATA / "deepeval_10k"
DEEPEVAL_VENV = DATA / "deepeval-venv"
RESULTS = ROOT / "bench" / "results_traces.json"
COLS, ROWS = 120, 40
BIG_TRACE_SPANS = 10_000
ROOT_SPAN = "orchestrator-root"  # the root span's name in the DeepEval file: the paint marker
ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[PX^_][^\x1b]*\x1b\\|.)")
CASE_ROW = re.compile(r"\d (pass|FAIL|ERR ) ")  # a CaseTable data row: "idx status ..."
now = time.perf_counter

Call = tuple[str, tuple[Any, ...]]


# ---------------------------------------------------------------------------------- results


@dataclass
class Row:
    measure: str
    unit: str
    stat: Stat | None
    target: float | None = None
    op: str = "<"  # the median passes when `median op target`: "<", ">=" or "=="
    floor: Stat | None = None
    floor_label: str = ""
    floor_unit: str = ""
    note: str = ""
    samples: list[float] = field(default_factory=list)
    ratio_target: float | None = None  # pass also needs the ratio below it

    @property
    def ratio(self) -> float | None:
        if self.stat is None or self.floor is None or not self.floor.median:
            return None
        return self.stat.median / self.floor.median

    @property
    def passed(self) -> bool | None:
        checks: list[bool] = []
        if self.target is not None and self.stat is not None:
            value = self.stat.median
            checks.append(
                {"<": value < self.target, ">=": value >= self.target, "==": value == self.target}[
                    self.op
                ]
            )
        if self.ratio_target is not None and self.ratio is not None:
            checks.append(self.ratio < self.ratio_target)
        return all(checks) if checks else None


def fmt(value: float, unit: str) -> str:
    if unit in ("MB", "s"):
        return f"{value:,.1f}" if value >= 1 or unit == "MB" else f"{value:,.2f}"
    return f"{value:,.1f}" if value < 10 and value != int(value) else f"{value:,.0f}"


def fmt_stat(stat: Stat | None, unit: str) -> str:
    if stat is None:
        return "n/a"
    if stat.n == 1:
        return f"{fmt(stat.median, unit)} {unit}"
    span = f"{fmt(stat.min, unit)}\u2013{fmt(stat.max, unit)}"
    return f"{fmt(stat.median, unit)} {unit} ({span}, n={stat.n})"


def table(rows: list[Row]) -> str:
    lines = ["| measure | result | target | floor | ratio | pass |", "|---|---|---|---|---|---|"]
    for r in rows:
        floor = fmt_stat(r.floor, r.floor_unit or r.unit) if r.floor else "\u2014"
        if r.floor_label and r.floor:
            floor = f"{floor} {r.floor_label}"
        op = {"<": "<", ">=": "\u2265", "==": "="}[r.op]
        target = f"{op} {fmt(r.target, r.unit)} {r.unit}" if r.target is not None else "\u2014"
        if r.ratio_target is not None:
            ratio_text = f"ratio < {r.ratio_target}"
            target = ratio_text if r.target is None else f"{target}, {ratio_text}"
        ratio = f"{r.ratio:.2f}\u00d7" if r.ratio is not None else "\u2014"
        ok = {None: "\u2014", True: "yes", False: "**NO**"}[r.passed]
        result = fmt_stat(r.stat, r.unit) + (f" {r.note}" if r.note else "")
        lines.append(f"| {r.measure} | {result} | {target} | {floor} | {ratio} | {ok} |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------- helpers


def make_otlp() -> ModuleType:
    """bench/make_otlp.py as a module (its OTLP/JSON span generator and file writer)."""
    spec = importlib.util.spec_from_file_location("make_otlp", ROOT / "bench" / "make_otlp.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def copy_db(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite file (its WAL included) via the backup API."""
    remove_db(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with (
        contextlib.closing(sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)) as s,
        contextlib.closing(sqlite3.connect(target)) as t,
    ):
        s.backup(t)


def scalar(path: Path, sql: str, params: Sequence[Any] = ()) -> Any:
    with contextlib.closing(ro_connect(path)) as conn:
        row = conn.execute(sql, tuple(params)).fetchone()
    return None if row is None else row[0]


def proc_status(pid: int | str = "self") -> dict[str, float]:
    """VmRSS and VmHWM of a process in MB (10^6 bytes)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            fields[key] = int(value.split()[0]) * 1024 / 1e6
    return fields


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_run(argv: list[str], cwd: Path) -> tuple[float, float, str]:
    """(wall s, peak RSS MB, stdout) of `argv`, through `/usr/bin/time -v` (the child's
    maximum resident set size), or getrusage of the children without it."""
    time_v = Path("/usr/bin/time")
    cmd = [str(time_v), "-v", *argv] if time_v.exists() else argv
    t0 = now()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=600)
    wall = now() - t0
    if proc.returncode:
        raise SystemExit(f"{' '.join(argv)} failed:\n{proc.stderr[-2000:]}")
    if time_v.exists():
        found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
        if found is None:
            raise SystemExit(f"no peak RSS from {time_v}: {proc.stderr[-500:]}")
        kb = int(found[1])
    else:
        import resource

        kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, kb * 1024 / 1e6, proc.stdout


def run_child(mode: str, *args: str, quick: bool = False, timeout: float = 300) -> dict[str, Any]:
    """This script in a fresh process (`--child-MODE ARGS`); its last stdout line as JSON."""
    cmd = [sys.executable, str(Path(__file__).resolve()), f"--child-{mode}", *args]
    if quick:
        cmd.append("--quick")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=code_dir())
    lines = proc.stdout.strip().splitlines()
    if proc.returncode or not lines:
        raise SystemExit(f"child {mode} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1])


# ---------------------------------------------------------------------------------- 1: UI


@dataclass
class Paint:
    t: float  # when render_lines returned
    data_rows: int  # data rows drawn in that call
    row_count: int
    cursor: int


class TreePaints:
    """Every SpanTree.render_lines call: its time and what the tree showed."""

    def __init__(self) -> None:
        self.paints: list[Paint] = []
        self._data = 0
        self._changed = asyncio.Event()

    def install(self) -> None:
        from textual.strip import Strip

        from evaltui.ui.widgets.span_tree import SpanTree

        log = self
        line, lines = SpanTree.render_line, SpanTree.render_lines

        def render_line(tree: Any, y: int) -> Strip:
            strip = line(tree, y)
            if y > 0 and int(tree.scroll_y) + y - 1 < tree.row_count:
                log._data += 1
            return strip

        def render_lines(tree: Any, crop: Any) -> list[Strip]:
            log._data = 0
            strips = lines(tree, crop)
            log.paints.append(Paint(now(), log._data, tree.row_count, tree.cursor))
            log._changed.set()
            return strips

        SpanTree.render_line = render_line  # type: ignore[method-assign]
        SpanTree.render_lines = render_lines  # type: ignore[method-assign]

    async def wait(self, after: float, test: Callable[[Paint], bool], timeout: float = 15) -> float:
        """Time of the first paint after `after` that passes `test`."""
        deadline = now() + timeout
        while True:
            for paint in self.paints:
                if paint.t > after and test(paint):
                    return paint.t
            self._changed.clear()
            left = deadline - now()
            if left <= 0:
                raise TimeoutError(f"no such SpanTree paint within {timeout} s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    async def quiet(self, gap: float = 0.15, timeout: float = 5) -> None:
        """Wait until SpanTree has not painted for `gap` seconds."""
        deadline = now() + timeout
        while now() < deadline:
            last = self.paints[-1].t if self.paints else 0.0
            if now() - last >= gap:
                return
            await asyncio.sleep(gap / 4)


async def until(predicate: Callable[[], bool], timeout: float, what: str) -> float:
    deadline = now() + timeout
    while not predicate():
        if now() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)
    return now()


class Stopwatch:
    """Wraps the module-level functions TraceScreen.load calls, to say where its time goes."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, float, float]] = []

    def wrap(self, module: ModuleType, name: str) -> None:
        inner = getattr(module, name)
        watch = self

        if asyncio.iscoroutinefunction(inner):

            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                t0 = now()
                try:
                    return await inner(*args, **kwargs)
                finally:
                    watch.spans.append((name, t0, now()))

            setattr(module, name, timed_async)
        else:

            def timed(*args: Any, **kwargs: Any) -> Any:
                t0 = now()
                try:
                    return inner(*args, **kwargs)
                finally:
                    watch.spans.append((name, t0, now()))

            setattr(module, name, timed)

    def first(self, name: str, after: float) -> tuple[float, float] | None:
        """(start, end) in ms after `after` of the first call of `name` after it."""
        for label, t0, t1 in self.spans:
            if label == name and t0 >= after:
                return (t0 - after) * 1000, (t1 - after) * 1000
        return None


async def ui_child(path: Path, trace_id: str, quick: bool) -> dict[str, Any]:
    """One fresh App: push the trace's screen, expand `plan`, `fanout`, "more", press `n`."""
    import evaltui.ui.screens.trace as trace_module
    from evaltui.store.traces import get_trace
    from evaltui.ui.app import EvalTUI
    from evaltui.ui.screens.runs import RunsScreen
    from evaltui.ui.screens.trace import TraceScreen
    from evaltui.ui.widgets.span_tree import SpanTree

    expands, presses = (3, 10) if quick else (5, 30)
    log = TreePaints()
    log.install()
    watch = Stopwatch()
    for name in ("trace_spans", "trace_scores", "build_tree", "problem_nodes", "score_rollup"):
        watch.wrap(trace_module, name)
    out: dict[str, Any] = {}
    app = EvalTUI(path)
    async with app.run_test(size=(COLS, ROWS)) as pilot:
        await until(
            lambda: isinstance(app.screen, RunsScreen) and bool(app.screen.runs), 30, "runs"
        )
        await pilot.pause(0.3)
        trace = await get_trace(app.store, trace_id)
        assert trace is not None and trace.span_count >= BIG_TRACE_SPANS, trace
        screen = TraceScreen(app.store, trace)

        t0 = now()
        app.push_screen(screen)
        painted = await log.wait(t0, lambda p: p.data_rows > 0)
        out["first_paint"] = (painted - t0) * 1000
        for name in ("trace_spans", "trace_scores", "build_tree", "problem_nodes", "score_rollup"):
            out[f"load_{name}"] = watch.first(name, t0)
        tree = screen.query_one(SpanTree)
        outline = screen.outline
        assert outline is not None

        async def toggle(key: str = "enter") -> float:
            """Press `key`; ms to the first paint with another row count."""
            await log.quiet()
            rows = tree.row_count
            t = now()
            await pilot.press(key)
            painted = await log.wait(t, lambda p: p.row_count != rows)
            return (painted - t) * 1000

        def position(name: str) -> int:
            return next(
                i
                for i, row in enumerate(outline.rows)
                if row.node is not None and row.node.span.name == name
            )

        out["expand_root"] = await toggle()  # the cursor is on the root
        for name, key in (("plan", "expand_plan"), ("invoke_agent fanout", "expand_fanout")):
            at = position(name)
            node = outline.rows[at].node
            assert node is not None
            out[f"{key}_children"] = len(node.children)
            tree.move_to(at)
            for _ in range(expands):
                out.setdefault(key, []).append(await toggle())
                assert outline.is_expanded(node)
                out.setdefault(f"collapse_{key[7:]}", []).append(await toggle())
                assert not outline.is_expanded(node)
        # "N more" under plan, until all 1,000 children are shown
        at = position("plan")
        tree.move_to(at)
        await toggle()
        while True:
            more = next(
                (i for i in range(at + 1, len(outline.rows)) if outline.rows[i].node is None),
                None,
            )
            if more is None or outline.rows[more].depth != outline.rows[at].depth + 1:
                break
            tree.move_to(more)
            out.setdefault("show_more", []).append(await toggle())
        # n: from the top, collapsed
        await pilot.press("c")
        await log.quiet()
        out["problems"] = len(screen.problems)
        for _ in range(min(presses, len(screen.problems) - 1)):
            await log.quiet()
            cursor = tree.cursor
            t = now()
            await pilot.press("n")
            painted = await log.wait(t, lambda p, c=cursor: p.cursor != c)
            out.setdefault("next_problem", []).append((painted - t) * 1000)
            current = tree.current
            assert current is not None and current.node in screen.problems
        out["expand_all"] = await toggle("e")
        out["rows_expanded_all"] = tree.row_count
    return out


async def rss_child(path: Path, trace_id: str) -> dict[str, Any]:
    """A fresh process: app open headless; RSS; open the trace, expand all; peak RSS."""
    from evaltui.store.traces import get_trace
    from evaltui.ui.app import EvalTUI
    from evaltui.ui.screens.runs import RunsScreen
    from evaltui.ui.screens.trace import TraceScreen
    from evaltui.ui.widgets.span_tree import SpanTree

    log = TreePaints()
    log.install()
    app = EvalTUI(path)
    async with app.run_test(size=(COLS, ROWS)) as pilot:
        await until(
            lambda: isinstance(app.screen, RunsScreen) and bool(app.screen.runs), 30, "runs"
        )
        trace = await get_trace(app.store, trace_id)
        assert trace is not None
        await pilot.pause(0.5)
        gc.collect()
        before = proc_status()
        screen = TraceScreen(app.store, trace)
        t0 = now()
        app.push_screen(screen)
        await log.wait(t0, lambda p: p.data_rows > 0)
        tree = screen.query_one(SpanTree)
        rows = tree.row_count
        t1 = now()
        await pilot.press("e")
        await log.wait(t1, lambda p: p.row_count != rows)
        await log.quiet(0.5)
        after = proc_status()
        expanded = tree.row_count
    return {
        "rss_before": before["VmRSS"],
        "hwm_before": before["VmHWM"],
        "rss_after": after["VmRSS"],
        "hwm_after": after["VmHWM"],
        "rows": expanded,
    }


def prepare_trace_store() -> str:
    """Copy sample_data/store.db to bench/data; return its 10,000-span trace (written with
    `write_sample_traces` on the first run when the copy has none)."""
    copy_db(SAMPLE_STORE, TRACE_STORE)

    def big() -> str | None:
        with contextlib.suppress(sqlite3.OperationalError):
            return scalar(
                TRACE_STORE,
                "SELECT trace_id FROM evaltui_traces WHERE span_count >= ?"
                " ORDER BY span_count DESC LIMIT 1",
                (BIG_TRACE_SPANS,),
            )
        return None

    found = big()
    if found is None:
        from evaltui.services.ingest.sample import write_sample_traces

        run_id = scalar(TRACE_STORE, "SELECT id FROM runs ORDER BY started_at, rowid LIMIT 1")
        print(f"  the copy has no 10k trace: writing sample traces on run {run_id}", flush=True)
        write_sample_traces(TRACE_STORE, [run_id], big_trace_spans=BIG_TRACE_SPANS)
        found = big()
    if found is None:
        raise SystemExit("no 10,000-span trace after write_sample_traces")
    return str(found)


async def trace_spans_sql(path: Path, trace_id: str) -> tuple[list[Call], int]:
    """The statements `trace_spans` issues through RunStore (recorded), and its span count."""
    from evaltui.store import RunStore
    from evaltui.store.traces import trace_spans

    store = await RunStore.open(path)
    calls: list[Call] = []
    fetch = store._fetch

    async def recording(sql: str, params: Sequence[Any] = (), **kw: Any) -> list[Any]:
        calls.append((sql, tuple(params)))
        return await fetch(sql, params, **kw)

    store._fetch = recording  # type: ignore[method-assign,assignment]
    try:
        spans = await trace_spans(store, trace_id)
    finally:
        await store.close()
    return calls, len(spans)


def sql_floor(path: Path, calls: Sequence[Call], reps: int) -> list[float]:
    """ms of the statements (fetchall), each repetition on a fresh read-only connection."""
    samples = []
    for i in range(reps + 1):  # the first warms the page cache
        conn = ro_connect(path)
        try:
            t0 = now()
            for sql, params in calls:
                conn.execute(sql, params).fetchall()
            if i:
                samples.append((now() - t0) * 1000)
        finally:
            conn.close()
    return samples


def trace_rows(args: argparse.Namespace) -> list[Row]:
    q = args.quick
    print("1: 10,000-span trace in fresh headless apps", flush=True)
    trace_id = prepare_trace_store()
    calls, spans = asyncio.run(trace_spans_sql(TRACE_STORE, trace_id))
    floor = sql_floor(TRACE_STORE, calls, 5 if q else 20)
    print(f"  trace {trace_id}: {spans} spans; trace_spans SQL {statistics.median(floor):.1f} ms")
    kids = []
    for i in range(2 if q else 5):
        kids.append(run_child("ui", str(TRACE_STORE), trace_id, quick=q))
        k = kids[-1]
        print(
            f"  ui child {i + 1}: first paint {k['first_paint']:.0f} ms, expand plan"
            f" {statistics.median(k['expand_plan']):.1f} ms, n"
            f" {statistics.median(k['next_problem']):.1f} ms",
            flush=True,
        )
    rss = [run_child("rss", str(TRACE_STORE), trace_id) for _ in range(1 if q else 3)]
    for r in rss:
        print(
            f"  rss child: RSS {r['rss_before']:.1f} MB before, peak {r['hwm_after']:.1f} MB"
            f" after ({r['rows']} rows)",
            flush=True,
        )
    first = pooled(kids, "first_paint")
    breakdown = []  # when TraceScreen.load's steps ran, in ms after the push (medians)
    for name in ("trace_spans", "trace_scores", "build_tree", "problem_nodes", "score_rollup"):
        spans_ = [k[f"load_{name}"] for k in kids if k[f"load_{name}"]]
        if spans_:
            start = statistics.median(s for s, _ in spans_)
            end = statistics.median(e for _, e in spans_)
            breakdown.append(f"{name} {start:.0f}\u2013{end:.0f}")
    rows = [
        Row(
            f"1a. TraceScreen pushed \u2192 first SpanTree data row painted ({spans:,} spans)",
            "ms",
            Stat.of(first),
            300,
            floor=Stat.of(floor),
            floor_label="`trace_spans` SQL (sqlite3)",
            note=f"[ms after the push: {', '.join(breakdown)}]" if breakdown else "",
            samples=first,
        )
    ]
    for key, label, target in (
        ("expand_root", "enter on the root (collapsed) \u2192 next paint", None),
        ("expand_plan", "enter on `plan` (1,000 children) \u2192 next paint", 50),
        ("collapse_plan", "enter on `plan` again (collapse) \u2192 next paint", None),
        ("expand_fanout", "enter on `fanout` (5,000 children) \u2192 next paint", 50),
        ("show_more", "enter on \u201cN more\u201d under `plan` \u2192 next paint", None),
        ("expand_all", "`e` (expand all) \u2192 next paint", None),
        ("next_problem", "`n` \u2192 paint with the cursor on the next errored/failing span", 50),
    ):
        samples = pooled(kids, key)
        number = "1c" if key == "next_problem" else "1b"
        rows.append(Row(f"{number}. {label}", "ms", Stat.of(samples), target, samples=samples))
    rows[2].note = f"(shows the first 200 of {kids[0]['expand_plan_children']:,})"
    rows[4].note = f"(shows the first 200 of {kids[0]['expand_fanout_children']:,})"
    rows[-1].note = f"({kids[0]['problems']} such spans; the first ones in display order)"
    growth = [r["hwm_after"] - r["rss_before"] for r in rss]
    hwm_growth = [r["hwm_after"] - r["hwm_before"] for r in rss]
    rows += [
        Row(
            "1d. peak RSS growth: VmHWM after open + `e` \u2212 VmRSS before (fresh process)",
            "MB",
            Stat.of(growth),
            50,
            note=f"(VmHWM\u2212VmHWM {statistics.median(hwm_growth):.1f} MB;"
            f" {rss[0]['rows']:,} rows expanded)",
            samples=growth,
        ),
        Row(
            "1d. peak RSS (VmHWM) of that process",
            "MB",
            Stat.of([r["hwm_after"] for r in rss]),
            samples=[r["hwm_after"] for r in rss],
        ),
    ]
    return rows


# ---------------------------------------------------------------------------------- 2: import


def otlp_file(spans: int, traces: int) -> Path:
    """bench/data/otlp_<n>k.json from make_otlp.write (rewritten when make_otlp.py changes)."""
    path = DATA / f"otlp_{spans // 1000}k.json"
    source = (ROOT / "bench" / "make_otlp.py").read_bytes()
    stamp = hashlib.sha256(source + f"{spans}/{traces}".encode()).hexdigest()
    meta = path.with_suffix(".json.sha256")
    if path.exists() and meta.exists() and meta.read_text() == stamp:
        return path
    t0 = now()
    written = make_otlp().write(path, spans, traces, False)
    meta.write_text(stamp)
    print(f"  wrote {path.name}: {written:,} spans in {now() - t0:.1f} s", flush=True)
    return path


def import_once(file: Path, spans: int) -> tuple[float, float]:
    """Import `file` into a new store (`import` creates it): (wall s, peak RSS MB).

    Not into a copy of sample_data/store.db: make_otlp.py and evaltui/traces/sample.py seed
    their generators alike, so the first trace ids collide and some spans count as
    duplicates there."""
    remove_db(IMPORT_STORE)
    wall, peak, stdout = timed_run(
        evaltui_argv("import", str(file), "--store", str(IMPORT_STORE), "--create", "--json"),
        code_dir(),
    )
    result = json.loads(stdout.strip().splitlines()[-1])
    added = scalar(IMPORT_STORE, "SELECT count(*) FROM evaltui_spans")
    if result["spans"] != spans or added != spans:
        raise SystemExit(f"import of {file.name}: {result['spans']} spans reported, {added} added")
    return wall, peak


def import_rows(args: argparse.Namespace) -> list[Row]:
    q = args.quick
    print("2: evaltui import of OTLP/JSON files", flush=True)
    small = otlp_file(100_000, 100)
    large = otlp_file(300_000, 300)
    runs: dict[str, list[tuple[float, float]]] = {"100k": [], "300k": []}
    for _ in range(1 if q else 3):
        runs["100k"].append(import_once(small, 100_000))
        print(f"  100k: {runs['100k'][-1][0]:.1f} s, {runs['100k'][-1][1]:.0f} MB", flush=True)
    for _ in range(1 if q else 2):
        runs["300k"].append(import_once(large, 300_000))
        print(f"  300k: {runs['300k'][-1][0]:.1f} s, {runs['300k'][-1][1]:.0f} MB", flush=True)
    walls = {k: [w for w, _ in v] for k, v in runs.items()}
    peaks = {k: [p for _, p in v] for k, v in runs.items()}
    mib = {k: f.stat().st_size / 1e6 for k, f in (("100k", small), ("300k", large))}
    return [
        Row(
            "2. `evaltui import` 100,000-span OTLP/JSON \u2192 exit (new store)",
            "s",
            Stat.of(walls["100k"]),
            10,
            note=f"({mib['100k']:.0f} MB file;"
            f" {100_000 / statistics.median(walls['100k']):,.0f} spans/s)",
            samples=walls["100k"],
        ),
        Row(
            "2. peak RSS of that import",
            "MB",
            Stat.of(peaks["100k"]),
            samples=peaks["100k"],
        ),
        Row(
            "2. `evaltui import` 300,000 spans \u2192 exit",
            "s",
            Stat.of(walls["300k"]),
            note=f"({mib['300k']:.0f} MB file)",
            samples=walls["300k"],
        ),
        Row(
            "2. peak RSS of the 300k import (floor: the 100k one) \u2014 memory bounded",
            "MB",
            Stat.of(peaks["300k"]),
            floor=Stat.of(peaks["100k"]),
            floor_label="(100k import)",
            samples=peaks["300k"],
            ratio_target=1.25,
        ),
    ]


# ---------------------------------------------------------------------------------- 3: collect


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def otlp_bodies(count: int, spans: int) -> tuple[list[bytes], list[str]]:
    """`count` OTLP/JSON request bodies of one `spans`-span trace each, and the trace ids."""
    otlp = make_otlp()
    rng = random.Random(4318)
    bodies, trace_ids = [], []
    for index in range(count):
        batch = list(otlp.trace_spans(rng, index, spans))
        trace_ids.append(batch[0]["traceId"])
        doc = {
            "resourceSpans": [
                {"resource": otlp.RESOURCE, "scopeSpans": [{"scope": otlp.SCOPE, "spans": batch}]}
            ]
        }
        bodies.append(json.dumps(doc, separators=(",", ":")).encode())
    return bodies, trace_ids


async def send_all(port: int, bodies: list[bytes], per_second: float) -> list[dict[str, Any]]:
    """POST each body to 127.0.0.1:`port` on a fixed schedule (open loop); one record each."""
    import httpx

    results: list[dict[str, Any]] = []
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", trust_env=False, limits=limits, timeout=30
    ) as client:

        async def send(body: bytes, scheduled: float) -> None:
            t = now()
            record: dict[str, Any] = {"lag": t - scheduled, "sent": t}
            try:
                response = await client.post(
                    "/v1/traces", content=body, headers={"Content-Type": "application/json"}
                )
                record["status"] = response.status_code
            except httpx.HTTPError as error:
                record["status"] = repr(error)
            record["done"] = now()
            results.append(record)

        tasks = []
        t0 = now() + 0.05
        for i, body in enumerate(bodies):
            scheduled = t0 + i / per_second
            await asyncio.sleep(max(0.0, scheduled - now()))
            tasks.append(asyncio.create_task(send(body, scheduled)))
        await asyncio.gather(*tasks)
    return results


def collect_rows(args: argparse.Namespace) -> list[Row]:
    seconds = 10 if args.quick else 60
    per_request, per_second = 100, 10
    print(f"3: evaltui collect, 1,000 spans/s for {seconds} s on 127.0.0.1", flush=True)
    bodies, trace_ids = otlp_bodies(seconds * per_second, per_request)
    sent = len(bodies) * per_request
    copy_db(SAMPLE_STORE, COLLECT_STORE)
    port = free_port()
    log_path = DATA / "traces_collect.log"
    with log_path.open("w") as log:
        argv = evaltui_argv(
            "collect", "--host", "127.0.0.1", "--port", str(port), "--store", str(COLLECT_STORE)
        )
        proc = subprocess.Popen(argv, cwd=code_dir(), stdout=log, stderr=log)
    try:
        deadline = now() + 30
        while "listening on" not in log_path.read_text():
            if proc.poll() is not None or now() > deadline:
                raise SystemExit(f"collect did not start:\n{log_path.read_text()[-2000:]}")
            time.sleep(0.05)
        cpu0 = cpu_seconds(proc.pid)
        t0 = now()
        results = asyncio.run(send_all(port, bodies, per_second))
        # from the first send to the last acknowledgement, plus the first request's slot
        elapsed = max(r["done"] for r in results) - min(r["sent"] for r in results)
        elapsed += 1 / per_second
        cpu = cpu_seconds(proc.pid) - cpu0
        peak = proc_status(proc.pid)["VmHWM"]
        soak = now() - t0
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    stored = scalar(
        COLLECT_STORE,
        "SELECT count(*) FROM evaltui_spans WHERE trace_id IN (SELECT value FROM json_each(?))",
        (json.dumps(trace_ids),),
    )
    ok = [r for r in results if r["status"] == 200]
    errors = len(results) - len(ok)
    latencies = sorted((r["done"] - r["sent"]) * 1000 for r in results)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    lag = max(r["lag"] for r in results) * 1000
    rate = len(ok) * per_request / elapsed
    print(
        f"  {len(results)} requests in {soak:.1f} s, {errors} errors, {stored:,}/{sent:,} stored,"
        f" collector CPU {cpu / soak:.0%}",
        flush=True,
    )
    return [
        Row(
            f"3. collect: spans lost (sent {sent:,}, stored {stored:,})",
            "spans",
            Stat.of([sent - stored]),
            0,
            op="==",
            samples=[sent - stored],
        ),
        Row(
            f"3. collect: spans acknowledged per second over the {seconds} s soak",
            "spans/s",
            Stat.of([rate]),
            990,
            op=">=",
            note=f"(1,000 offered: {per_second}\u00d7{per_request} spans/s;"
            f" max send lag {lag:.0f} ms)",
            samples=[rate],
        ),
        Row(
            "3. collect: failed requests (not 200)",
            "requests",
            Stat.of([errors]),
            0,
            op="==",
            samples=[errors],
        ),
        Row(
            f"3. collect: request latency ({per_request} spans per POST)",
            "ms",
            Stat.of(latencies),
            note=f"p99 {p99:.1f} ms; collector CPU {cpu / soak:.0%} of a core,"
            f" peak RSS {peak:.0f} MB",
            samples=latencies,
        ),
    ]


# ---------------------------------------------------------------------------------- 4: deepeval


def deepeval_test_run(spans: int, seed: int = 20261121) -> dict[str, Any]:
    """A DeepEval TestRun (camelCase JSON) with one test case whose trace has `spans` spans:
    a root agent; `plan` with 1,000 tool children; `fanout` with 5,000 retriever children
    (every 25th with a span metric); a chain 50 deep; the rest agent -> llm -> tool ->
    retriever groups; every 97th span errored."""
    rng = random.Random(seed)
    base = datetime(2026, 11, 21, 22, 0, 0, tzinfo=UTC)
    buckets = {"base": [], "agent": [], "llm": [], "retriever": [], "tool": []}
    clock = 0  # microseconds since base
    made = 0

    def iso(us: int) -> str:
        return (base + timedelta(microseconds=us)).isoformat(timespec="milliseconds")[:-6] + "Z"

    def add(parent: dict[str, Any] | None, kind: str, name: str, us: int, **extra: Any) -> Any:
        nonlocal clock, made
        made += 1
        start, clock = clock, clock + us
        span: dict[str, Any] = {
            "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "name": name,
            "status": "SUCCESS",
            "type": kind,
            "startTime": iso(start),
            "endTime": iso(clock),
            "input": {"step": made},
            "output": f"result {made}",
            **extra,
        }
        if parent is not None:
            span["parentUuid"] = parent["uuid"]
        if made % 97 == 0:
            span["status"], span["error"] = "ERRORED", f"step {made} failed: upstream 503"
        buckets[kind].append(span)
        return span

    def close(span: dict[str, Any]) -> None:
        span["endTime"] = iso(clock)

    def metric(score: float) -> list[dict[str, Any]]:
        return [
            {
                "name": "relevance",
                "threshold": 0.5,
                "success": score >= 0.5,
                "score": score,
                "reason": "deterministic",
                "strictMode": False,
                "flaky": False,
                "evaluationModel": "deterministic",
            }
        ]

    root = add(None, "agent", ROOT_SPAN, 1000, availableTools=["lookup"], agentHandoffs=[])
    plan = add(root, "base", "plan", 500)
    for i in range(min(1000, spans - made)):
        add(plan, "tool", f"lookup_{i}", 50, description="look something up")
    close(plan)
    fan = add(root, "agent", "fanout", 500, availableTools=[], agentHandoffs=[])
    for i in range(min(5000, spans - made)):
        extra = {"metricsData": metric(round(rng.random(), 3))} if i % 25 == 0 else {}
        add(fan, "retriever", f"shard {i}", 10, embedder="fake", topK=3, **extra)
    close(fan)
    parent, chain = root, []
    for depth in range(min(50, spans - made)):
        kind = "base" if depth % 2 == 0 else "llm"
        parent = add(parent, kind, f"deep step {depth}", 200)
        chain.append(parent)
    for span in reversed(chain):
        close(span)
    shape = [("llm", "chat"), ("tool", "fetch"), ("retriever", "retrieve")]
    while made < spans:
        agent = add(root, "agent", f"worker {made}", 100, availableTools=[], agentHandoffs=[])
        under = agent
        for kind, name in shape[: min(len(shape), spans - made)]:
            extra = (
                {"model": "fake-model", "inputTokenCount": 42.0, "outputTokenCount": 7.0}
                if kind == "llm"
                else {}
            )
            under = add(under, kind, name, 100, **extra)
        close(agent)
    close(root)
    trace = {
        "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "name": "bench-trace",
        "status": "SUCCESS",
        "startTime": root["startTime"],
        "endTime": root["endTime"],
        "input": "bench question",
        "output": "bench answer",
        "baseSpans": buckets["base"],
        "agentSpans": buckets["agent"],
        "llmSpans": buckets["llm"],
        "retrieverSpans": buckets["retriever"],
        "toolSpans": buckets["tool"],
    }
    case = {
        "name": "bench_case",
        "input": "bench question",
        "actualOutput": "bench answer",
        "flaky": False,
        "success": True,
        "metricsData": [],
        "runDuration": clock / 1e6,
        "order": 1,
        "trace": trace,
    }
    return {
        "testCases": [case],
        "conversationalTestCases": [],
        "metricsScores": [],
        "traceMetricsScores": {},
        "prompts": [],
        "testPassed": 1,
        "testFailed": 0,
        "runDuration": clock / 1e6,
        "identifier": "bench-deepeval-10k",
        "official": False,
    }


def deepeval_ready() -> tuple[Path | None, str]:
    """The `deepeval` command of bench/data/deepeval-venv (installed there when missing:
    `pip install 'deepeval[inspect]'`, its TUI extra), or None and why not."""
    exe = DEEPEVAL_VENV / "bin" / "deepeval"
    python = DEEPEVAL_VENV / "bin" / "python"

    def has_tui() -> bool:
        probe = [str(python), "-c", "import deepeval.inspect.app"]
        env = os.environ | {"DEEPEVAL_TELEMETRY_OPT_OUT": "1"}
        return subprocess.run(probe, capture_output=True, env=env, cwd=DATA).returncode == 0

    if exe.exists() and has_tui():
        return exe, ""
    print("  installing deepeval[inspect] into bench/data/deepeval-venv", flush=True)
    try:
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(DEEPEVAL_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "deepeval[inspect]"],
            check=True,
            timeout=900,
            capture_output=True,
        )
    except (subprocess.SubprocessError, OSError) as error:
        return None, f"pip could not install deepeval: {error}"
    return (exe, "") if exe.exists() and has_tui() else (None, "deepeval inspect not importable")


class PtyProcess:
    """A child in a real pseudo-terminal of COLS x ROWS; its output is drained and kept."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
        base = {k: v for k, v in os.environ.items() if not k.startswith("TEXTUAL")}
        base.update(TERM="xterm-256color", COLUMNS=str(COLS), LINES=str(ROWS), **(env or {}))
        self.buffer = bytearray()
        self.t0 = now()
        pid, fd = pty.fork()
        if pid == 0:  # child
            try:
                fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
                os.chdir(cwd)
                os.execve(argv[0], argv, base)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd

    def pump(self, timeout: float) -> bool:
        """Read what is there (waiting up to `timeout`); False once the terminal is closed."""
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return True
        try:
            chunk = os.read(self.fd, 1 << 16)
        except OSError:
            return False
        self.buffer += chunk
        return bool(chunk)

    def text_from(self, offset: int) -> str:
        return ANSI.sub("", self.buffer[offset:].decode("utf-8", "replace"))

    def wait_for(self, pattern: re.Pattern[str], timeout: float, start: int = 0) -> float | None:
        """perf_counter time at which `pattern` first showed in the output after byte
        `start`, or None. Only new output (with an overlap) is searched each time."""
        deadline = now() + timeout
        searched = start
        while True:
            alive = self.pump(0.02)
            if pattern.search(self.text_from(max(start, searched - 4096))):
                return now()
            searched = len(self.buffer)
            if not alive or now() > deadline:
                return None

    def send(self, data: bytes) -> None:
        os.write(self.fd, data)

    def finish(self, timeout: float = 5) -> None:
        """Wait for the exit, killing the child after `timeout`."""
        deadline = now() + timeout
        while now() < deadline:
            self.pump(0.02)
            pid, _ = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                break
        else:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                os.kill(self.pid, sig)
                time.sleep(0.3)
                if os.waitpid(self.pid, os.WNOHANG)[0]:
                    break
        os.close(self.fd)


DEEPEVAL_ENV = {
    "DEEPEVAL_TELEMETRY_OPT_OUT": "1",
    "DEEPEVAL_UPDATE_WARNING_OPT_IN": "0",
    "NO_PROXY": "*",
}


def deepeval_paint(exe: Path, file: Path) -> float:
    """Spawn `deepeval inspect FILE` -> the root span's name drawn (s)."""
    proc = PtyProcess([str(exe), "inspect", str(file)], cwd=DEEPEVAL_DIR, env=DEEPEVAL_ENV)
    seen = proc.wait_for(re.compile(re.escape(ROOT_SPAN)), 120)
    with contextlib.suppress(OSError):
        proc.send(b"q")
    proc.finish()
    if seen is None:
        raise SystemExit(f"deepeval inspect never drew {ROOT_SPAN}:\n{proc.text_from(0)[-2000:]}")
    return seen - proc.t0


def evaltui_paint(store: Path, run_id: str) -> tuple[float, float]:
    """Spawn `evaltui STORE --run RUN`, enter on the case, `t` -> the root span's name drawn:
    (spawn -> drawn s, `t` sent -> drawn s)."""
    proc = PtyProcess(evaltui_argv(str(store), "--run", run_id[:8]), cwd=code_dir())
    try:
        if proc.wait_for(CASE_ROW, 60) is None:
            raise SystemExit(f"case row never drawn:\n{proc.text_from(0)[-2000:]}")
        mark = len(proc.buffer)
        proc.send(b"\r")
        if proc.wait_for(re.compile(r"Trace(?!s)"), 30, start=mark) is None:
            raise SystemExit(f"case screen never drawn:\n{proc.text_from(mark)[-2000:]}")
        mark = len(proc.buffer)
        t_key = now()
        proc.send(b"t")
        seen = proc.wait_for(re.compile(re.escape(ROOT_SPAN)), 60, start=mark)
        if seen is None:
            raise SystemExit(f"span tree never drawn:\n{proc.text_from(mark)[-2000:]}")
        return seen - proc.t0, seen - t_key
    finally:
        with contextlib.suppress(OSError):
            proc.send(b"q")  # the app's quit key, on any screen
        proc.finish()


def deepeval_rows(args: argparse.Namespace) -> list[Row]:
    q = args.quick
    print("4: deepeval inspect vs evaltui on one 10,000-span DeepEval test run", flush=True)
    exe, why = deepeval_ready()
    DEEPEVAL_DIR.mkdir(parents=True, exist_ok=True)
    file = DEEPEVAL_DIR / "test_run_bench_10k.json"
    data = deepeval_test_run(BIG_TRACE_SPANS)
    file.write_text(json.dumps(data))
    spans = sum(
        len(data["testCases"][0]["trace"][k])
        for k in data["testCases"][0]["trace"]
        if k.endswith("Spans")
    )
    store = DEEPEVAL_DIR / "store.db"
    imports, run_id = [], ""
    for _ in range(1 if q else 3):
        remove_db(store)
        wall, _, stdout = timed_run(
            evaltui_argv("import", str(file), "--store", str(store), "--create", "--json"),
            code_dir(),
        )
        result = json.loads(stdout.strip().splitlines()[-1])
        if result["spans"] != spans:
            raise SystemExit(f"evaltui import: {result['spans']} spans, not {spans}")
        imports.append(wall)
        run_id = str(result["run_id"])
    reps = 2 if q else 5
    ours, ours_key, theirs = [], [], []
    evaltui_paint(store, run_id)  # warm-ups (not counted)
    if exe is not None:
        deepeval_paint(exe, file)
    for _ in range(reps):
        total, after_key = evaltui_paint(store, run_id)
        ours.append(total * 1000)
        ours_key.append(after_key * 1000)
        if exe is not None:
            theirs.append(deepeval_paint(exe, file) * 1000)
        print(
            f"  evaltui {ours[-1]:.0f} ms"
            + (f", deepeval inspect {theirs[-1]:.0f} ms" if theirs else ""),
            flush=True,
        )
    version = ""
    if exe is not None:
        probe = subprocess.run(
            [
                str(DEEPEVAL_VENV / "bin" / "python"),
                "-c",
                "import deepeval; print(deepeval.__version__)",
            ],
            capture_output=True,
            text=True,
            cwd=DEEPEVAL_DIR,
            env=os.environ | DEEPEVAL_ENV,
        )
        version = probe.stdout.strip()
    theirs_stat = Stat.of(theirs) if theirs else None
    rows = [
        Row(
            f"4. `evaltui import` of the DeepEval file ({spans:,} spans, fresh store)",
            "s",
            Stat.of(imports),
            samples=imports,
        ),
        Row(
            "4. evaltui: spawn \u2192 run \u2192 enter \u2192 `t` \u2192 span tree drawn (pty)",
            "ms",
            Stat.of(ours),
            floor=theirs_stat,
            floor_label=f"`deepeval inspect` {version}".strip(),
            note="(ratio: evaltui / deepeval)",
            samples=ours,
        ),
        Row(
            "4. evaltui: `t` sent \u2192 span tree drawn (pty)",
            "ms",
            Stat.of(ours_key),
            samples=ours_key,
        ),
    ]
    if theirs_stat is not None:
        rows.append(
            Row(
                f"4. `deepeval inspect FILE` {version}: spawn \u2192 span tree drawn (pty)",
                "ms",
                theirs_stat,
                samples=theirs,
            )
        )
    else:
        rows.append(Row("4. `deepeval inspect`: skipped", "ms", None, note=f"({why})"))
    return rows


# ---------------------------------------------------------------------------------- main


def snapshot_code(tries: int = 6) -> tuple[Path, str]:
    """Copy evaltui/ to a temporary folder that imports cleanly (retrying while others are
    mid-edit); make this process and its children use it. Returns (folder, sha256 of it)."""
    for attempt in range(tries):
        folder = Path(tempfile.mkdtemp(prefix="evaltui-bench-traces-"))
        shutil.copytree(
            ROOT / "evaltui", folder / "evaltui", ignore=shutil.ignore_patterns("__pycache__")
        )
        check = subprocess.run(
            [
                sys.executable,
                "-c",
                "import evaltui.ui.app, evaltui.cli.main, evaltui.ui.screens.trace",
            ],
            cwd=folder,
            capture_output=True,
            text=True,
            env=os.environ | {"PYTHONPATH": str(folder)},
        )
        if check.returncode == 0:
            digest = hashlib.sha256()
            for path in sorted((folder / "evaltui").rglob("*")):
                if path.is_file():
                    digest.update(path.relative_to(folder).as_posix().encode())
                    digest.update(path.read_bytes())
            os.environ[CODE_ENV] = os.environ["PYTHONPATH"] = str(folder)
            sys.path.insert(0, str(folder))
            return folder, digest.hexdigest()[:16]
        shutil.rmtree(folder)
        err = check.stderr.strip().splitlines()[-1:]
        print(f"evaltui/ does not import ({err}); retry {attempt + 1}/{tries}", flush=True)
        time.sleep(10)
    raise SystemExit("evaltui/ kept failing to import; nothing measured")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions, a 10 s soak")
    ap.add_argument("--only", help="comma-separated measure numbers, e.g. 1,3")
    ap.add_argument("--child-ui", nargs=2, metavar=("STORE", "TRACE"), help=argparse.SUPPRESS)
    ap.add_argument("--child-rss", nargs=2, metavar=("STORE", "TRACE"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child_ui:
        store, trace_id = args.child_ui
        print(json.dumps(asyncio.run(ui_child(Path(store), trace_id, args.quick))))
        return
    if args.child_rss:
        store, trace_id = args.child_rss
        print(json.dumps(asyncio.run(rss_child(Path(store), trace_id))))
        return
    only = {int(n) for n in args.only.split(",")} if args.only else {1, 2, 3, 4}
    if not only <= {1, 2, 3, 4}:
        ap.error("--only takes numbers from 1 to 4")
    DATA.mkdir(parents=True, exist_ok=True)
    started = now()
    folder, digest = snapshot_code()
    info = machine() | {"evaltui_sha256": digest}
    rows: list[Row] = []
    try:
        if 1 in only:
            rows += trace_rows(args)
        if 2 in only:
            rows += import_rows(args)
        if 3 in only:
            rows += collect_rows(args)
        if 4 in only:
            rows += deepeval_rows(args)
    finally:
        shutil.rmtree(folder)
    info["loadavg_end"] = os.getloadavg()
    info["seconds"] = round(now() - started, 1)
    print(f"\n{table(rows)}\n")
    print(
        f"{info['cpus']} CPUs ({info['cpu']}), Python {info['python']}, SQLite {info['sqlite']},"
        f" textual {info['textual']}, evaltui/ sha256 {digest}; 1-min load"
        f" {info['loadavg_start'][0]:.2f} \u2192 {info['loadavg_end'][0]:.2f}; {info['seconds']} s"
    )
    payload = {
        "machine": info,
        "args": vars(args),
        "table": table(rows),
        "results": [asdict(r) | {"ratio": r.ratio, "passed": r.passed} for r in rows],
    }
    RESULTS.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
