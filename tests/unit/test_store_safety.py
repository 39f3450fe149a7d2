"""Never lose a saved case: no plain open() of a store file while SQLite has it open
(issue 8, finding 1), and one job, one writer (finding 11)."""

from __future__ import annotations

import asyncio
import builtins
import io
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from evaltui.cli.main import main
from evaltui.store import RunStore, StoreError
from evaltui.store.writer import JobBusyError, JobClaim, JobLostError, NewRun, StoreWriter
from tests.storebuilder import StoreBuilder

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}

# Other processes on the same store: one opens, reads and closes it in a loop (as
# `sqlite3 store.db "select 1"` would), one commits small writes in a loop.
PINGER = """
import sqlite3, sys, time
path, stop = sys.argv[1], sys.argv[2]
import os
while not os.path.exists(stop):
    db = sqlite3.connect(path, timeout=10)
    db.execute("SELECT COUNT(*) FROM sqlite_master").fetchall()
    db.close()
    time.sleep(0.02)
"""
SCRIBBLER = """
import sqlite3, sys, time, os
path, stop = sys.argv[1], sys.argv[2]
while not os.path.exists(stop):
    db = sqlite3.connect(path, timeout=10)
    db.execute("CREATE TABLE IF NOT EXISTS scratch (n INTEGER)")
    db.execute("INSERT INTO scratch VALUES (1)")
    db.commit()
    db.close()
    time.sleep(0.03)
"""


def make_store(builder: StoreBuilder, cases: int) -> str:
    suite = builder.suite("soak")
    run = builder.run(suite, "m")
    for idx in range(cases):
        builder.case(run, idx, output=f"a{idx}", expected=f"a{idx}", scores={"exact": 1.0})
    builder.finish(run)
    builder.close()
    return run


def slow_judge_config(tmp_path: Path, sleep: float, concurrency: int) -> Path:
    """A command judge (no network): reads the case, waits, says 1."""
    script = f'cat >/dev/null; sleep {sleep}; echo \'{{"score": 1, "reason": "ok"}}\''
    config = tmp_path / "evaltui.toml"
    config.write_text(
        f'[judges.slow]\ntype = "command"\nargv = ["/bin/sh", "-c", {json.dumps(script)}]\n'
        f"concurrency = {concurrency}\n"
    )
    return config


def rejudge_command(run: str, config: Path, store: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "evaltui",
        "rejudge",
        run,
        "--judge",
        "slow",
        "--config",
        str(config),
        "--store",
        str(store),
        "--json",
    ]


def new_run_rows(store: Path, source: str) -> tuple[list[tuple[str, str]], list[int], str]:
    with sqlite3.connect(store) as db:
        runs = db.execute(
            "SELECT id, status FROM runs WHERE id != ? ORDER BY started_at", (source,)
        ).fetchall()
        idxs = [
            int(row[0])
            for row in db.execute(
                "SELECT c.idx FROM cases c WHERE c.run_id != ? ORDER BY c.idx", (source,)
            )
        ]
        integrity = str(db.execute("PRAGMA integrity_check").fetchone()[0])
    return runs, idxs, integrity


def test_rejudge_loses_no_case_while_other_processes_open_and_write_the_store(
    builder: StoreBuilder, tmp_path: Path
) -> None:
    cases = 300
    run = make_store(builder, cases)
    config = slow_judge_config(tmp_path, 0.04, 4)
    stop = tmp_path / "stop"
    others = [
        subprocess.Popen([sys.executable, "-c", code, str(builder.path), str(stop)])
        for code in (PINGER, SCRIBBLER)
    ]
    try:
        job = subprocess.run(
            rejudge_command(run, config, builder.path),
            capture_output=True,
            text=True,
            env=ENV,
            timeout=120,
        )
    finally:
        stop.touch()
        for other in others:
            other.wait(timeout=30)
    assert job.returncode == 0, job.stderr
    done = json.loads(job.stdout.splitlines()[-1])["done"]
    runs, idxs, integrity = new_run_rows(builder.path, run)
    assert runs == [(done["run_id"], "completed")]
    assert idxs == list(range(cases))  # every case saved, exactly once
    assert integrity == "ok"


def test_opening_a_store_never_opens_the_file_outside_sqlite(
    builder: StoreBuilder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The root cause of finding 1: a plain open()/close() of the store while a SQLite
    connection of this process has it open drops that connection's POSIX locks."""
    make_store(builder, 1)
    store_path = builder.path.resolve()
    opened: list[str] = []
    real_open = builtins.open

    def spy(file: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, (str, os.PathLike)) and Path(file).resolve() == store_path:
            opened.append(str(file))
        return real_open(file, *args, **kwargs)

    real_io_open = io.open
    monkeypatch.setattr(builtins, "open", spy)
    monkeypatch.setattr(io, "open", lambda *a, **k: spy(*a, **k) if a else real_io_open(**k))

    async def open_both() -> None:
        store = await RunStore.open(builder.path)  # the job's reader, then its writer
        try:
            writer = StoreWriter.open(builder.path)
            writer.ensure_schema()
            writer.close()
        finally:
            await store.close()

    asyncio.run(open_both())
    assert opened == []


def test_a_fifo_is_refused_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "store.db"
    os.mkfifo(fifo)
    code = main(["runs", "--store", str(fifo)])  # would hang forever reading a header
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "not a regular file" in err[0]
    with pytest.raises(StoreError, match="not a regular file"):
        StoreWriter.open(fifo)


def test_short_and_empty_files_are_not_sqlite(tmp_path: Path) -> None:
    for content in (b"", b"SQLite"):
        path = tmp_path / "x.db"
        path.write_bytes(content)
        with pytest.raises(StoreError, match="not a SQLite database"):
            StoreWriter.open(path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_an_unreadable_store_says_check_permissions(builder: StoreBuilder) -> None:
    make_store(builder, 1)
    builder.path.chmod(0)
    try:
        with pytest.raises(StoreError, match="check its permissions"):
            StoreWriter.open(builder.path)
    finally:
        builder.path.chmod(0o644)


def test_importing_the_store_into_itself_is_refused(
    builder: StoreBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    make_store(builder, 1)
    code = main(["import", str(builder.path), "--store", str(builder.path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "is the store itself" in err[0]


# -- finding 11: one job, one writer ------------------------------------------------------


def saved_count(store: Path, source: str) -> int:
    with sqlite3.connect(store, timeout=10) as db:
        return int(
            db.execute("SELECT COUNT(*) FROM cases WHERE run_id != ?", (source,)).fetchone()[0]
        )


def test_two_resumes_of_the_same_job_at_once_one_writes_the_other_refuses(
    builder: StoreBuilder, tmp_path: Path
) -> None:
    cases = 300
    run = make_store(builder, cases)
    config = slow_judge_config(tmp_path, 0.06, 4)
    command = rejudge_command(run, config, builder.path)
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and saved_count(builder.path, run) < 30:
        time.sleep(0.1)
    first.send_signal(signal.SIGKILL)  # interrupted: the run stays `running`
    first.wait(timeout=30)
    before = saved_count(builder.path, run)
    assert 0 < before < cases
    resumes = [
        subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV, text=True
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in resumes]  # reads the pipes to the end
    results = [(p.returncode, out, err) for p, (out, err) in zip(resumes, outputs, strict=True)]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 2], results
    refused = next(err for code, _, err in results if code == 2).strip().splitlines()
    assert len(refused) == 1 and "already running" in refused[0] and "resume" in refused[0]
    assert "Traceback" not in refused[0]
    runs, idxs, integrity = new_run_rows(builder.path, run)
    assert [status for _, status in runs] == ["completed"]
    assert idxs == list(range(cases))  # each idx saved once: nobody wrote twice
    assert integrity == "ok"
    assert leases(builder.path) == []  # released when the job ended


def leases(store: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(store) as db:
        return db.execute("SELECT job_key, pid FROM evaltui_job_leases").fetchall()


def test_ctrl_c_marks_the_run_failed_and_releases_the_job(
    builder: StoreBuilder, tmp_path: Path
) -> None:
    run = make_store(builder, 200)
    config = slow_judge_config(tmp_path, 0.05, 2)
    job = subprocess.Popen(
        rejudge_command(run, config, builder.path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=ENV,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and saved_count(builder.path, run) < 10:
        time.sleep(0.1)
    assert leases(builder.path) and leases(builder.path)[0][1] == job.pid  # held while running
    job.send_signal(signal.SIGINT)
    _, err = job.communicate(timeout=60)
    assert job.returncode != 0 and "resume" in err
    runs, _, _ = new_run_rows(builder.path, run)
    assert [status for _, status in runs] == ["failed"]
    assert leases(builder.path) == []


def claim(writer: StoreWriter, key: str, **kwargs: Any) -> JobClaim:
    suite = str(writer.fetch("SELECT id FROM suites LIMIT 1")[0][0])

    def new_run() -> NewRun:
        config = json.dumps({"evaltui": {"job": key}})
        return NewRun(suite_id=suite, name="n", model="m", config=config, started=1)

    return writer.claim_job(key, new_run, **kwargs)


def test_a_fresh_lease_refuses_a_stale_or_dead_one_is_taken_over(builder: StoreBuilder) -> None:
    make_store(builder, 1)
    with StoreWriter.open(builder.path) as writer:
        writer.ensure_schema()
        held = claim(writer, "job-a")
        assert held.created and held.saved == set()
        # This process holds it: a second claim of the same job is refused.
        with pytest.raises(JobBusyError, match="already running in process"):
            claim(writer, "job-a")
        # Another host's lease: refused while fresh, taken over once stale.
        writer.fetch(
            "UPDATE evaltui_job_leases SET host = 'elsewhere', pid = 1 WHERE job_key = 'job-a'"
        )
        with pytest.raises(JobBusyError, match="on elsewhere"):
            claim(writer, "job-a")
        again = claim(writer, "job-a", stale_after_s=0.0)  # heartbeat older than 0 s
        assert again.run_id == held.run_id and not again.created  # same run, resumed
        assert not held.lease.beat() and held.lease.lost  # the first one knows it lost it
        assert again.lease.beat()
        # A dead process on this host: taken over at once (kill -9 then resume).
        dead = subprocess.Popen(["true"])
        dead.wait()
        writer.fetch(
            "UPDATE evaltui_job_leases SET pid = ?, host = ? WHERE job_key = 'job-a'",
            (dead.pid, socket.gethostname()),
        )
        third = claim(writer, "job-a")
        assert third.run_id == held.run_id
        third.lease.heartbeat_s = 0.02
        stamp = "SELECT heartbeat_at FROM evaltui_job_leases WHERE job_key = 'job-a'"
        writer.fetch("UPDATE evaltui_job_leases SET heartbeat_at = 0")
        third.lease.start()  # beats from its own thread
        deadline = time.monotonic() + 10
        while writer.fetch(stamp) == [(0,)] and time.monotonic() < deadline:
            time.sleep(0.02)
        assert writer.fetch(stamp)[0][0] > 0
        third.lease.release()
        assert writer.fetch("SELECT * FROM evaltui_job_leases") == []
        assert claim(writer, "job-a").run_id == held.run_id  # released: free to resume


def test_saving_an_idx_twice_in_a_run_keeps_one_case(builder: StoreBuilder) -> None:
    make_store(builder, 1)
    with StoreWriter.open(builder.path) as writer:
        writer.ensure_schema()
        run_id = claim(writer, "job-b").run_id
        ids = [
            writer.save_case(
                run_id=run_id,
                idx=7,
                input="{}",
                output="o",
                expected=None,
                latency_ms=1,
                tokens_in=None,
                tokens_out=None,
                error=None,
                scores=[("exact", 1.0, None)],
            )
            for _ in range(2)
        ]
        assert ids[0] == ids[1]
        rows = writer.fetch("SELECT COUNT(*) FROM cases WHERE run_id = ?", (run_id,))
        scores = writer.fetch("SELECT COUNT(*) FROM scores WHERE case_id = ?", (ids[0],))
    assert rows == [(1,)] and scores == [(1,)]


def test_a_job_taken_over_writes_nothing_more(builder: StoreBuilder) -> None:
    """A job that stalled past the heartbeat limit (suspended, say) and was taken over by a
    resume elsewhere neither saves a case nor finishes the run when it wakes up."""
    make_store(builder, 1)
    with StoreWriter.open(builder.path) as stalled, StoreWriter.open(builder.path) as other:
        stalled.ensure_schema()
        first = claim(stalled, "job-c")
        other_claim = claim(other, "job-c", stale_after_s=0.0)  # the resume elsewhere
        assert other_claim.run_id == first.run_id

        def save(writer: StoreWriter, idx: int) -> str:
            return writer.save_case(
                run_id=first.run_id,
                idx=idx,
                input="{}",
                output="o",
                expected=None,
                latency_ms=1,
                tokens_in=None,
                tokens_out=None,
                error=None,
                scores=[],
            )

        with pytest.raises(JobLostError, match="taken over by process"):
            save(stalled, 1)
        with pytest.raises(JobLostError):
            stalled.finish_run(first.run_id, "failed", 0.5, 2)
        save(other, 1)
        other.finish_run(first.run_id, "completed", 0.5, 2)
        rows = other.fetch("SELECT COUNT(*) FROM cases WHERE run_id = ?", (first.run_id,))
        status = other.fetch("SELECT status FROM runs WHERE id = ?", (first.run_id,))
    assert rows == [(1,)] and status == [("completed",)]


def test_immutable_opening_still_leaves_no_side_files(tmp_path: Path) -> None:
    """The SQLite header probe must not create -wal/-shm next to a store opened --immutable."""
    store = tmp_path / "ro.db"
    StoreBuilder(store).close()  # a WAL store; closing it removes its side files
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ro.db"]

    async def browse() -> None:
        opened = await RunStore.open(store, immutable=True)
        await opened.list_runs()
        await opened.close()

    asyncio.run(browse())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ro.db"]


async def test_a_job_cancelled_while_claiming_gives_the_job_up(
    builder: StoreBuilder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evaltui.services.config import load_config
    from evaltui.services.rework import JobPlan, open_job_run

    run_id = make_store(builder, 3)
    config = load_config(None, cwd=tmp_path, env={"HOME": str(tmp_path)})
    profile = config.judge_profile("exact")
    store = await RunStore.open(builder.path)
    writer = StoreWriter.open(builder.path)
    real_claim = StoreWriter.claim_job

    def slow_claim(self: StoreWriter, *args: Any, **kwargs: Any) -> JobClaim:
        time.sleep(0.3)  # the UI's esc lands while the claim is being written
        return real_claim(self, *args, **kwargs)

    monkeypatch.setattr(StoreWriter, "claim_job", slow_claim)
    try:
        run = await store.get_run(run_id)
        ids = tuple(c.id for c in await store.get_cases(await store.first_case_ids(run_id, 10)))
        plan = JobPlan("rejudge", run, ids, ((profile, config.build_judge(profile)),))
        claiming = asyncio.ensure_future(open_job_run(plan, writer))
        await asyncio.sleep(0.1)
        claiming.cancel()
        with pytest.raises(asyncio.CancelledError):
            await claiming
        await asyncio.sleep(0.5)  # the claim's thread has finished writing by now
    finally:
        writer.close()
        await store.close()
    assert leases(builder.path) == []  # the same job can start again at once
