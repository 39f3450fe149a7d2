"""Judge outcomes are what they are: 401/403 stops a job, errors are counted and exit non-zero,
judge errors are never stored as 0 and can be retried in place, thresholds are checked first,
`--limit`, and progress that counts resumed cases."""

from __future__ import annotations

import asyncio
import json
import math
import os
import socket
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from evaltui.cli.main import main
from evaltui.core.models import Case
from evaltui.jobs import CaseResult, JobTotals
from evaltui.services.rework import BadThreshold, JobPlan, execute
from evaltui.store import RunStore
from evaltui.store.writer import StoreWriter
from tests.fakes.anthropic import FakeAnthropic, error
from tests.fakes.openai import FakeOpenAI
from tests.storebuilder import StoreBuilder


def now() -> int:
    return int(time.time() * 1000)


def tables(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(path) as db:
        return {
            table: sorted(db.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
            for table in ("suites", "runs", "cases", "scores")
        }


def runs(path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT id, status FROM runs ORDER BY rowid").fetchall()


def source_run(builder: StoreBuilder, n: int, *, failing: bool = False) -> str:
    suite = builder.suite("s")
    run = builder.run(suite, "m")
    for idx in range(n):
        builder.case(
            run,
            idx,
            input={"input": f"q{idx}", "expected": f"a{idx}"},
            output=f"a{idx}",
            expected=f"a{idx}",
            scores={"exact": 0.0 if failing else 1.0},
        )
    builder.finish(run)
    return run


def judge_script(tmp_path: Path, body: str, name: str = "judge.py") -> Path:
    """A command judge: `case` is the JSON case on stdin; prints a verdict or exits 3."""
    path = tmp_path / name
    path.write_text(
        "import json, os, sys\ncase = json.load(sys.stdin)\n" + body + "\n"
        "print(json.dumps({'score': score, 'reason': 'ok'}))\n"
    )
    return path


def config_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "evaltui.toml"
    path.write_text(text)
    return path


def command_profile(name: str, script: Path) -> str:
    return f'[judges.{name}]\ntype = "command"\nargv = ["{sys.executable}", "{script}"]\n'


def rejudge(store: Path, run: str, *extra: str) -> int:
    return main(["rejudge", run, "--store", str(store), "--json", *extra])


def done_line(out: str) -> dict[str, Any]:
    last: dict[str, Any] = json.loads(out.splitlines()[-1])["done"]
    return last


# -- finding 3: a judge refused on every call -------------------------------------------------


def test_401_on_every_call_stops_the_job_marks_the_run_failed_and_exits_2(
    builder: StoreBuilder,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = source_run(builder, 60)
    monkeypatch.setenv("FAKE_ANTHROPIC_KEY", "wrong")
    with FakeAnthropic() as fake:
        fake.faults = [error(401) for _ in range(200)]
        config = config_file(
            tmp_path,
            f'[judges.strict]\ntype = "anthropic"\nmodel = "claude-test"\nbase_url = "{fake.url}"'
            '\napi_key = "${FAKE_ANTHROPIC_KEY}"\nrubric = "Correct."\nconcurrency = 2\n',
        )
        code = rejudge(builder.path, run, "--judge", "strict", "--config", str(config))
        calls = fake.message_calls
    captured = capsys.readouterr()
    assert code == 2
    assert calls <= 4  # the cases in flight (2 concurrent, window 4), never one per case
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "401" in lines[0] and "marked failed" in lines[0]
    new_runs = [status for run_id, status in runs(builder.path) if run_id != run]
    assert new_runs == ["failed"]  # never `completed`: SUITE@latest cannot pick it


def test_403_from_an_openai_compatible_judge_stops_the_job(
    builder: StoreBuilder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.fakes.http import Response

    run = source_run(builder, 30)
    with FakeOpenAI() as fake:
        forbidden = Response.json({"error": {"message": "no access to model"}}, 403)
        fake.faults = [forbidden for _ in range(100)]
        config = config_file(
            tmp_path,
            f'[judges.local]\ntype = "openai-compatible"\nmodel = "m"\nbase_url = "{fake.url}/v1"\n'
            'rubric = "Correct."\nconcurrency = 1\n',
        )
        code = rejudge(builder.path, run, "--judge", "local", "--config", str(config))
        answered = 100 - len(fake.faults)
    assert code == 2 and answered <= 2
    assert "403" in capsys.readouterr().err
    assert [s for r, s in runs(builder.path) if r != run] == ["failed"]


def test_no_api_key_stops_the_job(
    builder: StoreBuilder,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = source_run(builder, 20)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    with FakeAnthropic() as fake:
        config = config_file(
            tmp_path,
            f'[judges.strict]\ntype = "anthropic"\nmodel = "claude-test"\nbase_url = "{fake.url}"'
            '\nrubric = "Correct."\n',
        )
        code = rejudge(builder.path, run, "--judge", "strict", "--config", str(config))
    assert code == 2
    assert "no Anthropic API key" in capsys.readouterr().err
    assert [s for r, s in runs(builder.path) if r != run] == ["failed"]


# -- exit codes with counts --------------------------------------------------------------------


def test_some_judge_errors_exit_1_with_counts_and_allow_errors_keeps_0(
    builder: StoreBuilder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = source_run(builder, 6)
    script = judge_script(tmp_path, "if case['idx'] % 3 == 0:\n    sys.exit(3)\nscore = 1")
    config = config_file(tmp_path, command_profile("flaky", script))
    code = rejudge(builder.path, run, "--judge", "flaky", "--config", str(config))
    captured = capsys.readouterr()
    assert code == 1
    assert "4 judged, 2 judge errors, 0 task errors" in captured.err
    done = done_line(captured.out)
    assert (done["status"], done["judged"], done["judge_errors"]) == ("completed", 4, 2)
    code = rejudge(builder.path, run, "--judge", "flaky", "--config", str(config), "--allow-errors")
    assert code == 0
    assert "4 judged, 2 judge errors" in capsys.readouterr().err  # still said


def test_every_judge_call_errored_gives_a_failed_run(
    builder: StoreBuilder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = source_run(builder, 3)
    script = judge_script(tmp_path, "sys.exit(3)\nscore = 1")
    config = config_file(tmp_path, command_profile("broken", script))
    code = rejudge(builder.path, run, "--judge", "broken", "--config", str(config))
    captured = capsys.readouterr()
    assert code == 1 and "no case got a score" in captured.err
    assert done_line(captured.out)["status"] == "failed"
    assert [s for r, s in runs(builder.path) if r != run] == ["failed"]


def test_a_failed_task_score_does_not_make_a_run_that_judged_nothing_completed(
    builder: StoreBuilder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = source_run(builder, 3)
    task_error = json.dumps({"name": "Error", "message": "timeout exceeded"})
    builder.case(run, 3, output=None, error=task_error, scores={"exact": 0.0})
    script = judge_script(tmp_path, "sys.exit(3)\nscore = 1")
    config = config_file(tmp_path, command_profile("broken", script))
    code = rejudge(builder.path, run, "--judge", "broken", "--config", str(config))
    captured = capsys.readouterr()
    assert code == 1 and "0 judged, 3 judge errors, 1 task errors" in captured.err
    assert done_line(captured.out)["status"] == "failed"  # the 0 of the failed task is no score


# -- finding 5: judge errors are never 0, and are retried in place ----------------------------


def test_rejudging_a_derived_case_whose_judging_failed_judges_it_again(
    builder: StoreBuilder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = source_run(builder, 3)
    script = judge_script(tmp_path, "sys.exit(3)\nscore = 1")
    config = config_file(tmp_path, command_profile("broken", script))
    rejudge(builder.path, run, "--judge", "broken", "--config", str(config))
    derived = done_line(capsys.readouterr().out)["run_id"]
    code = rejudge(builder.path, derived, "--judge", "exact")
    assert code == 0
    again = done_line(capsys.readouterr().out)["run_id"]
    with sqlite3.connect(builder.path) as db:
        rows = db.execute(
            "SELECT c.output, c.error, s.score, s.reason FROM cases c"
            " JOIN scores s ON s.case_id = c.id WHERE c.run_id = ? ORDER BY c.idx",
            (again,),
        ).fetchall()
    assert [(output, error, score) for output, error, score, _ in rows] == [
        ("a0", None, 1.0),
        ("a1", None, 1.0),
        ("a2", None, 1.0),
    ]  # not 0 with "Task failed: JudgeError"
    assert not any("Task failed" in (reason or "") for *_, reason in rows)


def test_errors_retries_only_the_errored_cases_in_place(
    builder: StoreBuilder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = source_run(builder, 6)
    calls = tmp_path / "calls.txt"
    broken = tmp_path / "broken"
    broken.touch()
    script = judge_script(
        tmp_path,
        f"open({str(calls)!r}, 'a').write(str(case['idx']) + '\\n')\n"
        f"if case['idx'] in (1, 4) and os.path.exists({str(broken)!r}):\n    sys.exit(3)\n"
        "score = 1 if case['idx'] % 2 == 0 else 0.5",
    )
    config = config_file(tmp_path, command_profile("flaky", script))
    assert rejudge(builder.path, run, "--judge", "flaky", "--config", str(config)) == 1
    derived = done_line(capsys.readouterr().out)["run_id"]
    before_source = [r for r in tables(builder.path)["cases"] if r[1] == run]
    broken.unlink()
    calls.write_text("")
    code = rejudge(builder.path, derived, "--errors", "--config", str(config))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert sorted(calls.read_text().split()) == ["1", "4"]  # only the errored cases
    done = done_line(captured.out)
    assert done["run_id"] == derived and done["status"] == "completed"
    assert (done["judged"], done["judge_errors"]) == (6, 0)
    assert len(runs(builder.path)) == 2  # in place: no new run
    with sqlite3.connect(builder.path) as db:
        rows = db.execute(
            "SELECT c.idx, c.error, COUNT(s.id), MIN(s.score) FROM cases c"
            " LEFT JOIN scores s ON s.case_id = c.id WHERE c.run_id = ? GROUP BY c.id"
            " ORDER BY c.idx",
            (derived,),
        ).fetchall()
        status, summary = db.execute(
            "SELECT status, summary FROM runs WHERE id = ?", (derived,)
        ).fetchone()
    assert [(idx, error, count) for idx, error, count, _ in rows] == [
        (i, None, 1) for i in range(6)
    ]
    assert status == "completed"
    parsed = json.loads(summary)
    assert parsed["totalCases"] == 6 and parsed["passCount"] == 6  # threshold 0.5
    assert math.isclose(parsed["meanScores"]["flaky"], 0.75)
    assert [r for r in tables(builder.path)["cases"] if r[1] == run] == before_source
    with sqlite3.connect(builder.path) as db:
        judged = db.execute(
            "SELECT idx, error IS NULL FROM evaltui_judgements WHERE run_id = ? ORDER BY id",
            (derived,),
        ).fetchall()
    # every call is kept with what it answered: 6 first calls (2 errored), then the 2 retries
    first = [(i, 1) for i in (0, 2, 3, 5)] + [(1, 0), (4, 0)]
    assert sorted(judged) == sorted([*first, (1, 1), (4, 1)])


def test_errors_while_another_process_retries_the_same_run_refuses(
    builder: StoreBuilder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = source_run(builder, 4)
    broken = tmp_path / "broken"
    broken.touch()
    script = judge_script(
        tmp_path,
        f"if case['idx'] == 1 and os.path.exists({str(broken)!r}):\n    sys.exit(3)\nscore = 1",
    )
    config = config_file(tmp_path, command_profile("flaky", script))
    assert rejudge(builder.path, run, "--judge", "flaky", "--config", str(config)) == 1
    derived = done_line(capsys.readouterr().out)["run_id"]
    broken.unlink()
    with sqlite3.connect(builder.path) as db:
        (config_json,) = db.execute("SELECT config FROM runs WHERE id = ?", (derived,)).fetchone()
        job_key = json.loads(config_json)["evaltui"]["job"]
        # another live process holds the job (this test's pid is alive, on this host)
        db.execute(
            "INSERT INTO evaltui_job_leases (job_key, run_id, holder, pid, host, acquired_at,"
            " heartbeat_at) VALUES (?, ?, 'other', ?, ?, ?, ?)",
            (job_key, derived, os.getppid(), socket.gethostname(), now(), now()),
        )
    before = tables(builder.path)
    assert rejudge(builder.path, derived, "--errors", "--config", str(config)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "already running" in err[0]
    assert tables(builder.path) == before  # the run was not reopened, nothing retried


def test_errors_on_a_run_evaltui_did_not_make_is_one_line_exit_2(
    builder: StoreBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    run = source_run(builder, 2)
    before = tables(builder.path)
    assert rejudge(builder.path, run, "--errors") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--errors" in err[0] and "rejudge" in err[0]
    assert tables(builder.path) == before


def test_errors_with_nothing_to_retry_writes_nothing(
    builder: StoreBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    run = source_run(builder, 2)
    assert rejudge(builder.path, run, "--judge", "exact") == 0
    derived = done_line(capsys.readouterr().out)["run_id"]
    before = tables(builder.path)
    assert rejudge(builder.path, derived, "--errors") == 0
    assert "no judge errors" in capsys.readouterr().out
    assert tables(builder.path) == before


# -- finding 12: thresholds checked before anything is written -------------------------------


@pytest.mark.parametrize("value", ["nan", "inf", "1e999", "-1", "5"])
def test_bad_thresholds_exit_2_and_write_nothing(
    builder: StoreBuilder, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    run = source_run(builder, 3)
    before = tables(builder.path)
    code = rejudge(builder.path, run, "--judge", "exact", f"--threshold={value}")
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "0..1" in err[0]
    assert tables(builder.path) == before  # no new run, nothing else


def test_a_source_threshold_outside_0_1_is_refused_before_writing(
    builder: StoreBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = builder.suite("s")
    run = builder.run(suite, "m", config={"threshold": 5})
    builder.case(run, 0, output="a", expected="a", scores={"exact": 1.0})
    builder.finish(run)
    before = tables(builder.path)
    assert rejudge(builder.path, run, "--judge", "exact") == 2
    assert "--threshold" in capsys.readouterr().err
    assert tables(builder.path) == before


def test_a_plan_refuses_a_non_finite_threshold(builder: StoreBuilder) -> None:
    run_id = source_run(builder, 1)

    async def source() -> Any:
        store = await RunStore.open(builder.path)
        try:
            return await store.get_run(run_id)
        finally:
            await store.close()

    run = asyncio.run(source())
    for bad in (math.nan, math.inf, -0.5, 1.5):
        with pytest.raises(BadThreshold):
            JobPlan("rejudge", run, ("x",), (), None, bad)


# -- finding 14: --limit, and progress after a resume -----------------------------------------


def test_failing_with_limit(builder: StoreBuilder, capsys: pytest.CaptureFixture[str]) -> None:
    run = source_run(builder, 30, failing=True)
    assert rejudge(builder.path, run, "--judge", "exact", "--failing", "--limit", "10") == 0
    done = done_line(capsys.readouterr().out)
    assert done["cases"] == 10
    with sqlite3.connect(builder.path) as db:
        idxs = db.execute(
            "SELECT idx FROM cases WHERE run_id = ? ORDER BY idx", (done["run_id"],)
        ).fetchall()
    assert [i for (i,) in idxs] == list(range(10))
    assert rejudge(builder.path, run, "--judge", "exact", "--failing", "--limit", "0") == 2


class Interrupt(Exception):
    pass


async def partial_then_resume(path: Path, run_id: str, stop_after: int) -> list[JobTotals]:
    """Run a 10-case re-judge, stop it after `stop_after` cases, resume it; the totals the
    resumed attempt reported."""
    from evaltui.services.config import load_config

    config = load_config(None)
    profile = config.judge_profile("exact")
    store = await RunStore.open(path)
    writer = StoreWriter.open(path)
    seen: list[JobTotals] = []
    try:
        run = await store.get_run(run_id)
        ids = tuple((await store.run_index(run_id)).ids)
        plan = JobPlan("rejudge", run, ids, ((profile, config.build_judge(profile)),))

        def stop(result: CaseResult | None, case: Case, totals: JobTotals) -> None:
            if totals.done >= stop_after:
                raise Interrupt

        with pytest.raises(Interrupt):
            await execute(plan, store, writer, on_result=stop)

        def record(result: CaseResult | None, case: Case, totals: JobTotals) -> None:
            seen.append(JobTotals(total=totals.total, done=totals.done, resumed=totals.resumed))

        outcome = await execute(plan, store, writer, on_result=record)
        assert outcome.status == "completed" and outcome.resumed == stop_after
    finally:
        writer.close()
        await store.close()
    return seen


def test_progress_after_a_resume_counts_the_resumed_cases(builder: StoreBuilder) -> None:
    run = source_run(builder, 10)
    seen = asyncio.run(partial_then_resume(builder.path, run, 4))
    assert {t.total for t in seen} == {10}
    assert seen[0].done == 5 and seen[-1].done == 10  # reaches 100 %
    assert {t.resumed for t in seen} == {4}


def test_errors_with_an_anthropic_judge_stops_on_401_then_finishes(
    builder: StoreBuilder,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = source_run(builder, 5)
    monkeypatch.setenv("FAKE_ANTHROPIC_KEY", "key")
    with FakeAnthropic() as fake:
        config = config_file(
            tmp_path,
            f'[judges.strict]\ntype = "anthropic"\nmodel = "claude-test"\nbase_url = "{fake.url}"'
            '\napi_key = "${FAKE_ANTHROPIC_KEY}"\nrubric = "Correct."\nconcurrency = 1\n',
        )
        fake.faults = [error(400), error(400)]  # two cases' judging fails (not retried)
        assert rejudge(builder.path, run, "--judge", "strict", "--config", str(config)) == 1
        derived = done_line(capsys.readouterr().out)["run_id"]
        fake.faults = [error(401)]
        assert rejudge(builder.path, derived, "--errors", "--config", str(config)) == 2
        assert "401" in capsys.readouterr().err
        assert dict(runs(builder.path))[derived] == "failed"
        calls = fake.message_calls
        assert rejudge(builder.path, derived, "--errors", "--config", str(config)) == 0
        assert fake.message_calls - calls == 2  # only the two errored cases
    done = done_line(capsys.readouterr().out)
    assert (done["run_id"], done["status"], done["judged"]) == (derived, "completed", 5)
    with sqlite3.connect(builder.path) as db:
        summary = json.loads(
            db.execute("SELECT summary FROM runs WHERE id = ?", (derived,)).fetchone()[0]
        )
    assert summary["totalCases"] == 5 and summary["passCount"] == 5


def test_a_rejudge_keeps_the_source_config_that_still_describes_it(
    builder: StoreBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    """Its outputs came from the source's prompt and dataset: the diff must not report a
    prompt change; the judging keys are the new judge's."""
    suite = builder.suite("s")
    source_config = {
        "model": "m",
        "taskMode": "prompt",
        "promptName": "qa-system",
        "promptVersion": 3,
        "dataset": "golden.jsonl",
        "scorers": ["exact", "llm"],
        "scorerModel": "gpt-4o",
        "threshold": 0.5,
    }
    run = builder.run(suite, "m", config=source_config)
    for idx in range(3):
        builder.case(
            run,
            idx,
            input=f"q{idx}",
            output=f"a{idx}",
            expected=f"a{idx}",
            scores={"exact": 1.0, "llm": 0.9},
        )
    builder.finish(run)
    assert rejudge(builder.path, run, "--judge", "exact") == 0
    derived = done_line(capsys.readouterr().out)["run_id"]
    with sqlite3.connect(builder.path) as db:
        (config_text,) = db.execute("SELECT config FROM runs WHERE id = ?", (derived,)).fetchone()
    config = json.loads(config_text)
    assert {k: config[k] for k in ("taskMode", "promptName", "promptVersion", "dataset")} == {
        "taskMode": "prompt",
        "promptName": "qa-system",
        "promptVersion": 3,
        "dataset": "golden.jsonl",
    }
    assert config["scorers"] == ["exact"] and "scorerModel" not in config
    assert main(["diff", run, derived, "--store", str(builder.path)]) == 0
    out = capsys.readouterr().out
    assert "context: prompt" not in out and "config.dataset" not in out
