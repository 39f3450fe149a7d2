"""Headless performance benchmark of evaltui on the large stores of `bench/make_stores.py`.

    python bench/run_bench.py [--quick] [--only 1,4,6,8]

Measures, in one run, each figure with its raw-SQL floor (stdlib sqlite3, same statements,
same process or machine, same run) where one makes sense, then prints a Markdown table and
writes bench/results.json:

1. open the 100k-case run (OpenRun posted) -> first CaseTable paint with data rows; run index
2. `f` and `plus`/`minus` (failing-only on) -> next CaseTable paint
3. `down`, `pagedown`, `end` -> next CaseTable paint
4. process start -> runs screen painted (real pty, 1M-case store) vs `import textual.app`
5. peak RSS (VmHWM) with the 1M-case store open on its 100k-case run
6. failing-cases first page through RunStore (aiosqlite) vs the same SQL through sqlite3
7. `evaltui summary|failing RUN --json` wall time
8. run diff on store_diff_100k (two 100,000-case runs of one dataset): (a) OpenDiff posted ->
   first DiffTable paint with a data row, the verdict shown; (b) `evaltui diff BASE CAND --json`
   wall time and peak RSS; (c) the floor: the plain SQL join of the two runs on idx, with their
   scores, on a copy of the store given an index on cases(run_id, idx)

Paint times come from CaseTable's own `render_lines` calls (patched in the benchmarked
process), never from pilot sleeps. Every UI repetition runs in a fresh process. The code
measured is a copy of evaltui/ taken at the start, so that edits made meanwhile cannot mix
two versions into one run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import hashlib
import json
import os
import pty
import re
import select
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from common import CODE_ENV, ROOT, Stat, code_dir, evaltui_argv, machine, pooled, ro_connect

sys.path.insert(0, os.environ.get(CODE_ENV, str(ROOT)))

DATA = ROOT / "bench" / "data"
STORE_100K = DATA / "store_100k.db"
STORE_1M = DATA / "store_1m.db"
STORE_DIFF = DATA / "store_diff_100k.db"
RESULTS = ROOT / "bench" / "results.json"
COLS, ROWS = 120, 40
PLACEHOLDER = "\u2026 loading"  # what CaseTable draws for a row it has not fetched yet
ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[PX^_][^\x1b]*\x1b\\|.)")
ROW_DRAWN = re.compile(r"\d (pass|FAIL|ERR ) ")  # a CaseTable data row: "idx status ..."
INDEXED = re.compile(r"pass \d+\s+fail \d+\s+of \d+")  # RunScreen's summary once indexed
now = time.perf_counter

Call = tuple[str, tuple[Any, ...]]


# ---------------------------------------------------------------------------------- results


@dataclass
class Row:
    measure: str
    unit: str
    stat: Stat | None
    target: float | None = None  # pass when the median is below it
    floor: Stat | None = None
    floor_label: str = ""
    note: str = ""
    samples: list[float] = field(default_factory=list)
    ratio_target: float | None = None  # pass when the ratio is below it (and the median
    # below `target` when both are given)

    @property
    def ratio(self) -> float | None:
        if self.stat is None or self.floor is None or not self.floor.median:
            return None
        return self.stat.median / self.floor.median

    @property
    def passed(self) -> bool | None:
        if self.ratio_target is not None and self.ratio is not None:
            below = self.target is None or self.stat is None or self.stat.median < self.target
            return self.ratio < self.ratio_target and below
        if self.target is None or self.stat is None:
            return None
        return self.stat.median < self.target


def fmt(value: float, unit: str) -> str:
    return f"{value:,.1f}" if unit == "MB" or value < 10 else f"{value:,.0f}"


def fmt_stat(stat: Stat | None, unit: str) -> str:
    if stat is None:
        return "n/a"
    if stat.n == 1:
        return f"{fmt(stat.median, unit)} {unit}"
    span = f"{fmt(stat.min, unit)}\u2013{fmt(stat.max, unit)}"
    return f"{fmt(stat.median, unit)} {unit} ({span}, n={stat.n})"


def table(rows: list[Row]) -> str:
    lines = [
        "| measure | result | target | floor (SQL) | ratio | pass |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        floor = fmt_stat(r.floor, "ms") if r.floor else "\u2014"
        if r.floor_label and r.floor:
            floor = f"{floor} {r.floor_label}"
        target = f"< {fmt(r.target, r.unit)} {r.unit}" if r.target is not None else "\u2014"
        if r.ratio_target is not None:
            ratio_text = f"ratio < {r.ratio_target}"
            target = ratio_text if r.target is None else f"{target}, {ratio_text}"
        ratio = f"{r.ratio:.2f}\u00d7" if r.ratio is not None else "\u2014"
        ok = {None: "\u2014", True: "yes", False: "**NO**"}[r.passed]
        result = fmt_stat(r.stat, r.unit) + (f" {r.note}" if r.note else "")
        lines.append(f"| {r.measure} | {result} | {target} | {floor} | {ratio} | {ok} |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------- SQL


def bench_run_id(path: Path, suite: str) -> str:
    """Id of the run named '<suite> [...]' (the 100,000-case run of each store)."""
    with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as conn:
        row = conn.execute(
            "SELECT id FROM runs WHERE name LIKE ? ORDER BY started_at DESC LIMIT 1",
            (f"{suite} [%",),
        ).fetchone()
    if row is None:
        raise SystemExit(f"{path}: no run named '{suite} [...]'; rebuild with make_stores.py")
    return str(row[0])


def replay(conn: sqlite3.Connection, calls: Sequence[Call]) -> float:
    """Run the statements (fetchall) and return the elapsed ms."""
    t0 = now()
    for sql, params in calls:
        conn.execute(sql, params).fetchall()
    return (now() - t0) * 1000


async def captured(
    path: Path, action: Callable[[Any], Awaitable[object]]
) -> tuple[list[Call], float]:
    """The SQL statements (text and parameters) RunStore issues for `action(store)`, and the
    action's own time in ms, measured on a fresh store."""
    from evaltui.store import RunStore

    store = await RunStore.open(path)
    calls: list[Call] = []
    fetch = store._fetch
    chunks = store._chunks

    async def recording(
        sql: str, params: Sequence[Any] = (), *, background: bool = False
    ) -> list[Any]:
        calls.append((sql, tuple(params)))
        return await fetch(sql, params, background=background)

    async def recording_chunks(
        sql: str, params: Sequence[Any] = (), size: int = 5000
    ) -> AsyncIterator[list[Any]]:
        calls.append((sql, tuple(params)))
        async for rows in chunks(sql, params, size):
            yield rows

    store._fetch = recording  # type: ignore[method-assign,assignment]
    store._chunks = recording_chunks  # type: ignore[method-assign,assignment]
    try:
        t0 = now()
        await action(store)
        return calls, (now() - t0) * 1000
    finally:
        await store.close()


def sql_floor(path: Path, calls: Sequence[Call], reps: int) -> Stat:
    """Median of `reps` replays, each on a fresh connection (as a freshly opened run)."""
    samples = []
    for _ in range(reps):
        conn = ro_connect(path)
        try:
            samples.append(replay(conn, calls))
        finally:
            conn.close()
    return Stat.of(samples)


# ---------------------------------------------------------------------------------- 1-3: UI


class PaintLog:
    """Timestamps of CaseTable.render_lines calls (or another table's) and what each drew."""

    def __init__(self) -> None:
        self.paints: list[tuple[float, int, int]] = []  # (time, data rows, placeholder rows)
        self._data = self._placeholders = 0
        self._changed = asyncio.Event()

    def install(self, widget: type[Any] | None = None) -> None:
        from textual.strip import Strip

        from evaltui.ui.widgets.case_table import CaseTable

        table_class = CaseTable if widget is None else widget
        log = self
        line, lines = table_class.render_line, table_class.render_lines

        def render_line(table: Any, y: int) -> Strip:
            strip = line(table, y)
            if y > 0:
                text = strip.text
                if PLACEHOLDER in text:
                    log._placeholders += 1
                elif text.strip():
                    log._data += 1
            return strip

        def render_lines(table: Any, crop: Any) -> list[Strip]:
            log._data = log._placeholders = 0
            strips = lines(table, crop)
            log.paints.append((now(), log._data, log._placeholders))
            log._changed.set()
            return strips

        table_class.render_line = render_line  # type: ignore[method-assign]
        table_class.render_lines = render_lines  # type: ignore[method-assign]

    async def wait(
        self, after: float, *, data: bool = False, complete: bool = False, timeout: float = 15
    ) -> float:
        """Time of the first paint after `after` (with data rows; with no placeholder)."""
        deadline = now() + timeout
        while True:
            for t, n_data, n_placeholders in self.paints:
                if t <= after:
                    continue
                if (data or complete) and not n_data:
                    continue
                if complete and n_placeholders:
                    continue
                return t
            self._changed.clear()
            left = deadline - now()
            if left <= 0:
                raise TimeoutError(f"no CaseTable paint within {timeout} s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    async def quiet(self, gap: float = 0.05, timeout: float = 5) -> None:
        """Wait until CaseTable has not painted for `gap` seconds."""
        deadline = now() + timeout
        while now() < deadline:
            last = self.paints[-1][0] if self.paints else 0.0
            if now() - last >= gap:
                return
            await asyncio.sleep(gap / 4)


async def until(predicate: Callable[[], bool], timeout: float, what: str) -> float:
    deadline = now() + timeout
    while not predicate():
        if now() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.002)
    return now()


async def ui_child(path: Path, run_id: str, cycles: int, presses: int) -> dict[str, Any]:
    """One fresh App: open the run, then time f, plus/minus and cursor keys (ms)."""
    from evaltui.ui.app import EvalTUI
    from evaltui.ui.messages import OpenRun
    from evaltui.ui.screens.run import RunScreen
    from evaltui.ui.screens.runs import RunsScreen

    log = PaintLog()
    log.install()
    out: dict[str, Any] = {}
    app = EvalTUI(path)
    async with app.run_test(size=(COLS, ROWS)) as pilot:
        await until(
            lambda: isinstance(app.screen, RunsScreen) and bool(app.screen.runs), 30, "runs"
        )
        await pilot.pause(0.3)
        runs_screen = app.screen
        assert isinstance(runs_screen, RunsScreen)
        run = next(r for r in runs_screen.runs if r.id == run_id)

        t0 = now()
        app.post_message(OpenRun(run))
        out["open_first_paint"] = (await log.wait(t0) - t0) * 1000
        out["open_data_paint"] = (await log.wait(t0, data=True) - t0) * 1000
        await until(lambda: isinstance(app.screen, RunScreen), 5, "RunScreen")
        screen = app.screen
        assert isinstance(screen, RunScreen)
        out["index_loaded"] = await until(lambda: screen.index is not None, 60, "index") - t0
        out["index_loaded"] *= 1000
        out["index_painted"] = (await log.wait(out["index_loaded"] / 1000 + t0) - t0) * 1000

        async def timed(key: str, prefix: str, gap: float = 0.05) -> None:
            await log.quiet(gap)
            t = now()
            await pilot.press(key)
            first = await log.wait(t)
            done = await log.wait(t, complete=True)
            out.setdefault(f"{prefix}_next", []).append((first - t) * 1000)
            out.setdefault(f"{prefix}_done", []).append((done - t) * 1000)

        # `f` as soon as the index is painted, while the run's summary may still be loading
        await timed("f", "f_early", gap=0.0)
        await timed("f", "f_early")
        out["summary_loaded"] = (
            await until(lambda: screen.summary is not None, 60, "summary") - t0
        ) * 1000
        await log.quiet(0.2)
        for _ in range(cycles):
            await timed("f", "f")
            assert screen.spec.failing_only, "f did not turn failing-only on"
            for key in ("plus", "minus", "minus", "plus"):
                await timed(key, "thr")
            await timed("f", "f")
        out["threshold_after"] = screen.spec.threshold
        await pilot.press("home")
        for _ in range(presses):
            await timed("down", "down")
        await pilot.press("home")
        for _ in range(presses):
            await timed("pagedown", "pgdn")
        for _ in range(presses):
            await log.quiet()
            await pilot.press("home")
            await timed("end", "end")
        out["rows_cached"] = len(screen.rows)
    return out


def run_ui_children(args: argparse.Namespace, run_id: str) -> list[dict[str, Any]]:
    reps = 2 if args.quick else 5
    results = []
    for i in range(reps):
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child-ui", run_id]
        if args.quick:
            cmd.append("--quick")
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=code_dir())
        lines = proc.stdout.strip().splitlines()
        if proc.returncode or not lines:
            raise SystemExit(f"UI child {i} failed:\n{proc.stdout}\n{proc.stderr}")
        results.append(json.loads(lines[-1]))
        print(
            f"  ui child {i + 1}/{reps}: open {results[-1]['open_data_paint']:.0f} ms", flush=True
        )
    return results


# ---------------------------------------------------------------------------------- 8: diff


def diff_run_ids(path: Path) -> tuple[str, str]:
    """(baseline, candidate): the two runs of store_diff_100k, oldest first."""
    with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "SELECT id FROM runs WHERE name LIKE 'bench-diff [%' ORDER BY started_at, rowid"
        ).fetchall()
    if len(rows) != 2:
        raise SystemExit(f"{path}: expected two 'bench-diff' runs; rebuild with make_stores.py")
    return str(rows[0][0]), str(rows[1][0])


async def diff_child(path: Path, base_id: str, cand_id: str) -> dict[str, Any]:
    """One fresh App: post OpenDiff, time the first DiffTable paint with a data row (ms).

    Nothing polls meanwhile (a polling loop would take the GIL from the diff's reader
    thread hundreds of times a second): the paint log wakes the wait, and the time the
    verdict was shown comes from DiffScreen._show_summary, patched."""
    from evaltui.ui.app import EvalTUI
    from evaltui.ui.messages import OpenDiff
    from evaltui.ui.screens.diff import DiffScreen
    from evaltui.ui.screens.runs import RunsScreen
    from evaltui.ui.widgets.diff_table import DiffTable

    log = PaintLog()
    log.install(DiffTable)
    shown: list[float] = []
    show_summary = DiffScreen._show_summary

    def timed_summary(screen: DiffScreen, diff: Any) -> None:
        show_summary(screen, diff)
        shown.append(now())

    DiffScreen._show_summary = timed_summary  # type: ignore[method-assign,assignment]
    out: dict[str, Any] = {}
    app = EvalTUI(path)
    async with app.run_test(size=(COLS, ROWS)) as pilot:
        await until(
            lambda: isinstance(app.screen, RunsScreen) and bool(app.screen.runs), 30, "runs"
        )
        await pilot.pause(0.3)
        runs_screen = app.screen
        assert isinstance(runs_screen, RunsScreen)
        by_id = {run.id: run for run in runs_screen.runs}
        t0 = now()
        app.post_message(OpenDiff(by_id[base_id], by_id[cand_id]))
        painted = await log.wait(t0, data=True, timeout=60)
        screen = app.screen
        assert isinstance(screen, DiffScreen) and screen.diff is not None and shown
        assert len(screen.rows) == len(screen.diff)
        out["first_data_paint"] = (painted - t0) * 1000
        out["diff_computed"] = (shown[0] - t0) * 1000
        verdict = screen.query_one("#diff-verdict").render()
        out["verdict"] = str(verdict)[:80]
        out["cases_compared"] = screen.diff.summary.pairing.compared
    return out


def run_diff_children(args: argparse.Namespace, base_id: str, cand_id: str) -> list[float]:
    reps = 2 if args.quick else 5
    samples = []
    for i in range(reps):
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child-diff", base_id, cand_id]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=code_dir())
        lines = proc.stdout.strip().splitlines()
        if proc.returncode or not lines:
            raise SystemExit(f"diff UI child {i} failed:\n{proc.stdout}\n{proc.stderr}")
        result = json.loads(lines[-1])
        if result["cases_compared"] != 100_000:
            raise SystemExit(f"diff UI child compared {result['cases_compared']} cases")
        samples.append(result["first_data_paint"])
        print(
            f"  diff ui child {i + 1}/{reps}: diff computed {result['diff_computed']:.0f} ms,"
            f" first data rows {result['first_data_paint']:.0f} ms; {result['verdict']!r}",
            flush=True,
        )
    return samples


TIME_V = Path("/usr/bin/time")
RUSAGE_WRAPPER = (
    "import resource, subprocess, sys; "
    "code = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
    "sys.exit(code)"
)


def timed_peak(argv: list[str]) -> tuple[float, float]:
    """(wall ms, peak RSS MB of the process tree) of `argv`, stdout to /dev/null: through
    `/usr/bin/time -v` if present, else a fresh wrapper reading getrusage(RUSAGE_CHILDREN)."""
    if TIME_V.exists():
        cmd = [str(TIME_V), "-v", *argv]
    else:
        cmd = [sys.executable, "-c", RUSAGE_WRAPPER, *argv]
    t0 = now()
    proc = subprocess.run(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=code_dir()
    )
    wall = (now() - t0) * 1000
    if proc.returncode:
        raise SystemExit(f"{' '.join(argv)} failed: {proc.stderr[-2000:]}")
    if TIME_V.exists():
        found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
        if found is None:
            raise SystemExit(f"no peak RSS in the output of {TIME_V}: {proc.stderr[-500:]}")
        kb = int(found[1])
    else:
        kb = int(proc.stderr.strip().splitlines()[-1])
    return wall, kb * 1024 / 1e6


def diff_cli(base_id: str, cand_id: str, reps: int) -> tuple[list[float], list[float]]:
    argv = evaltui_argv("diff", base_id[:8], cand_id[:8], "--json", "--store", str(STORE_DIFF))
    check = subprocess.run(argv, capture_output=True, cwd=code_dir(), timeout=120)
    if check.returncode:
        raise SystemExit(f"{' '.join(argv)} failed: {check.stderr.decode()[-2000:]}")
    if json.loads(check.stdout)["totalCasesCompared"] != 100_000:
        raise SystemExit("evaltui diff --json did not compare 100,000 cases")
    walls, peaks = [], []
    for _ in range(reps):
        wall, peak = timed_peak(argv)
        walls.append(wall)
        peaks.append(peak)
    return walls, peaks


JOIN_SQL = """SELECT a.idx, sa.scorer_name, sa.score, sb.score
FROM cases a
JOIN cases b ON b.run_id = :cand AND b.idx = a.idx
JOIN scores sa ON sa.case_id = a.id
JOIN scores sb ON sb.case_id = b.id AND sb.scorer_name = sa.scorer_name
WHERE a.run_id = :base"""


def join_floor(base_id: str, cand_id: str, reps: int) -> list[float]:
    """The plain per-case per-scorer SQL join of the two runs on idx (fetchall), on a copy of
    the store with an index on cases(run_id, idx) (built untimed), a fresh connection each."""
    folder = Path(tempfile.mkdtemp(prefix="evaltui-bench-floor-"))
    try:
        copy = folder / STORE_DIFF.name
        shutil.copyfile(STORE_DIFF, copy)
        with contextlib.closing(sqlite3.connect(copy)) as conn:
            conn.execute("CREATE INDEX bench_cases_run_idx ON cases(run_id, idx)")
            conn.commit()
        params = {"base": base_id, "cand": cand_id}
        samples = []
        for i in range(reps + 1):  # the first one warms the copy's pages
            conn = ro_connect(copy)
            try:
                t0 = now()
                rows = conn.execute(JOIN_SQL, params).fetchall()
                if i:
                    samples.append((now() - t0) * 1000)
            finally:
                conn.close()
            if len(rows) != 300_000:
                raise SystemExit(f"the floor join returned {len(rows)} rows, not 300,000")
        return samples
    finally:
        shutil.rmtree(folder)


def diff_rows(args: argparse.Namespace) -> list[Row]:
    """Measure 8: the diff screen and `evaltui diff --json` against the SQL join floor."""
    base_id, cand_id = diff_run_ids(STORE_DIFF)
    q = args.quick
    print("8c: floor (SQL join on idx, indexed copy)", flush=True)
    floor = join_floor(base_id, cand_id, 3 if q else 5)
    floor_stat = Stat.of(floor)
    print("8a: diff screen in fresh headless apps", flush=True)
    screen = run_diff_children(args, base_id, cand_id)
    print("8b: evaltui diff --json", flush=True)
    walls, peaks = diff_cli(base_id, cand_id, 2 if q else 5)
    label = "SQL join on idx"
    return [
        Row(
            "8a. OpenDiff \u2192 DiffTable data rows painted, verdict shown (2\u00d7100k)",
            "ms",
            Stat.of(screen),
            1000,
            floor_stat,
            label,
            samples=screen,
            ratio_target=2,
        ),
        Row(
            "8b. `evaltui diff BASE CAND --json > /dev/null` (2\u00d7100k)",
            "ms",
            Stat.of(walls),
            3000,
            floor_stat,
            label,
            samples=walls,
            ratio_target=2,
        ),
        Row(
            "8b. peak RSS of the same (max over its process tree)",
            "MB",
            Stat.of(peaks),
            300,
            samples=peaks,
        ),
        Row(
            "8c. floor: SQL join of the two runs on idx with scores (copy + index on"
            " cases(run_id, idx))",
            "ms",
            floor_stat,
            samples=floor,
        ),
    ]


# ---------------------------------------------------------------------------------- 4-5: pty


class PtyProcess:
    """A child in a real pseudo-terminal of COLS x ROWS; its output is drained and kept."""

    def __init__(self, argv: list[str]) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TEXTUAL")}
        env.update(TERM="xterm-256color", COLUMNS=str(COLS), LINES=str(ROWS))
        self.buffer = bytearray()
        self.status: int | None = None
        self.t0 = now()
        pid, fd = pty.fork()
        if pid == 0:  # child
            try:
                fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
                os.chdir(code_dir())
                os.execve(argv[0], argv, env)
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

    @property
    def text(self) -> str:
        return self.text_from(0)

    def text_from(self, offset: int) -> str:
        """The output from byte `offset` on, without escape sequences."""
        return ANSI.sub("", self.buffer[offset:].decode("utf-8", "replace"))

    def wait_for(self, pattern: re.Pattern[str], timeout: float) -> float | None:
        """perf_counter time at which `pattern` first showed in the output, or None.
        Only new output (plus an overlap for sequences cut between reads) is searched."""
        deadline = now() + timeout
        searched = 0
        while True:
            alive = self.pump(0.05)
            if pattern.search(self.text_from(max(0, searched - 4096))):
                return now()
            searched = len(self.buffer)
            if not alive or now() > deadline:
                return None

    def idle(self, seconds: float) -> None:
        deadline = now() + seconds
        while now() < deadline and self.pump(min(0.05, max(0.0, deadline - now()))):
            pass

    def send(self, data: bytes) -> None:
        os.write(self.fd, data)

    def finish(self, timeout: float = 5) -> float:
        """Wait for the exit (killing the child after `timeout`); return that time."""
        deadline = now() + timeout
        while now() < deadline:
            self.pump(0.02)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = status
                break
        else:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                os.kill(self.pid, sig)
                time.sleep(0.3)
                pid, status = os.waitpid(self.pid, os.WNOHANG)
                if pid:
                    self.status = status
                    break
        t = now()
        os.close(self.fd)
        return t

    def peak_rss_mb(self) -> tuple[float, float]:
        """(VmHWM, VmRSS) in MB (10^6 bytes)."""
        fields = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                fields[key] = int(value.split()[0]) * 1024 / 1e6
        return fields["VmHWM"], fields["VmRSS"]


def measure_startup(reps: int) -> dict[str, list[float]]:
    """Spawn -> 'bench-1m' drawn on the runs screen (and the peak RSS there); spawn -> exit
    of `import textual.app`."""
    marker = re.compile(r"bench-1m")
    startup, exits, imports, peaks = [], [], [], []
    for i in range(reps + 1):  # the first of each is a warm-up
        proc = PtyProcess(evaltui_argv(str(STORE_1M)))
        seen = proc.wait_for(marker, 30)
        proc.idle(0.5)
        hwm, _ = proc.peak_rss_mb()
        proc.send(b"q")
        t_q = now()
        t_exit = proc.finish()
        if seen is None:
            raise SystemExit(f"runs screen never drawn:\n{proc.text[-2000:]}")
        if i:
            startup.append((seen - proc.t0) * 1000)
            exits.append((t_exit - t_q) * 1000)
            peaks.append(hwm)
        imp = PtyProcess([sys.executable, "-c", "import textual.app"])
        t_done = imp.finish(30)
        if i:
            imports.append((t_done - imp.t0) * 1000)
    return {"startup": startup, "exit": exits, "import": imports, "hwm": peaks}


def measure_rss(reps: int, run_prefix: str) -> tuple[list[float], list[float], list[float]]:
    peaks, rss, index_times = [], [], []
    for _ in range(reps):
        proc = PtyProcess(evaltui_argv(str(STORE_1M), "--run", run_prefix))
        drawn = proc.wait_for(ROW_DRAWN, 60)
        if drawn is None:
            proc.send(b"q")
            proc.finish()
            raise SystemExit(f"case rows never drawn:\n{proc.text[-2000:]}")
        indexed = proc.wait_for(INDEXED, 30)
        if indexed is not None:
            index_times.append((indexed - proc.t0) * 1000)
        proc.idle(max(0.0, drawn + 3 - now()))
        for _ in range(6):
            proc.send(b"\x1b[6~")  # PageDown
            proc.idle(0.25)
        proc.idle(1.0)
        hwm, current = proc.peak_rss_mb()
        peaks.append(hwm)
        rss.append(current)
        proc.send(b"\x1b")  # Esc: back to the runs screen, then quit
        proc.idle(0.3)
        proc.send(b"q")
        proc.finish()
    return peaks, rss, index_times


# ---------------------------------------------------------------------------------- 6: SQL


async def failing_page(path: Path, run_id: str, reps: int) -> tuple[list[float], list[float]]:
    """first_case_ids(failing_below=0.5) + case_rows through RunStore vs the same SQL."""
    from evaltui.store import RunStore

    async def page(store: Any) -> None:
        ids = await store.first_case_ids(run_id, 100, failing_below=0.5)
        rows = await store.case_rows(ids)
        assert len(rows) == len(ids) == 100

    calls, _ = await captured(path, page)
    store = await RunStore.open(path)
    conn = ro_connect(path)
    aio: list[float] = []
    raw: list[float] = []
    try:
        await page(store)  # warm-up, both ways
        replay(conn, calls)
        for i in range(reps):
            for which in (0, 1) if i % 2 else (1, 0):  # alternate who goes first
                if which:
                    t0 = now()
                    await page(store)
                    aio.append((now() - t0) * 1000)
                else:
                    raw.append(replay(conn, calls))
    finally:
        conn.close()
        await store.close()
    return aio, raw


# ---------------------------------------------------------------------------------- 7: CLI


def cli_times(command: str, run_prefix: str, reps: int) -> list[float]:
    out = []
    for _ in range(reps):
        argv = evaltui_argv(command, run_prefix, "--store", str(STORE_100K), "--json")
        t0 = now()
        proc = subprocess.run(argv, capture_output=True, cwd=code_dir(), timeout=120)
        out.append((now() - t0) * 1000)
        if proc.returncode:
            raise SystemExit(f"{' '.join(argv)} failed: {proc.stderr.decode()}")
        json.loads(proc.stdout)
    return out


# ---------------------------------------------------------------------------------- main


def snapshot_code(tries: int = 6) -> tuple[Path, str]:
    """Copy evaltui/ to a temporary folder that imports cleanly (retrying while others are
    mid-edit); make this process and its children use it. Returns (folder, sha256 of it)."""
    for attempt in range(tries):
        folder = Path(tempfile.mkdtemp(prefix="evaltui-bench-"))
        shutil.copytree(
            ROOT / "evaltui", folder / "evaltui", ignore=shutil.ignore_patterns("__pycache__")
        )
        check = subprocess.run(
            [sys.executable, "-c", "import evaltui.ui.app, evaltui.cli.main"],
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


def ui_rows(args: argparse.Namespace, only: set[int], run_id: str) -> list[Row]:
    """Measures 1-3: fresh headless apps on the 100k-case run of store_100k."""
    q = args.quick

    async def first_screen(store: Any) -> None:
        await store.count_cases(run_id)
        await store.case_rows(await store.first_case_ids(run_id, 100))

    async def index(store: Any) -> None:
        await store.run_index(run_id)

    rows: list[Row] = []
    if 1 in only:
        open_calls, _ = asyncio.run(captured(STORE_100K, first_screen))
        index_calls, _ = asyncio.run(captured(STORE_100K, index))
        open_floor = sql_floor(STORE_100K, open_calls, 3 if q else 10)
        index_floor = sql_floor(STORE_100K, index_calls, 1 if q else 3)
    kids = run_ui_children(args, run_id)
    if 1 in only:
        for key, label, target, floor, floor_label in (
            ("open_data_paint", "first data rows painted", 300, open_floor, "count+ids+rows"),
            ("index_loaded", "run index loaded (background)", None, index_floor, "run_index"),
            ("summary_loaded", "run summary loaded (background)", None, None, ""),
        ):
            samples = pooled(kids, key)
            rows.append(
                Row(
                    f"1. open 100k run \u2192 {label}",
                    "ms",
                    Stat.of(samples),
                    target,
                    floor,
                    floor_label,
                    samples=samples,
                )
            )
    keys = (
        (2, "f", "f (toggle failing-only)", 300),
        (2, "thr", "plus/minus (failing-only on)", 300),
        (3, "down", "down", 20),
        (3, "pgdn", "pagedown", 20),
        (3, "end", "end (from home)", 20),
    )
    if 2 in only:
        early = [child["f_early_done"][0] for child in kids]
        rows.append(
            Row(
                "2. f at once when the index is painted \u2192 no placeholder",
                "ms",
                Stat.of(early),
                300,
                note="(run summary still loading)",
                samples=early,
            )
        )
    for n, key, label, target in keys:
        if n not in only:
            continue
        for suffix, what in (("next", "next paint"), ("done", "paint with no placeholder")):
            samples = pooled(kids, f"{key}_{suffix}")
            rows.append(
                Row(f"{n}. {label} \u2192 {what}", "ms", Stat.of(samples), target, samples=samples)
            )
    return rows


def startup_rows(quick: bool) -> list[Row]:
    """Measure 4: process start on store_1m in a real pty."""
    st = measure_startup(2 if quick else 5)
    return [
        Row(
            "4. process start \u2192 runs screen painted (store_1m, pty)",
            "ms",
            Stat.of(st["startup"]),
            1500,
            Stat.of(st["import"]),
            "`import textual.app` (not SQL)",
            samples=st["startup"],
        ),
        Row("4. `q` \u2192 process exited", "ms", Stat.of(st["exit"]), samples=st["exit"]),
        Row(
            "4. peak RSS (VmHWM), runs screen only, store_1m",
            "MB",
            Stat.of(st["hwm"]),
            samples=st["hwm"],
        ),
    ]


def rss_rows(quick: bool, run_id: str) -> list[Row]:
    """Measure 5: peak RSS with store_1m open on its 100k-case run."""
    peaks, rss, index_times = measure_rss(1 if quick else 3, run_id[:8])
    rows = [
        Row("5. peak RSS (VmHWM), store_1m, 100k run", "MB", Stat.of(peaks), 150, samples=peaks),
        Row("5. RSS at the end (VmRSS), same", "MB", Stat.of(rss), samples=rss),
    ]
    if index_times:
        rows.append(
            Row(
                "5. spawn \u2192 run indexed (pty, store_1m)",
                "ms",
                Stat.of(index_times),
                samples=index_times,
            )
        )
    return rows


def failing_rows(quick: bool, runs: dict[str, str]) -> list[Row]:
    """Measure 6: the failing-cases first page, RunStore vs sqlite3, on both stores."""
    rows = []
    for label, path in (("100k", STORE_100K), ("1m", STORE_1M)):
        print(f"6: failing-cases first page, store_{label}", flush=True)
        aio, raw = asyncio.run(failing_page(path, runs[label], 3 if quick else 10))
        rows.append(
            Row(
                f"6. failing first page via RunStore, store_{label}",
                "ms",
                Stat.of(aio),
                None,
                Stat.of(raw),
                "same 3 statements",
                samples=aio,
                ratio_target=1.5,
            )
        )
    return rows


def cli_rows(quick: bool, run_id: str) -> list[Row]:
    """Measure 7: the headless CLI as subprocesses, against the SQL it runs."""
    rows = []
    for command, action in (
        ("summary", lambda s: s.run_summary(run_id, 0.5)),
        ("failing", lambda s: s.failing_cases(run_id, 0.5)),
    ):
        calls, _ = asyncio.run(captured(STORE_100K, action))
        floor = sql_floor(STORE_100K, calls, 1 if quick else 3)
        samples = cli_times(command, run_id[:8], 1 if quick else 3)
        rows.append(
            Row(
                f"7. `evaltui {command} RUN --json`, 100k run",
                "ms",
                Stat.of(samples),
                None,
                floor,
                "its SQL",
                samples=samples,
            )
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    ap.add_argument("--only", help="comma-separated measure numbers, e.g. 1,4")
    ap.add_argument("--child-ui", metavar="RUN_ID", help=argparse.SUPPRESS)
    ap.add_argument("--child-diff", nargs=2, metavar="RUN_ID", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child_ui:
        cycles, presses = (1, 10) if args.quick else (3, 30)
        result = asyncio.run(ui_child(STORE_100K, args.child_ui, cycles, presses))
        print(json.dumps(result))
        return
    if args.child_diff:
        print(json.dumps(asyncio.run(diff_child(STORE_DIFF, *args.child_diff))))
        return
    only = {int(n) for n in args.only.split(",")} if args.only else set(range(1, 9))
    if not only <= set(range(1, 9)):
        ap.error("--only takes numbers from 1 to 8")
    needs = {STORE_100K: {1, 2, 3, 6, 7}, STORE_1M: {4, 5, 6}, STORE_DIFF: {8}}
    missing = [p for p, used in needs.items() if used & only and not p.exists()]
    if missing:
        raise SystemExit(f"missing {', '.join(map(str, missing))}: run bench/make_stores.py")
    started = now()
    runs = {}
    if only & needs[STORE_100K]:
        runs["100k"] = bench_run_id(STORE_100K, "bench-100k")
    if only & needs[STORE_1M]:
        runs["1m"] = bench_run_id(STORE_1M, "bench-1m")
    folder, digest = snapshot_code()
    info = machine() | {"evaltui_sha256": digest}
    rows: list[Row] = []
    try:
        if only & {1, 2, 3}:
            print("1-3: opening the 100k-case run in fresh headless apps", flush=True)
            rows += ui_rows(args, only, runs["100k"])
        if 4 in only:
            print("4: process start in a pty (1M-case store)", flush=True)
            rows += startup_rows(args.quick)
        if 5 in only:
            print("5: peak RSS on the 1M-case store's 100k run", flush=True)
            rows += rss_rows(args.quick, runs["1m"])
        if 6 in only:
            rows += failing_rows(args.quick, runs)
        if 7 in only:
            print("7: headless CLI", flush=True)
            rows += cli_rows(args.quick, runs["100k"])
        if 8 in only:
            rows += diff_rows(args)
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
        "results": [asdict(r) | {"ratio": r.ratio, "passed": r.passed} for r in rows],
    }
    RESULTS.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
