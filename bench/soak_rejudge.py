"""Soak: a 3,000-case re-judge while other processes open, read and write the store.

    python bench/soak_rejudge.py [--cases 3000] [--every 0.05] [--judge-sleep 0.02]
                                 [--concurrency 16] [--repeat 1] [--json]

Issue 8 ("never lose a saved case"): `evaltui rejudge` runs in its own process with a
command judge (`/bin/sh`, no network: it reads the case, sleeps `--judge-sleep`, answers 1)
over every case of a fresh RunStore (WAL, the package's schema), while three other processes
work on the same file every `--every` seconds until the job ends:

* opener: the `sqlite3` shell, `sqlite3 store.db "select count(*) from cases"` (open, read,
  close: what finding 1 needed to lose cases), or Python's sqlite3 if there is no shell;
* reader: Python's sqlite3 opens the store, counts the new run's cases, closes it;
* writer: commits one case and its score per transaction into a run of its own, as the
  package's engine does, and finishes that run (`finishRun`) when told to stop.

Afterwards, with sqlite3: the new run must hold every case exactly once (idx 0..n-1, one
score each) and be `completed`, every commit of the writer must be there, its run finished,
and `PRAGMA integrity_check` must say ok. The table shows the job's wall time, the others'
operations and failures (a busy store counts as a failure of that operation only), and the
load average before and after. `EVALTUI_BENCH_CODE=/path/to/other/checkout` measures another
evaltui (e.g. the code before the fix).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import closing
from pathlib import Path
from typing import Any

from common import code_dir, evaltui_argv, machine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evaltui.store.schema import PACKAGE_SCHEMA  # noqa: E402

BASE_MS = 1_795_000_000_000


def make_store(path: Path, cases: int) -> str:
    """A RunStore with one finished run of `cases` cases; returns the run's id."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode = WAL")
    db.executescript(PACKAGE_SCHEMA)
    suite, run = str(uuid.uuid4()), str(uuid.uuid4())
    db.execute("INSERT INTO suites (id, name, created_at) VALUES (?, 'soak', ?)", (suite, BASE_MS))
    db.execute(
        "INSERT INTO runs (id, suite_id, name, model, config, started_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (run, suite, "soak [m]", "m", json.dumps({"model": "m"}), BASE_MS),
    )
    rows, scores = [], []
    for idx in range(cases):
        case_id = str(uuid.uuid4())
        question = f"question {idx}: " + "lorem ipsum " * 20
        rows.append(
            (case_id, run, idx, json.dumps({"input": question}), f"answer {idx}", f"answer {idx}")
        )
        scores.append((str(uuid.uuid4()), case_id, "exact", 1.0, None))
    db.executemany(
        "INSERT INTO cases (id, run_id, idx, input, output, expected, latency_ms, tokens_in,"
        " tokens_out) VALUES (?, ?, ?, ?, ?, ?, 100, 10, 5)",
        rows,
    )
    db.executemany(
        "INSERT INTO scores (id, case_id, scorer_name, score, reason) VALUES (?, ?, ?, ?, ?)",
        scores,
    )
    db.execute(
        "UPDATE runs SET finished_at = ?, status = 'completed' WHERE id = ?", (BASE_MS + 1, run)
    )
    db.commit()
    db.close()
    return run


# -- the other processes -------------------------------------------------------------------


def role_loop(role: str, store: Path, stop: Path, every: float, out: Path) -> None:
    """One of the other processes: its operation every `every` s until `stop` exists."""
    ops = failures = 0
    errors: dict[str, int] = {}
    shell = shutil.which("sqlite3")
    writer_run: str | None = None
    if role == "writer":
        writer_run = str(uuid.uuid4())
        with sqlite3.connect(store, timeout=10) as db:
            suite = db.execute("SELECT id FROM suites LIMIT 1").fetchone()[0]
            db.execute(
                "INSERT INTO runs (id, suite_id, name, model, config, started_at)"
                " VALUES (?, ?, 'package run', 'm', '{}', ?)",
                (writer_run, suite, int(time.time() * 1000)),
            )
        db.close()
    committed = 0
    while not stop.exists():
        try:
            if role == "opener" and shell:
                done = subprocess.run(
                    [shell, str(store), "select count(*) from cases"],
                    capture_output=True,
                    text=True,
                    timeout=30,
                )
                if done.returncode != 0:
                    raise sqlite3.OperationalError(done.stderr.strip()[:80])
            elif role in ("opener", "reader"):
                db = sqlite3.connect(store, timeout=5)
                try:
                    db.execute(
                        "SELECT COUNT(*) FROM cases WHERE run_id IN"
                        " (SELECT id FROM runs WHERE status = 'running')"
                    ).fetchall()
                finally:
                    db.close()
            else:
                db = sqlite3.connect(store, timeout=5)
                try:
                    with db:
                        case_id = str(uuid.uuid4())
                        db.execute(
                            "INSERT INTO cases (id, run_id, idx, input, output, expected,"
                            " latency_ms, tokens_in, tokens_out, error)"
                            " VALUES (?, ?, ?, '{}', 'o', 'e', 1, 1, 1, NULL)",
                            (case_id, writer_run, committed),
                        )
                        db.execute(
                            "INSERT INTO scores (id, case_id, scorer_name, score, reason)"
                            " VALUES (?, ?, 'exact', 1, NULL)",
                            (str(uuid.uuid4()), case_id),
                        )
                    committed += 1
                finally:
                    db.close()
            ops += 1
        except sqlite3.Error as error:
            failures += 1
            key = str(error)[:60]
            errors[key] = errors.get(key, 0) + 1
        time.sleep(every)
    if writer_run is not None:
        try:
            with sqlite3.connect(store, timeout=30) as db:
                db.execute(
                    "UPDATE runs SET finished_at = ?, status = 'completed' WHERE id = ?",
                    (int(time.time() * 1000), writer_run),
                )
            db.close()
        except sqlite3.Error as error:
            errors[f"finishRun: {error}"[:60]] = 1
            failures += 1
    result = {
        "role": role,
        "ops": ops,
        "failures": failures,
        "errors": errors,
        "committed": committed,
        "run_id": writer_run,
        "shell": bool(shell) if role == "opener" else None,
    }
    out.write_text(json.dumps(result))


def check(store: Path, source: str, writer_run: str) -> dict[str, Any]:
    """What the store holds after the soak (sqlite3, read-write as the package would)."""
    with closing(sqlite3.connect(store, timeout=30)) as db:
        others = (source, writer_run)
        new_runs = db.execute(
            "SELECT id, status FROM runs WHERE id NOT IN (?, ?)", others
        ).fetchall()
        counts: dict[int, int] = {}
        for (idx,) in db.execute("SELECT idx FROM cases WHERE run_id NOT IN (?, ?)", others):
            counts[idx] = counts.get(idx, 0) + 1
        scores = db.execute(
            "SELECT COUNT(*) FROM scores s JOIN cases c ON c.id = s.case_id"
            " WHERE c.run_id NOT IN (?, ?)",
            others,
        ).fetchone()[0]
        writer_rows, writer_status = db.execute(
            "SELECT (SELECT COUNT(*) FROM cases WHERE run_id = r.id), r.status FROM runs r"
            " WHERE r.id = ?",
            (writer_run,),
        ).fetchone() or (0, "-")
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
    return {
        "new_runs": new_runs,
        "counts": counts,
        "scores": scores,
        "writer_rows": writer_rows,
        "writer_status": writer_status,
        "integrity": integrity,
    }


# -- one soak ------------------------------------------------------------------------------


def soak(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    store = folder / "store.db"
    source = make_store(store, args.cases)
    script = f'cat >/dev/null; sleep {args.judge_sleep}; echo \'{{"score": 1, "reason": "ok"}}\''
    config = folder / "evaltui.toml"
    config.write_text(
        f'[judges.soak]\ntype = "command"\nargv = ["/bin/sh", "-c", {json.dumps(script)}]\n'
        f"concurrency = {args.concurrency}\n"
    )
    stop = folder / "stop"
    roles = () if args.alone else ("opener", "reader", "writer")
    others = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--role",
                role,
                "--store",
                str(store),
                "--stop",
                str(stop),
                "--every",
                str(args.every),
                "--out",
                str(folder / f"{role}.json"),
            ]
        )
        for role in roles
    ]
    env = {**os.environ, "PYTHONPATH": str(code_dir())}
    load_before = os.getloadavg()
    start = time.perf_counter()
    try:
        job = subprocess.run(
            evaltui_argv(
                "rejudge",
                source,
                "--judge",
                "soak",
                "--config",
                str(config),
                "--store",
                str(store),
                "--json",
            ),
            capture_output=True,
            text=True,
            env=env,
            timeout=1800,
        )
    finally:
        wall = time.perf_counter() - start
        stop.touch()
        for other in others:
            other.wait(timeout=120)
    load_after = os.getloadavg()
    crashed = {"ops": 0, "failures": 1, "errors": {"crashed": 1}, "committed": 0, "run_id": ""}
    stats = {
        role: json.loads(out.read_text()) if out.exists() else {**crashed, "shell": None}
        for role in roles
        for out in [folder / f"{role}.json"]
    }
    if args.alone:  # the baseline: nobody else on the store
        idle = {"ops": 0, "failures": 0, "errors": {}, "committed": 0, "run_id": "", "shell": None}
        stats = {role: dict(idle) for role in ("opener", "reader", "writer")}
    done: dict[str, Any] = {}
    for line in reversed(job.stdout.splitlines()):
        if line.startswith('{"done"'):
            done = json.loads(line)["done"]
            break
    try:
        checked = check(store, source, stats["writer"]["run_id"])
    except sqlite3.Error as error:  # what the old code could do to a store
        checked = {
            "new_runs": [],
            "counts": {},
            "scores": 0,
            "writer_rows": 0,
            "writer_status": "?",
            "integrity": f"unreadable: {error}",
        }
    counts: dict[int, int] = checked["counts"]
    new_runs = checked["new_runs"]
    scores, integrity = checked["scores"], checked["integrity"]
    writer_rows, writer_status = checked["writer_rows"], checked["writer_status"]
    missing = sum(1 for idx in range(args.cases) if counts.get(idx, 0) == 0)
    twice = sum(1 for n in counts.values() if n > 1)
    once = (
        job.returncode == 0
        and len(new_runs) == 1
        and new_runs[0][1] == "completed"
        and missing == 0
        and twice == 0
        and len(counts) == args.cases
        and scores == args.cases
    )
    return {
        "cases": args.cases,
        "exit_code": job.returncode,
        "stderr_tail": job.stderr.strip().splitlines()[-1:] if job.returncode else [],
        "reported_status": done.get("status"),
        "wall_s": round(wall, 2),
        "cases_per_s": round(args.cases / wall, 1),
        "ideal_s": round(args.cases * args.judge_sleep / args.concurrency, 2),
        "new_runs": [status for _, status in new_runs],
        "saved_distinct": len(counts),
        "missing": missing,
        "saved_twice": twice,
        "scores": scores,
        "every_case_once": once,
        "writer_committed": stats["writer"]["committed"],
        "writer_rows_in_store": writer_rows,
        "writer_run_status": writer_status if not args.alone else "-",
        "integrity": integrity,
        "others": {
            role: {k: stats[role][k] for k in ("ops", "failures", "errors")} for role in roles
        },
        "alone": args.alone,
        "opener_is_sqlite3_shell": stats["opener"]["shell"],
        "loadavg_before": load_before,
        "loadavg_after": load_after,
    }


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| # | wall | cases saved once / missing / twice | new run | others: ops (failed) "
        "| writer's commits kept | integrity | load before → after |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for n, r in enumerate(results, 1):
        others = (
            ", ".join(f"{role} {o['ops']} ({o['failures']})" for role, o in r["others"].items())
            or "none (--alone)"
        )
        lines.append(
            f"| {n} | {r['wall_s']} s (ideal {r['ideal_s']} s) "
            f"| {r['saved_distinct'] - r['saved_twice']} / {r['missing']} / {r['saved_twice']} "
            f"| {', '.join(r['new_runs']) or 'none'} | {others} "
            f"| {r['writer_rows_in_store']} / {r['writer_committed']} ({r['writer_run_status']}) "
            f"| {r['integrity']} | {r['loadavg_before'][0]:.2f} → {r['loadavg_after'][0]:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=3000)
    parser.add_argument("--every", type=float, default=0.05)
    parser.add_argument("--judge-sleep", type=float, default=0.02)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--alone", action="store_true", help="the baseline: the same job, nobody else on the store"
    )
    parser.add_argument("--role", choices=("opener", "reader", "writer"), help=argparse.SUPPRESS)
    parser.add_argument("--store", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--stop", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role:
        role_loop(args.role, args.store, args.stop, args.every, args.out)
        return
    facts = machine()
    results = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="evaltui-soak-") as folder:
            results.append(soak(args, Path(folder)))
    report = {"machine": facts, "code": str(code_dir()), "results": results}
    ok = all(r["every_case_once"] and r["integrity"] == "ok" for r in results)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"evaltui from {code_dir()}; {facts['cpus']} CPUs, SQLite {facts['sqlite']}")
        print(table(results))
        print("every case saved exactly once, integrity ok" if ok else "FAILED: see the table")
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
