"""Re-judging throughput against a fake judge server that answers in 100 ms.

    python bench/bench_judges.py [--cases 1000] [--concurrency 32] [--delay 0.1]
                                 [--repeat 3] [--json]

Scenarios, each against a fresh fake server in its own process (so the server does not share
the runner's interpreter):

1. `openai-compatible` judge (httpx): wall time vs the ideal cases * delay / concurrency
   (target: within 1.25x);
2. the same with 10% of requests answered 429 (`retry-after-ms: 100`): every case must be
   scored exactly once, no errors;
3. the `anthropic` judge through the real SDK (`AsyncAnthropic`) for comparison.

Each scenario runs once to warm up, then `--repeat` times; the table shows the median and the
best wall time (the machine may be shared) and the runner's CPU time per case.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evaltui.jobs import Job, RetryPolicy, RunnerOptions, backend_key  # noqa: E402
from evaltui.judges import BuildContext, Judge, JudgeInput, create_judge  # noqa: E402


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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--delay", type=float, default=0.1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    summaries = asyncio.run(scenarios(args))
    if args.json:
        print(json.dumps({s.scenario: [asdict(f) for f in s.runs] for s in summaries}, indent=2))
    else:
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
    failed = [s.scenario for s in summaries if not s.ok]
    slow = [s.scenario for s in summaries[:1] if s.median.ratio > 1.25]
    if failed or slow:
        print(f"FAILED: not each scored once {failed}; over 1.25x {slow}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
