"""Generate large, deterministic benchmark RunStores (the `@deepagents/evals` SQLite format).

    python bench/make_stores.py [--out bench/data] [--only 100k|1m|diff] [--force]

Writes `store_100k.db` (one 100,000-case run plus 4 runs of 1,000), `store_1m.db`
(1,000,000 cases over 1,000 runs in 50 suites) and `store_diff_100k.db` (two 100,000-case runs
of one suite over the same dataset: a baseline and a noisy re-run with a small true regression
on `factuality`, see `PairedGenerator`), skipping a file that exists unless --force.
The schema is exactly `PACKAGE_SCHEMA` (the package's single-column indexes, no others, no
sqlite_stat1), the file ends in WAL mode like the package's stores, and the same arguments
always give the same rows. Every case has 3 scores (`exact`, `levenshtein`, `factuality`);
about 20% of cases fail (a score below 0.5), about 1% errored with a timeout. Completed runs
carry the `RunSummary` JSON that `getRunSummary` (threshold 0.5) would return. Scores are
multiples of 1/4096, so means are exact whatever the summation order.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from json.encoder import encode_basestring
from pathlib import Path
from typing import TypedDict

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from evaltui.store.schema import PACKAGE_SCHEMA  # noqa: E402

BATCH = 5_000  # cases per executemany batch (and per commit)
SHUFFLE_WINDOW = 1_000  # cases are inserted shuffled within windows of this many idx values
BASE_MS = 1_780_000_000_000  # 2026-05-28T20:26:40Z: start of every store's timeline
SCORERS = ("exact", "levenshtein", "factuality")
CATEGORIES = ("math", "science", "history", "geography", "code", "support", "legal", "finance")
MODELS = (
    "gpt-4o-mini",
    "claude-sonnet-4-5",
    "o3-mini",
    "gemini-2.5-flash",
    "gpt-4.1",
    "claude-haiku-4-5",
    "llama-3.3-70b",
    "mistral-large",
)
TIMEOUT_ERROR = json.dumps(
    {
        "name": "Error",
        "message": "timeout exceeded",
        "stack": "Error: timeout exceeded\n"
        "    at Timeout.<anonymous> (file:///home/user/evals/node_modules/@deepagents/evals/"
        "dist/index.js:957:24)\n"
        "    at listOnTimeout (node:internal/timers:585:17)\n"
        "    at process.processTimers (node:internal/timers:521:7)",
    },
    separators=(",", ":"),
)
TASK_FAILED = "Task failed: Error: timeout exceeded"
EXACT_FAILED = 'Output does not exactly match expected. Expected "{}" but got "{}".'
FACT_PREFIX = (
    "The submitted answer is consistent with the expert answer",
    "The submitted answer is a superset of the expert answer",
    "The submitted answer contains all the same details as the expert answer",
    "The submitted answer is a subset of the expert answer",
    "There is a disagreement between the submitted answer and the expert answer",
)
# factuality (score, prefix index) choices for passing and failing verdicts
FACT_PASS = ((1.0, 2), (1.0, 0), (0.75, 1), (0.5, 3))
FACT_FAIL = ((0.0, 4), (0.25, 3))
P_ERROR = 0.01
P_BAD = 0.19 / 0.99  # so that ~20% of all cases (errors included) have a score < 0.5

# ---------------------------------------------------------------------------------- ids

_M122 = (1 << 122) - 1
_M62 = (1 << 62) - 1
_K1 = 0x2545F4914F6CDD1D9E3779B97F4A7C15 & _M122 | 1
_K2 = 0x1CE4E5B9BF58476D1D2B7A8B0C6E5F31 & _M122 | 1


class UuidGen:
    """Unique, uuid4-shaped ids: a bijective mix of a counter, so no collision is possible."""

    def __init__(self, salt: int) -> None:
        self.n = 0
        self.salt = salt & _M122

    def __call__(self) -> str:
        self.n += 1
        x = (self.n * _K1 + self.salt) & _M122
        x ^= x >> 67
        x = (x * _K2) & _M122
        x ^= x >> 59
        x = (x * _K1) & _M122
        x ^= x >> 61
        u = ((x >> 74) << 80) | (4 << 76) | (((x >> 62) & 0xFFF) << 64) | (2 << 62) | (x & _M62)
        h = f"{u:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# ---------------------------------------------------------------------------------- text


class TextPool:
    """A long Zipf-distributed pseudo-word text (built from `seed`); `take(n)` slices about n
    chars at a random word start drawn from `rng`."""

    def __init__(
        self, seed: int, rng: random.Random, n_words: int = 400_000, vocab: int = 6_000
    ) -> None:
        self.rng = rng
        rng = random.Random(seed)
        syll = [c + v for c in "bcdfghjklmnprstvwz" for v in "aeiou"] + ["th", "qu", "ch", "st"]
        words: list[str] = []
        seen: set[str] = set()
        while len(words) < vocab:
            w = "".join(rng.choice(syll) for _ in range(rng.choice((1, 1, 2, 2, 2, 3, 3, 4))))
            if w not in seen:
                seen.add(w)
                words.append(w)
        cum: list[float] = []
        acc = 0.0
        for rank in range(1, vocab + 1):
            acc += 1.0 / rank**1.07
            cum.append(acc)
        tokens = rng.choices(words, cum_weights=cum, k=n_words)
        parts: list[str] = []
        starts: list[int] = []
        pos = 0
        sentence = 0
        for w in tokens:
            if sentence == 0:
                w = w.capitalize()
            sentence += 1
            if sentence > 6 and rng.random() < 0.12:
                w += "\n\n" if rng.random() < 0.15 else ". "
                sentence = 0
            elif rng.random() < 0.06:
                w += ", "
            else:
                w += " "
            starts.append(pos)
            parts.append(w)
            pos += len(w)
        self.text = "".join(parts)
        limit = len(self.text) - 4_096
        self.starts = [s for s in starts if s < limit]

    def take(self, n: int) -> str:
        if n <= 0:
            return ""
        o = self.starts[int(self.rng.random() * len(self.starts))]
        return self.text[o : o + n].rstrip()


# ---------------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class Sizes:
    """Inclusive character-length ranges of the generated texts."""

    input: tuple[int, int]
    output: tuple[int, int]
    expected: tuple[int, int]


@dataclass(frozen=True)
class RunSpec:
    model: str
    n_cases: int
    status: str = "completed"  # completed | failed | running
    prompt_version: int = 2


@dataclass(frozen=True)
class Session:
    """Runs started together (one `evaluate()`/web-runner call) in one suite: same started_at."""

    suite: int
    runs: tuple[RunSpec, ...]
    with_config: bool


@dataclass(frozen=True)
class StoreSpec:
    file: str
    seed: int
    suites: tuple[str, ...]
    sessions: tuple[Session, ...]
    sizes: Sizes
    paired: bool = False  # every run re-runs the first run's dataset (`PairedGenerator`)

    @property
    def total_cases(self) -> int:
        return sum(r.n_cases for s in self.sessions for r in s.runs)


def spec_100k() -> StoreSpec:
    small = tuple(RunSpec(m, 1_000) for m in MODELS[:4])
    return StoreSpec(
        file="store_100k.db",
        seed=100_000,
        suites=("bench-small", "bench-100k"),
        sessions=(
            Session(0, small, with_config=False),
            Session(1, (RunSpec("claude-sonnet-4-5", 100_000),), with_config=True),
        ),
        sizes=Sizes(input=(200, 2_000), output=(200, 2_000), expected=(0, 500)),
    )


def spec_1m() -> StoreSpec:
    rng = random.Random(1_000_001)
    domains = [
        "qa",
        "support",
        "sql",
        "summarize",
        "rag",
        "codegen",
        "extract",
        "translate",
        "classify",
        "math",
    ]
    aspects = ("accuracy", "regression", "smoke", "nightly", "edge-cases")
    names = rng.sample([f"{d}-{a}" for d in domains for a in aspects], 46)
    names += rng.sample(names, 3)  # `.failed()` retries create suites with an existing name
    n_small = 999
    # 900 runs of 901 cases + 99 of 900 = 900,000; plus the 100,000-case run = 1,000,000
    sizes = [901] * 900 + [900] * 99
    rng.shuffle(sizes)
    special = rng.sample(range(n_small), 10)
    status = dict.fromkeys(special[:6], "failed") | dict.fromkeys(special[6:], "running")
    per_suite = [n_small // len(names) + (i < n_small % len(names)) for i in range(len(names))]
    sessions: list[Session] = []
    k = 0
    for suite, count in enumerate(per_suite):
        left = count
        while left:
            m = min(left, rng.choice((1, 2, 2, 3, 4)))
            models = rng.sample(MODELS, m)
            runs = tuple(
                RunSpec(models[j], sizes[k + j], status.get(k + j, "completed")) for j in range(m)
            )
            sessions.append(Session(suite, runs, with_config=rng.random() < 0.5))
            k += m
            left -= m
    rng.shuffle(sessions)  # interleave suites over the timeline
    big = len(names)
    sessions.append(Session(big, (RunSpec("claude-sonnet-4-5", 100_000),), with_config=True))
    return StoreSpec(
        file="store_1m.db",
        seed=1_000_000,
        suites=(*names, "bench-1m"),
        sessions=tuple(sessions),
        sizes=Sizes(input=(100, 600), output=(100, 600), expected=(0, 200)),
    )


def spec_diff() -> StoreSpec:
    """A baseline and a re-run of the same 100,000-item dataset in one suite."""
    return StoreSpec(
        file="store_diff_100k.db",
        seed=200_000,
        suites=("bench-diff",),
        sessions=(
            Session(0, (RunSpec("claude-sonnet-4-5", 100_000),), with_config=True),
            Session(0, (RunSpec("claude-sonnet-4-5", 100_000, prompt_version=3),), True),
        ),
        sizes=Sizes(input=(200, 2_000), output=(200, 2_000), expected=(0, 500)),
        paired=True,
    )


SPECS: dict[str, Callable[[], StoreSpec]] = {"100k": spec_100k, "1m": spec_1m, "diff": spec_diff}

# ---------------------------------------------------------------------------------- generation


class RunSummary(TypedDict):
    """The package's `RunSummary`, in its key order."""

    totalCases: int
    passCount: int
    failCount: int
    meanScores: dict[str, int | float]
    totalLatencyMs: int
    totalTokensIn: int
    totalTokensOut: int


def js_number(x: float) -> int | float:
    """Format like JSON.stringify: an integral float is written without a fraction."""
    return int(x) if x.is_integer() else x


class Generator:
    """Writes one store through a single connection."""

    def __init__(self, spec: StoreSpec, conn: sqlite3.Connection) -> None:
        self.spec = spec
        self.conn = conn
        self.rng = random.Random(spec.seed)
        self.new_id = UuidGen(spec.seed * 0x9E3779B97F4A7C15)
        self.pool = TextPool(spec.seed + 1, self.rng)
        self.done = 0
        self.t0 = time.perf_counter()
        self.t_print = self.t0

    def progress(self, final: bool = False) -> None:
        now = time.perf_counter()
        if final or now - self.t_print >= 5:
            self.t_print = now
            el = now - self.t0
            print(
                f"  {self.done:>9,} / {self.spec.total_cases:,} cases"
                f"  {el:6.1f} s  {self.done / el:,.0f} cases/s",
                flush=True,
            )

    def run(self) -> None:
        conn, rng, spec = self.conn, self.rng, self.spec
        suite_ids = [self.new_id() for _ in spec.suites]
        suite_created: set[int] = set()
        clock = BASE_MS
        for sess in spec.sessions:
            if sess.suite not in suite_created:
                suite_created.add(sess.suite)
                conn.execute(
                    "INSERT INTO suites (id, name, created_at) VALUES (?, ?, ?)",
                    (suite_ids[sess.suite], spec.suites[sess.suite], clock),
                )
                clock += 1
            end = clock
            for r in sess.runs:
                end = max(end, self.run_one(sess, r, suite_ids[sess.suite], clock))
            clock = end + int(rng.random() * 6 * 3_600_000) + 60_000
        self.add_prompts(clock)
        conn.commit()
        self.progress(final=True)

    def add_prompts(self, at: int) -> None:
        rows = [
            ("qa-system", 1, "You are a helpful assistant. Answer concisely."),
            ("qa-system", 2, "You are a helpful assistant. Answer with only the final answer."),
            ("bench-judge", 1, self.pool.take(800)),
        ]
        self.conn.executemany(
            "INSERT INTO prompts (id, name, version, content, created_at) VALUES (?, ?, ?, ?, ?)",
            [(self.new_id(), n, v, c, at - 1_000 * (3 - i)) for i, (n, v, c) in enumerate(rows)],
        )

    def run_one(self, sess: Session, r: RunSpec, suite_id: str, started: int) -> int:
        """Insert one run with its cases and scores; return its finished_at (or started_at)."""
        conn, suite = self.conn, self.spec.suites[sess.suite]
        run_id = self.new_id()
        config = None
        if sess.with_config:
            config = json.dumps(
                {
                    "taskMode": "prompt",
                    "promptName": "qa-system",
                    "promptVersion": r.prompt_version,
                    "dataset": f"{suite}.jsonl",
                    "model": r.model,
                    "scorers": list(SCORERS),
                    "maxConcurrency": 10,
                    "timeout": 30_000,
                    "trials": 1,
                    "threshold": 0.5,
                },
                separators=(",", ":"),
            )
        conn.execute(
            "INSERT INTO runs (id, suite_id, name, model, config, started_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (run_id, suite_id, f"{suite} [{r.model}]", r.model, config, started),
        )
        totals = self.write_cases(run_id, r.n_cases)
        if r.status == "running":
            return started
        finished = started + totals["totalLatencyMs"] // 10 + 2 * r.n_cases + 1
        summary = None
        if r.status == "completed":
            summary = json.dumps(totals, separators=(",", ":"), ensure_ascii=False)
        conn.execute(
            "UPDATE runs SET finished_at = ?, status = ?, summary = ? WHERE id = ?",
            (finished, r.status, summary, run_id),
        )
        return finished

    def write_cases(self, run_id: str, n: int) -> RunSummary:
        """Insert n cases (shuffled within windows) and their scores; return the RunSummary."""
        conn, rng, new_id = self.conn, self.rng, self.new_id
        rnd, take = rng.random, self.pool.take
        lognorm = rng.lognormvariate
        (in_lo, in_hi), (out_lo, out_hi), (ex_lo, ex_hi) = (
            self.spec.sizes.input,
            self.spec.sizes.output,
            self.spec.sizes.expected,
        )
        in_span, out_span, ex_span = in_hi - in_lo + 1, out_hi - out_lo + 1, ex_hi - ex_lo + 1
        n_cat = len(CATEGORIES)
        sums = [0.0, 0.0, 0.0]
        n_pass = lat_sum = tin_sum = tout_sum = 0
        for b0 in range(0, n, BATCH):
            order: list[int] = []
            for w0 in range(b0, min(b0 + BATCH, n), SHUFFLE_WINDOW):
                win = list(range(w0, min(w0 + SHUFFLE_WINDOW, n)))
                rng.shuffle(win)
                order += win
            cases: list[tuple[object, ...]] = []
            scores: list[tuple[object, ...]] = []
            for idx in order:
                case_id = new_id()
                inp = take(in_lo + int(rnd() * in_span))
                exp = take(ex_lo + int(rnd() * ex_span))
                exp_json = encode_basestring(exp)
                input_json = (
                    f'{{"input":{encode_basestring(inp)},"expected":{exp_json},'
                    f'"category":"{CATEGORIES[int(rnd() * n_cat)]}"}}'
                )
                if rnd() < P_ERROR:
                    latency = 30_000 + int(rnd() * 40)
                    cases.append(
                        (
                            case_id,
                            run_id,
                            idx,
                            input_json,
                            None,
                            exp_json,
                            latency,
                            0,
                            0,
                            TIMEOUT_ERROR,
                        )
                    )
                    lat_sum += latency
                    for name in SCORERS:
                        scores.append((new_id(), case_id, name, 0.0, TASK_FAILED))
                    continue
                out = take(out_lo + int(rnd() * out_span))
                latency = int(lognorm(7.2, 0.6)) + 40
                tin = len(input_json) // 4 + 96 + int(rnd() * 32)
                tout = len(out) // 4 + 1 + int(rnd() * 16)
                cases.append(
                    (case_id, run_id, idx, input_json, out, exp_json, latency, tin, tout, None)
                )
                lat_sum += latency
                tin_sum += tin
                tout_sum += tout
                if rnd() < P_BAD:
                    ex_fail, lev_fail, fact_fail = rnd() < 0.75, rnd() < 0.6, rnd() < 0.5
                    if not (ex_fail or lev_fail or fact_fail):
                        ex_fail = True
                else:
                    ex_fail = lev_fail = fact_fail = False
                    n_pass += 1
                if ex_fail:
                    ex, ex_reason = 0.0, EXACT_FAILED.format(exp, out)
                else:
                    ex, ex_reason = 1.0, None
                lev = (int(rnd() * 2048) + (0 if lev_fail else 2049)) / 4096
                verdicts = FACT_FAIL if fact_fail else FACT_PASS
                fact, pre = verdicts[int(rnd() * len(verdicts))]
                reason_len = 30 + int(rnd() * 271)
                reason = f"{FACT_PREFIX[pre]}. {take(reason_len)}"[:reason_len]
                sums[0] += ex
                sums[1] += lev
                sums[2] += fact
                scores.append((new_id(), case_id, "exact", ex, ex_reason))
                scores.append((new_id(), case_id, "levenshtein", lev, None))
                scores.append((new_id(), case_id, "factuality", fact, reason))
            conn.executemany(
                "INSERT INTO cases (id, run_id, idx, input, output, expected, latency_ms,"
                " tokens_in, tokens_out, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                cases,
            )
            conn.executemany(
                "INSERT INTO scores (id, case_id, scorer_name, score, reason)"
                " VALUES (?, ?, ?, ?, ?)",
                scores,
            )
            conn.commit()
            self.done += len(order)
            self.progress()
        return {
            "totalCases": n,
            "passCount": n_pass,
            "failCount": n - n_pass,
            "meanScores": {s: js_number(v / n) for s, v in zip(SCORERS, sums, strict=True)},
            "totalLatencyMs": lat_sum,
            "totalTokensIn": tin_sum,
            "totalTokensOut": tout_sum,
        }


# A re-run: P_SAME of its cases reproduce the baseline's output and scores exactly; the others
# get a new output whose pass/fail flags are the baseline's with probability P_KEEP and drawn
# afresh otherwise (symmetric noise), and whose `factuality` then fails with probability
# P_REGRESS if it passed (the true regression: about 0.7 * 0.9 * 0.035 = 2.2% of all cases flip
# pass -> fail on factuality beyond the noise).
P_SAME = 0.3
P_KEEP = 0.9
P_REGRESS = 0.035
P_ERROR_AGAIN = 0.5  # a case that timed out in the baseline times out again


@dataclass
class Outcome:
    """One case of a run: what its scores and output were (kept to re-run it)."""

    errored: bool
    output: str | None = None
    flags: tuple[bool, bool, bool] = (False, False, False)  # exact, levenshtein, factuality fail
    scores: tuple[tuple[str, float, str | None], ...] = ()


class PairedGenerator(Generator):
    """Every run is over the same dataset (the same `input` JSON at each idx); the first run
    is the baseline, each later one a noisy re-run of it (`Outcome`, P_* above)."""

    def __init__(self, spec: StoreSpec, conn: sqlite3.Connection) -> None:
        super().__init__(spec, conn)
        self.items: list[tuple[str, str, str]] = []  # (input JSON, expected, expected JSON)
        self.baseline: list[Outcome] = []

    def dataset(self, n: int) -> list[tuple[str, str, str]]:
        rnd, take = self.rng.random, self.pool.take
        (in_lo, in_hi), (ex_lo, ex_hi) = self.spec.sizes.input, self.spec.sizes.expected
        while len(self.items) < n:
            inp = take(in_lo + int(rnd() * (in_hi - in_lo + 1)))
            exp = take(ex_lo + int(rnd() * (ex_hi - ex_lo + 1)))
            exp_json = encode_basestring(exp)
            input_json = (
                f'{{"input":{encode_basestring(inp)},"expected":{exp_json},'
                f'"category":"{CATEGORIES[int(rnd() * len(CATEGORIES))]}"}}'
            )
            self.items.append((input_json, exp, exp_json))
        return self.items

    def draw_flags(self) -> tuple[bool, bool, bool]:
        rnd = self.rng.random
        if rnd() >= P_BAD:
            return False, False, False
        ex_fail, lev_fail, fact_fail = rnd() < 0.75, rnd() < 0.6, rnd() < 0.5
        return (ex_fail or not (lev_fail or fact_fail)), lev_fail, fact_fail

    def scored(self, exp: str, out: str, flags: tuple[bool, bool, bool]) -> Outcome:
        rnd, take = self.rng.random, self.pool.take
        ex_fail, lev_fail, fact_fail = flags
        ex_reason = EXACT_FAILED.format(exp, out) if ex_fail else None
        lev = (int(rnd() * 2048) + (0 if lev_fail else 2049)) / 4096
        verdicts = FACT_FAIL if fact_fail else FACT_PASS
        fact, pre = verdicts[int(rnd() * len(verdicts))]
        reason_len = 30 + int(rnd() * 271)
        reason = f"{FACT_PREFIX[pre]}. {take(reason_len)}"[:reason_len]
        scores = (
            ("exact", 0.0 if ex_fail else 1.0, ex_reason),
            ("levenshtein", lev, None),
            ("factuality", fact, reason),
        )
        return Outcome(False, out, flags, scores)

    def outcome(self, idx: int, exp: str) -> Outcome:
        """The baseline's case at idx (first run), or a re-run of it."""
        rnd = self.rng.random
        out_lo, out_hi = self.spec.sizes.output
        base = self.baseline[idx] if len(self.baseline) > idx else None
        if base is None:
            if rnd() < P_ERROR:
                return Outcome(True)
            flags = self.draw_flags()
        else:
            p_error = (
                P_ERROR_AGAIN if base.errored else P_ERROR * (1 - P_ERROR_AGAIN) / (1 - P_ERROR)
            )
            if rnd() < p_error:
                return Outcome(True)
            if not base.errored and rnd() < P_SAME:
                return base
            flags = base.flags if not base.errored and rnd() < P_KEEP else self.draw_flags()
            if not flags[2] and rnd() < P_REGRESS:
                flags = (flags[0], flags[1], True)
        out = self.pool.take(out_lo + int(rnd() * (out_hi - out_lo + 1)))
        return self.scored(exp, out, flags)

    def write_cases(self, run_id: str, n: int) -> RunSummary:
        """Insert the n cases of a run over the shared dataset (shuffled within windows)."""
        conn, rng, new_id, rnd = self.conn, self.rng, self.new_id, self.rng.random
        items = self.dataset(n)
        first = not self.baseline
        outcomes: list[Outcome] = [self.outcome(idx, items[idx][1]) for idx in range(n)]
        if first:
            self.baseline = outcomes
        sums = dict.fromkeys(SCORERS, 0.0)
        n_pass = lat_sum = tin_sum = tout_sum = 0
        for b0 in range(0, n, BATCH):
            order: list[int] = []
            for w0 in range(b0, min(b0 + BATCH, n), SHUFFLE_WINDOW):
                win = list(range(w0, min(w0 + SHUFFLE_WINDOW, n)))
                rng.shuffle(win)
                order += win
            cases: list[tuple[object, ...]] = []
            scores: list[tuple[object, ...]] = []
            for idx in order:
                case_id = new_id()
                input_json, _, exp_json = items[idx]
                o = outcomes[idx]
                if o.errored or o.output is None:
                    latency = 30_000 + int(rnd() * 40)
                    cases.append(
                        (
                            case_id,
                            run_id,
                            idx,
                            input_json,
                            None,
                            exp_json,
                            latency,
                            0,
                            0,
                            TIMEOUT_ERROR,
                        )
                    )
                    lat_sum += latency
                    scores += [(new_id(), case_id, name, 0.0, TASK_FAILED) for name in SCORERS]
                    continue
                latency = int(rng.lognormvariate(7.2, 0.6)) + 40
                tin = len(input_json) // 4 + 96 + int(rnd() * 32)
                tout = len(o.output) // 4 + 1 + int(rnd() * 16)
                cases.append(
                    (case_id, run_id, idx, input_json, o.output, exp_json, latency, tin, tout, None)
                )
                lat_sum += latency
                tin_sum += tin
                tout_sum += tout
                n_pass += all(score >= 0.5 for _, score, _ in o.scores)
                for name, score, reason in o.scores:
                    sums[name] += score
                    scores.append((new_id(), case_id, name, score, reason))
            conn.executemany(
                "INSERT INTO cases (id, run_id, idx, input, output, expected, latency_ms,"
                " tokens_in, tokens_out, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                cases,
            )
            conn.executemany(
                "INSERT INTO scores (id, case_id, scorer_name, score, reason)"
                " VALUES (?, ?, ?, ?, ?)",
                scores,
            )
            conn.commit()
            self.done += len(order)
            self.progress()
        return {
            "totalCases": n,
            "passCount": n_pass,
            "failCount": n - n_pass,
            "meanScores": {s: js_number(sums[s] / n) for s in SCORERS},
            "totalLatencyMs": lat_sum,
            "totalTokensIn": tin_sum,
            "totalTokensOut": tout_sum,
        }


def build(spec: StoreSpec, out_dir: Path, force: bool) -> None:
    target = out_dir / spec.file
    if target.exists() and not force:
        print(f"{target}: exists, skipped (use --force to rebuild)")
        return
    print(f"{target}: generating {spec.total_cases:,} cases", flush=True)
    tmp = target.with_name(target.name + ".tmp")
    for p in (tmp, *(tmp.with_name(tmp.name + s) for s in ("-wal", "-shm", "-journal"))):
        p.unlink(missing_ok=True)
    t0 = time.perf_counter()
    conn = sqlite3.connect(tmp)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-1048576")  # 1 GiB: the random-key indexes stay in memory
    conn.executescript(PACKAGE_SCHEMA)
    (PairedGenerator if spec.paired else Generator)(spec, conn).run()
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    for p in (target, *(target.with_name(target.name + s) for s in ("-wal", "-shm"))):
        p.unlink(missing_ok=True)
    tmp.rename(target)
    size = target.stat().st_size
    print(
        f"{target}: {size / 2**20:,.0f} MiB, {time.perf_counter() - t0:.1f} s",
        flush=True,
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "data")
    ap.add_argument("--only", choices=sorted(SPECS))
    ap.add_argument("--force", action="store_true", help="rebuild files that already exist")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for key in [args.only] if args.only else list(SPECS):
        build(SPECS[key](), args.out, args.force)


if __name__ == "__main__":
    main()
