"""Re-judge and re-run jobs: the new run as the package reads it, resume after a kill."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from evaltui.cli.jobs import parse_selection
from evaltui.cli.main import main
from evaltui.store import RunStore
from tests.storebuilder import StoreBuilder

ROOT = Path(__file__).resolve().parents[2]
GPT_QA = "1f6bffdc-edc4-4e84-9911-cc81ff59a494"


def package_tables(path: Path) -> dict[str, list[tuple[object, ...]]]:
    with sqlite3.connect(path) as db:
        return {
            table: sorted(db.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
            for table in ("suites", "runs", "cases", "scores", "prompts")
        }


def test_parse_selection() -> None:
    assert parse_selection("1,5-7, 9") == {1, 5, 6, 7, 9}
    with pytest.raises(Exception, match="not an idx"):
        parse_selection("3-1")


def test_rejudge_failing_reproduces_the_package_scores(
    real_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = package_tables(real_store)
    code = main(
        [
            "rejudge",
            "1f6b",
            "--judge",
            "exact",
            "--judge",
            "levenshtein",
            "--failing",
            "--store",
            str(real_store),
            "--json",
        ]
    )
    captured = capsys.readouterr()
    assert code == 1  # idx 12's task had failed in the source: a task error, counted
    assert "6 judged, 0 judge errors, 1 task errors" in captured.err
    lines = [json.loads(line) for line in captured.out.splitlines()]
    done = lines[-1]["done"]
    assert done["status"] == "completed" and done["cases"] == 7
    assert (done["judged"], done["judge_errors"], done["task_errors"]) == (6, 0, 1)
    after = package_tables(real_store)
    # append-only: every original row is still there, unchanged
    for table, rows in before.items():
        assert set(map(repr, rows)) <= set(map(repr, after[table]))
    assert len(after["runs"]) == len(before["runs"]) + 1

    async def read() -> tuple[Any, Any, Any]:
        store = await RunStore.open(real_store)
        try:
            return (
                await store.failing_cases(GPT_QA, 0.5),
                await store.failing_cases(done["run_id"], 0.5),
                await store.get_run(done["run_id"]),
            )
        finally:
            await store.close()

    source, rejudged, new_run = asyncio.run(read())
    # same idx, same failing scores and reasons as the engine's scorers wrote
    assert [
        (c.idx, [(s.scorer_name, round(s.score, 12), s.reason) for s in c.scores]) for c in rejudged
    ] == [
        (c.idx, [(s.scorer_name, round(s.score, 12), s.reason) for s in c.scores]) for c in source
    ]
    assert new_run.status == "completed" and new_run.suite_id is not None
    assert new_run.summary is not None and new_run.summary.total_cases == 7
    config = new_run.config.value
    assert config["evaltui"]["sourceRunId"] == GPT_QA
    assert config["evaltui"]["judges"][0]["name"] == "exact"
    assert "api_key" not in json.dumps(config)


def test_judge_errors_are_errors_not_zero_scores(
    builder: StoreBuilder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = builder.suite("s")
    run = builder.run(suite, "m")
    for idx in range(3):
        builder.case(run, idx, output="x", scores={"exact": 1.0})
    builder.finish(run)
    failing_judge = tmp_path / "judge.py"
    failing_judge.write_text("import sys; sys.exit(3)\n")
    config = tmp_path / "evaltui.toml"
    config.write_text(
        f'[judges.broken]\ntype = "command"\nargv = ["{sys.executable}", "{failing_judge}"]\n'
    )
    code = main(
        [
            "rejudge",
            run,
            "--judge",
            "broken",
            "--config",
            str(config),
            "--store",
            str(builder.path),
            "--json",
        ]
    )
    assert code == 1  # judge errors: exit 1 with the counts
    done = json.loads(capsys.readouterr().out.splitlines()[-1])["done"]
    assert done["errored"] == 3 and done["judge_errors"] == 3
    assert done["status"] == "failed"  # no case got a score: never `completed`
    with sqlite3.connect(builder.path) as db:
        errors = db.execute(
            "SELECT error FROM cases WHERE run_id = ?", (done["run_id"],)
        ).fetchall()
        scores = db.execute(
            "SELECT COUNT(*) FROM scores s JOIN cases c ON c.id = s.case_id WHERE c.run_id = ?",
            (done["run_id"],),
        ).fetchone()[0]
    assert scores == 0  # no score 0 in disguise
    assert all(json.loads(e[0])["name"] == "JudgeError" for e in errors)


def test_kill_in_the_middle_then_resume_saves_every_case_once(
    builder: StoreBuilder, tmp_path: Path
) -> None:
    suite = builder.suite("big")
    run = builder.run(suite, "m")
    for idx in range(500):
        builder.case(
            run, idx, output=f"answer {idx}", expected=f"answer {idx}", scores={"exact": 1.0}
        )
    builder.finish(run)
    builder.close()
    slow = tmp_path / "slow.py"
    slow.write_text(
        "import json, sys, time\njson.load(sys.stdin)\ntime.sleep(0.05)\n"
        "print(json.dumps({'score': 1, 'reason': 'ok'}))\n"
    )
    config = tmp_path / "evaltui.toml"
    config.write_text(
        f'[judges.slow]\ntype = "command"\nargv = ["{sys.executable}", "{slow}"]\nconcurrency = 8\n'
    )
    command = [
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
        str(builder.path),
        "--json",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    first = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True
    )
    deadline = time.monotonic() + 60
    saved = 0
    while time.monotonic() < deadline and saved < 60:
        time.sleep(0.2)
        with sqlite3.connect(builder.path) as db:
            saved = db.execute(
                "SELECT COUNT(*) FROM cases c JOIN runs r ON r.id = c.run_id WHERE r.id != ?",
                (run,),
            ).fetchone()[0]
    first.send_signal(signal.SIGKILL)  # no chance to clean up: the run stays `running`
    first.wait(timeout=30)
    assert 0 < saved < 500
    second = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert second.returncode == 0, second.stderr
    done = json.loads(second.stdout.splitlines()[-1])["done"]
    assert done["resumed"] >= saved
    with sqlite3.connect(builder.path) as db:
        rows = db.execute("SELECT idx FROM cases WHERE run_id = ?", (done["run_id"],)).fetchall()
        runs = db.execute("SELECT status FROM runs WHERE id != ?", (run,)).fetchall()
        scores = db.execute(
            "SELECT COUNT(*) FROM scores s JOIN cases c ON c.id = s.case_id WHERE c.run_id = ?",
            (done["run_id"],),
        ).fetchone()[0]
    assert sorted(idx for (idx,) in rows) == list(range(500))  # every case exactly once
    assert runs == [("completed",)]  # the interrupted run was resumed, not duplicated
    assert scores == 500


async def test_batch_jobs_record_their_batch_in_the_new_run(
    real_store: Path, tmp_path: Path
) -> None:
    from anthropic import AsyncAnthropic

    from evaltui.backends.judges.anthropic import AnthropicJudge
    from evaltui.backends.judges.options import AnthropicJudgeOptions
    from evaltui.services.config import load_config
    from evaltui.services.rework import JobPlan, execute
    from evaltui.store.writer import StoreWriter
    from tests.fakes.anthropic import FakeAnthropic

    toml = tmp_path / "evaltui.toml"
    toml.write_text(
        '[judges.strict]\ntype = "anthropic"\nmodel = "claude-test"\nbatch_min_cases = 3\n'
        'batch_poll_s = 0.01\nrubric = "Correct and complete."\n'
    )
    config = load_config(toml, cwd=tmp_path)
    profile = config.judge_profile("strict")
    with FakeAnthropic(polls_until_end=1) as fake:
        client = AsyncAnthropic(base_url=fake.url, api_key="test", max_retries=0)
        options = AnthropicJudgeOptions.model_validate(profile.options.model_dump())
        judge = AnthropicJudge("strict", options, prices=config.prices, client=client)
        store = await RunStore.open(real_store)
        writer = StoreWriter.open(real_store)
        try:
            run = await store.resolve_run(GPT_QA)
            failing = await store.failing_cases(run.id, 0.5)
            ok_ids = [c.case_id for c in failing if c.idx != 12]  # idx 12 had a task error
            plan = JobPlan("rejudge", run, tuple(ok_ids), ((profile, judge),), None, 0.5)
            outcome = await execute(plan, store, writer)
            new_run = await store.get_run(outcome.run_id)
        finally:
            writer.close()
            await store.close()
            await client.close()
        assert len(fake.batches) == 1 and fake.message_calls == 0
        batch_id = next(iter(fake.batches))
    assert new_run.status == "completed"
    with sqlite3.connect(real_store) as db:
        recorded = db.execute(
            "SELECT batch_id, state, judge FROM evaltui_batches WHERE run_id = ?", (new_run.id,)
        ).fetchall()
    assert recorded == [(batch_id, "collected", "strict")]
    assert outcome.totals.done == len(ok_ids)


def test_rerun_with_a_command_task(
    builder: StoreBuilder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = builder.suite("s")
    run = builder.run(suite, "old-model")
    for idx in range(4):
        builder.case(
            run,
            idx,
            input={"input": f"q{idx}", "expected": f"a{idx}"},
            output="wrong",
            expected=f"a{idx}",
            scores={"exact": 0.0},
        )
    builder.finish(run)
    task = tmp_path / "task.py"
    task.write_text(  # answers correctly except for q3, where it fails
        "import json, sys\nitem = json.load(sys.stdin)\n"
        "question = item['input'] if isinstance(item, dict) else item\n"
        "if question == 'q3':\n    sys.exit('boom')\n"
        "print('a' + question[1:])\n"
    )
    config = tmp_path / "evaltui.toml"
    config.write_text(f'[tasks.fixed]\ntype = "command"\nargv = ["{sys.executable}", "{task}"]\n')
    code = main(
        [
            "rerun",
            run,
            "--task",
            "fixed",
            "--judge",
            "exact",
            "--config",
            str(config),
            "--store",
            str(builder.path),
            "--json",
        ]
    )
    assert code == 1  # q3's task failed
    done = json.loads(capsys.readouterr().out.splitlines()[-1])["done"]
    assert (done["judged"], done["task_errors"]) == (3, 1)
    with sqlite3.connect(builder.path) as db:
        rows = db.execute(
            "SELECT c.idx, c.output, c.error, s.score, s.reason FROM cases c"
            " JOIN scores s ON s.case_id = c.id WHERE c.run_id = ? ORDER BY c.idx",
            (done["run_id"],),
        ).fetchall()
    assert [(idx, output, score) for idx, output, _, score, _ in rows[:3]] == [
        (0, "a0", 1.0),
        (1, "a1", 1.0),
        (2, "a2", 1.0),
    ]
    idx, output, error, score, reason = rows[3]
    assert (idx, output, score) == (3, None, 0.0)  # the engine's rule for a failed task
    assert json.loads(error)["message"] and reason.startswith("Task failed: ")
