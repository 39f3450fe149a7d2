"""Re-judging throughput against a fake judge server that answers in 100 ms.

    python bench/bench_judges.py [--cases 1000] [--concurrency 32] [--delay 0.1]
                                 [--repeat 3] [--only judges|ui] [--json]

Scenarios, each against a fresh fake server in its own process (so the server does not share
the runner's interpreter):

1. `openai-compatible` judge (httpx): wall time vs the ideal cases * delay / concurrency
   (target: within 1.25x);
2. the same with 10% of requests answered 429 (`retry-after-ms: 100`): every case must be
   scored exactly once, no errors;
3. the `anthropic` judge through the real SDK (`AsyncAnthropic`) for comparison;
4. the UI stays responsive during the job: the real app, headless (`App.run_test`, 120x40),
   opened on a RunStore of `--cases` cases with an `evaltui.toml` whose `openai-compatible`
   profile points at the fake server (`concurrency = --concurrency`); JobScreen re-judges every
   case while `up`/`down` go to its focused RichLog every 100 ms. Key latency is from the key
   event handed to the driver (as a terminal driver does) to the log's first `render_lines`
   after its scroll action ran (target: median < 50 ms; p95 shown); the event loop's lag is
   the lateness of a 10 ms ticker (p99 and max); the job's wall time (screen pushed -> job
   worker done) is shown against the ideal; the new run must hold every case exactly once,
   with one score each, `completed` (counted with sqlite3 afterwards).

Each scenario runs once to warm up, then `--repeat` times; the table shows the median and the
best wall time (the machine may be shared) and the runner's CPU time per case. The UI measure
uses a fresh store and a fresh App each time; its table shows the median over repetitions of
each repetition's figure, with their range.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evaltui.backends.judges import BuildContext, Judge, JudgeInput, create_judge  # noqa: E402
from evaltui.jobs import Job, RetryPolicy, RunnerOptions, backend_key  # noqa: E402


@dataclass
class Figures:
    scenario: str
    cases: int
    concurrency: int
    wall_s: float
    ideal_s: float
    ratio: float
    cpu_ms_per_case: float
    retries: int
    errors: int
    scored_once: bool


@dataclass
class Summary:
    scenario: str
    runs: list[Figures]

    @property
    def median(self) -> Figures:
        return sorted(self.runs, key=lambda f: f.wall_s)[len(self.runs) // 2]

    @property
    def best(self) -> Figures:
        return min(self.runs, key=lambda f: f.wall_s)

    @property
    def ok(self) -> bool:
        return all(f.scored_once and not f.errors for f in self.runs)


@contextmanager
def fake_server(module: str, *args: str) -> Iterator[str]:
    """Start `python -m tests.fakes.<module>` and yield its base URL; stop it on exit."""
    process = subprocess.Popen(
        [sys.executable, "-m", f"tests.fakes.{module}", *args],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdin is not None
    port = process.stdout.readline().strip()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.stdin.close()
        process.wait(timeout=30)


def make_cases(n: int) -> list[JudgeInput]:
    return [
        JudgeInput(
            case_id=f"case-{i:05d}",
            idx=i,
            input={"input": f"q{i}"},
            output="Paris",
            expected="Paris",
        )
        for i in range(n)
    ]


async def run(
    scenario: str, judge: Judge, cases: list[JudgeInput], concurrency: int, delay: float
) -> Figures:
    limits = {backend_key(judge): concurrency}
    job = Job(
        cases, [judge], options=RunnerOptions(limits=limits, retry=RetryPolicy(max_retries=10))
    )
    seen: Counter[str] = Counter()
    cpu = time.process_time()
    start = time.perf_counter()
    async with job:
        async for result in job:
            seen[result.case_id] += 1
    wall = time.perf_counter() - start
    cpu_ms = (time.process_time() - cpu) * 1000 / len(cases)
    ideal = len(cases) * delay / concurrency
    once = len(seen) == len(cases) and set(seen.values()) == {1}
    return Figures(
        scenario,
        len(cases),
        concurrency,
        round(wall, 3),
        round(ideal, 3),
        round(wall / ideal, 3),
        round(cpu_ms, 2),
        job.totals.retries,
        job.totals.errored,
        once,
    )


async def repeat(name: str, judge: Judge, args: argparse.Namespace) -> Summary:
    cases = make_cases(args.cases)
    await run(name, judge, cases[: args.concurrency], args.concurrency, args.delay)  # warm-up
    runs = [await run(name, judge, cases, args.concurrency, args.delay) for _ in range(args.repeat)]
    aclose = getattr(judge, "aclose", None)
    if aclose is not None:
        await aclose()
    return Summary(name, runs)


async def scenarios(args: argparse.Namespace) -> list[Summary]:
    summaries = []
    delay = str(args.delay)
    for name, rate in (("openai-compatible", "0"), ("openai-compatible, 10% 429", "0.1")):
        with fake_server("openai", "--delay", delay, "--rate-429", rate) as url:
            options = {
                "base_url": f"{url}/v1",
                "model": "fake",
                "max_connections": args.concurrency,
            }
            judge = create_judge("openai-compatible", "bench", options, BuildContext(env={}))
            summaries.append(await repeat(name, judge, args))
    with fake_server("anthropic", "--delay", delay) as url:
        options = {"base_url": url, "api_key": "${BENCH_KEY}", "model": "claude-bench"}
        judge = create_judge("anthropic", "bench", options, BuildContext(env={"BENCH_KEY": "test"}))
        summaries.append(await repeat("anthropic (SDK)", judge, args))
    return summaries


# ------------------------------------------------------------------- 4: UI during the job

COLS, ROWS = 120, 40
KEY_INTERVAL_S = 0.1
TICK_S = 0.01
KEY_TARGET_MS = 50.0
now = time.perf_counter


@dataclass
class UiFigures:
    cases: int
    concurrency: int
    wall_s: float
    ideal_s: float
    ratio: float
    key_median_ms: float
    key_p95_ms: float
    key_max_ms: float
    dispatch_median_ms: float  # key event handed to the driver -> the log's scroll action ran
    presses: int
    missed: int  # presses whose action ran and no paint followed within 2 s (or never ran)
    lag_p99_ms: float
    lag_max_ms: float
    saved: int  # rows of the new run in `cases`
    saved_idx: int  # distinct idx among them
    scores: int  # rows in `scores` for them
    errored: int  # of them with `error` set
    status: str
    saved_once: bool
    key_ms: list[float] = field(default_factory=list)


class LogWatch:
    """Times of the job log's paints (RichLog.render_lines) and of its scroll actions run,
    from the RichLog class patched in this process."""

    def __init__(self) -> None:
        self.paints: list[float] = []
        self.actions: list[float] = []
        self.changed = asyncio.Event()
        self._installed = False

    def reset(self) -> None:
        self.paints.clear()
        self.actions.clear()
        self.changed = asyncio.Event()

    def install(self) -> None:
        if self._installed:
            return
        from textual.strip import Strip
        from textual.widgets import RichLog

        watch = self
        lines = RichLog.render_lines

        def render_lines(log: Any, crop: Any) -> list[Strip]:
            strips = lines(log, crop)
            if log.id == "job-log":
                watch.paints.append(now())
                watch.changed.set()
            return strips

        def timed(action: Callable[[Any], None]) -> Callable[[Any], None]:
            def run(log: Any) -> None:
                action(log)
                if log.id == "job-log":
                    watch.actions.append(now())
                    watch.changed.set()

            return run

        RichLog.render_lines = render_lines  # type: ignore[method-assign,assignment]
        for name in ("action_scroll_up", "action_scroll_down"):  # what `up` and `down` run
            setattr(RichLog, name, timed(getattr(RichLog, name)))
        self._installed = True

    async def until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Wait (woken by paints and actions, else every 50 ms) until `predicate()`."""
        deadline = now() + timeout
        while not predicate():
            left = deadline - now()
            if left <= 0:
                return False
            self.changed.clear()
            with suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(left, 0.05))
        return True

    def painted_after_action(self, sent: float) -> float | None:
        """The first paint after the first scroll action run after `sent`."""
        acted = next((t for t in self.actions if t > sent), None)
        if acted is None:
            return None
        return next((t for t in self.paints if t > acted), None)

    async def key_painted(self, sent: float, timeout: float) -> tuple[float, float] | None:
        """(action ran, paint) times, once that paint happens (None after `timeout` s)."""
        await self.until(lambda: self.painted_after_action(sent) is not None, timeout)
        painted = self.painted_after_action(sent)
        if painted is None:
            return None
        return next(t for t in self.actions if t > sent), painted


WATCH = LogWatch()


def percentile(samples: Sequence[float], pct: int) -> float:
    if len(samples) < 2:
        return samples[0] if samples else float("nan")
    return statistics.quantiles(samples, n=100, method="inclusive")[pct - 1]


def build_store(path: Path, n: int) -> str:
    """A RunStore with one completed run of `n` cases (output and expected "Paris")."""
    from tests.storebuilder import StoreBuilder

    builder = StoreBuilder(path)
    suite = builder.suite("bench-ui")
    run_id = builder.run(suite, "fake")
    for i in range(n):
        builder.case(
            run_id,
            i,
            input={"input": f"q{i}"},
            output="Paris",
            expected="Paris",
            scores={"exact": 1.0},
        )
    builder.finish(run_id)
    builder.close()
    return run_id


def write_config(folder: Path, url: str, concurrency: int) -> Path:
    path = folder / "evaltui.toml"
    path.write_text(
        "[judges.bench]\n"
        'type = "openai-compatible"\n'
        f'base_url = "{url}/v1"\n'
        'model = "fake"\n'
        f"max_connections = {concurrency}\n"
        f"concurrency = {concurrency}\n",
        encoding="utf-8",
    )
    return path


def saved_counts(path: Path, run_id: str) -> tuple[int, int, int, int, str]:
    """(cases, distinct idx, scores, errored, status) of a run, read with sqlite3."""
    with closing(sqlite3.connect(path)) as conn:
        saved, idxs, errored = conn.execute(
            "SELECT count(*), count(DISTINCT idx), count(error) FROM cases WHERE run_id = ?",
            (run_id,),
        ).fetchone()
        (scores,) = conn.execute(
            "SELECT count(*) FROM scores JOIN cases ON cases.id = scores.case_id"
            " WHERE cases.run_id = ?",
            (run_id,),
        ).fetchone()
        (status,) = conn.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
    return int(saved), int(idxs), int(scores), int(errored), str(status)


async def ticker(lags: list[float], done: asyncio.Event) -> None:
    """Lateness (ms) of a 10 ms sleep, over and over, until `done`."""
    while not done.is_set():
        t = now()
        await asyncio.sleep(TICK_S)
        lags.append((now() - t - TICK_S) * 1000)


async def press_keys(
    app: Any, screen: Any, done: asyncio.Event
) -> tuple[list[float], list[float], int]:
    """`up`/`down` to the job's focused RichLog every 100 ms until `done`: the ms from each
    key event handed to the driver to the log's first paint after its action ran, and to the
    action itself; and the presses missed."""
    from textual import events
    from textual.widgets import RichLog

    log = screen.query_one(RichLog)
    log.focus()
    driver = app._driver
    assert driver is not None
    # Until the log can scroll, its scroll keys do nothing (and nothing repaints).
    await WATCH.until(lambda: log.max_scroll_y > 0 or done.is_set(), 60)
    latencies: list[float] = []
    dispatch: list[float] = []
    missed = 0
    for key in itertools.cycle(("up", "down")):
        if done.is_set():
            break
        event = events.Key(key, None)
        event.set_sender(app)
        sent = now()
        driver.send_message(event)
        times = await WATCH.key_painted(sent, timeout=2)
        if times is not None:
            dispatch.append((times[0] - sent) * 1000)
            latencies.append((times[1] - sent) * 1000)
        elif not done.is_set():
            missed += 1
        await asyncio.sleep(max(0.0, sent + KEY_INTERVAL_S - now()))
    return latencies, dispatch, missed


async def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = now() + timeout
    while not predicate():
        if now() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.002)


async def ui_once(url: str, n: int, concurrency: int, delay: float) -> UiFigures:
    """One fresh store and App: re-judge its `n` cases from JobScreen, pressing keys."""
    from evaltui.services.config import load_config
    from evaltui.services.rework import JobPlan
    from evaltui.ui.app import EvalTUI, StartAt
    from evaltui.ui.screens.job import JobScreen
    from evaltui.ui.screens.run import RunScreen

    WATCH.install()
    with tempfile.TemporaryDirectory(prefix="evaltui-bench-ui-") as folder:
        tmp = Path(folder)
        store_path = tmp / "store.db"
        run_id = build_store(store_path, n)
        toml = write_config(tmp, url, concurrency)
        # only this file: no user config, no ./evaltui.toml of the working directory
        config = load_config(toml, cwd=tmp, env={"XDG_CONFIG_HOME": str(tmp / "xdg")})
        profile = config.judge_profile("bench")
        judge = config.build_judge(profile)
        WATCH.reset()
        lags: list[float] = []
        done = asyncio.Event()
        app = EvalTUI(store_path, start=StartAt(run=run_id))
        async with app.run_test(size=(COLS, ROWS)) as pilot:
            await wait_until(
                lambda: isinstance(app.screen, RunScreen) and app.screen.index is not None,
                30,
                "the run screen and its index",
            )
            await pilot.pause(0.2)
            store = app.store
            assert store is not None
            run = await store.resolve_run(run_id)
            ids = (await store.run_index(run.id)).ids
            plan = JobPlan("rejudge", run, tuple(ids), ((profile, judge),), None, 0.5)
            screen = JobScreen(store, plan, config)
            start = now()
            await app.push_screen(screen)
            tick = asyncio.create_task(ticker(lags, done))
            keys = asyncio.create_task(press_keys(app, screen, done))
            try:
                await wait_until(
                    lambda: any(w.node is screen and w.group == "job-run" for w in app.workers),
                    10,
                    "the job's worker",
                )
                worker = next(w for w in app.workers if w.node is screen and w.group == "job-run")
                await worker.wait()
                wall = now() - start
            finally:
                done.set()
                latencies, dispatch, missed = await keys
                await tick
            if not screen.finished or screen.run_id is None:
                raise RuntimeError("the job did not finish")
            new_run = screen.run_id
            await pilot.pause(0.1)
        aclose = getattr(judge, "aclose", None)
        if aclose is not None:
            await aclose()
        saved, idxs, scores, errored, status = saved_counts(store_path, new_run)
    ideal = n * delay / concurrency
    once = saved == idxs == scores == n and not errored and status == "completed"
    return UiFigures(
        n,
        concurrency,
        round(wall, 3),
        round(ideal, 3),
        round(wall / ideal, 3),
        round(statistics.median(latencies), 1) if latencies else float("nan"),
        round(percentile(latencies, 95), 1),
        round(max(latencies, default=float("nan")), 1),
        round(statistics.median(dispatch), 1) if dispatch else float("nan"),
        len(latencies),
        missed,
        round(percentile(lags, 99), 1),
        round(max(lags, default=float("nan")), 1),
        saved,
        idxs,
        scores,
        errored,
        status,
        once,
        [round(ms, 2) for ms in latencies],
    )


@dataclass
class UiSummary:
    runs: list[UiFigures]

    def stat(self, name: str, unit: str = "ms", digits: int = 1) -> str:
        """The median over repetitions of one figure, with its range."""
        values = sorted(float(getattr(f, name)) for f in self.runs)
        median = f"{statistics.median(values):,.{digits}f}{unit}"
        if len(values) == 1:
            return median
        low, high = f"{values[0]:,.{digits}f}", f"{values[-1]:,.{digits}f}"
        return f"{median} ({low}\u2013{high}, n={len(values)})"

    @property
    def key_median_ms(self) -> float:
        return statistics.median(f.key_median_ms for f in self.runs)

    @property
    def ok(self) -> bool:
        return all(f.saved_once and not f.missed and f.presses for f in self.runs)

    @property
    def responsive(self) -> bool:
        return self.key_median_ms < KEY_TARGET_MS


async def ui_scenario(args: argparse.Namespace) -> UiSummary:
    with fake_server("openai", "--delay", str(args.delay), "--rate-429", "0") as url:
        await ui_once(url, args.concurrency * 4, args.concurrency, args.delay)  # warm-up
        runs = []
        for i in range(args.repeat):
            runs.append(await ui_once(url, args.cases, args.concurrency, args.delay))
            f = runs[-1]
            print(
                f"  ui {i + 1}/{args.repeat}: key {f.key_median_ms} ms (p95 {f.key_p95_ms}),"
                f" job {f.wall_s} s, saved {f.saved}",
                file=sys.stderr,
                flush=True,
            )
    return UiSummary(runs)


def ui_table(ui: UiSummary) -> str:
    first, n = ui.runs[0], len(ui.runs)
    yes = {True: "yes", False: "**NO**"}
    none = "\u2014"
    saved = sorted({f"{f.saved}/{f.saved_idx}/{f.scores}/{f.errored}, {f.status}" for f in ui.runs})
    rows = [
        (
            "key latency, median (key event -> next RichLog paint after its action)",
            ui.stat("key_median_ms", " ms"),
            f"< {KEY_TARGET_MS:.0f} ms",
            yes[ui.responsive],
        ),
        ("key latency, p95", ui.stat("key_p95_ms", " ms"), none, none),
        ("key latency, max", ui.stat("key_max_ms", " ms"), none, none),
        (
            "of which key event -> action ran, median",
            ui.stat("dispatch_median_ms", " ms"),
            none,
            none,
        ),
        (
            "keys pressed (every 100 ms) / missed (no paint in 2 s)",
            f"{ui.stat('presses', '', 0)} / {sum(f.missed for f in ui.runs)}",
            "0 missed",
            yes[not any(f.missed for f in ui.runs)],
        ),
        ("event-loop lag, p99 (10 ms ticker)", ui.stat("lag_p99_ms", " ms"), none, none),
        ("event-loop lag, max", ui.stat("lag_max_ms", " ms"), none, none),
        (
            f"job wall time, push -> done (ideal {first.ideal_s} s)",
            f"{ui.stat('wall_s', ' s', 2)}; {ui.stat('ratio', 'x', 2)}",
            none,
            none,
        ),
        (
            "new run: cases / distinct idx / scores / errored, status (sqlite3)",
            f"{'; '.join(saved)} (all {n} runs)" if len(saved) == 1 else "; ".join(saved),
            f"{first.cases} each once, completed",
            yes[all(f.saved_once for f in ui.runs)],
        ),
    ]
    title = f"UI during the job ({first.cases} cases, conc. {first.concurrency}, {COLS}x{ROWS})"
    lines = [f"| {title} | median over runs (range) | target | pass |", "| --- | --- | --- | --- |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--delay", type=float, default=0.1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--only", choices=("judges", "ui"), help="only scenarios 1-3 (judges) or 4 (ui)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()

    summaries: list[Summary] = []
    ui: UiSummary | None = None
    if args.only != "ui":
        summaries = asyncio.run(scenarios(args))
    if args.only != "judges":
        ui = asyncio.run(ui_scenario(args))
    if args.json:
        out: dict[str, Any] = {s.scenario: [asdict(f) for f in s.runs] for s in summaries}
        if ui is not None:
            out["ui during the job"] = [asdict(f) for f in ui.runs]
        print(json.dumps(out, indent=2))
    elif summaries:
        print(
            "| scenario | cases | conc. | ideal s | median s (ratio) | best s (ratio) "
            "| CPU ms/case | retries | errors | each scored once |"
        )
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
        for s in summaries:
            m, b = s.median, s.best
            cells: list[Any] = [
                s.scenario,
                m.cases,
                m.concurrency,
                m.ideal_s,
                f"{m.wall_s} ({m.ratio}x)",
                f"{b.wall_s} ({b.ratio}x)",
                m.cpu_ms_per_case,
                m.retries,
                sum(f.errors for f in s.runs),
                s.ok,
            ]
            print("| " + " | ".join(str(cell) for cell in cells) + " |")
    if ui is not None and not args.json:
        print(("\n" if summaries else "") + ui_table(ui))
    failed = [s.scenario for s in summaries if not s.ok]
    slow = [s.scenario for s in summaries[:1] if s.median.ratio > 1.25]
    if ui is not None and not ui.ok:
        failed.append("ui during the job (a case not saved exactly once, or a key missed)")
    if ui is not None and not ui.responsive:
        slow.append(f"ui key latency median {ui.key_median_ms} ms >= {KEY_TARGET_MS:.0f} ms")
    if failed or slow:
        print(f"FAILED: not each scored once {failed}; too slow {slow}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
