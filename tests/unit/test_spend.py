"""Issue 8, findings 6, 7 and 13: spend is stored, a job's identity is every option, and
secrets resolved from `${ENV}` are never stored nor printed."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from evaltui.backends.base import JudgeInput, Verdict
from evaltui.cli.main import main
from evaltui.core.models import JsonText, Run
from evaltui.core.secrets import MIN_SECRET_CHARS, Redactor
from evaltui.services.config import Profile, load_config
from evaltui.services.rework import JobPlan
from evaltui.store import StoreError
from evaltui.store.writer import JudgementRow, StoreWriter
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.openai import FakeOpenAI
from tests.storebuilder import StoreBuilder

SECRET = "sk-test-9f8e7d6c5b4a39281706"
JUDGEMENT_COLUMNS = (
    "idx, step, profile, scorer, model, input_tokens, output_tokens, cost_usd, raw, error"
)


def source_run(builder: StoreBuilder, cases: int = 3) -> str:
    suite = builder.suite("qa")
    run = builder.run(suite, "gpt")
    for idx in range(cases):
        builder.case(
            run,
            idx,
            input={"input": f"capital {idx}?", "expected": "paris"},
            output="Paris" if idx % 2 == 0 else "Lyon",
            expected="paris",
            scores={"exact": 0.0},
        )
    builder.finish(run)
    return run


def judgements(path: Path, run_id: str) -> list[dict[str, Any]]:
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute(
            f"SELECT {JUDGEMENT_COLUMNS} FROM evaltui_judgements WHERE run_id = ?"
            " ORDER BY idx, step, profile",
            (run_id,),
        ).fetchall()
    return [dict(row) for row in rows]


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_every_judgement_keeps_usage_cost_model_and_raw_verdict(
    builder: StoreBuilder,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = source_run(builder)
    script = tmp_path / "judge.py"
    script.write_text(
        "import json, sys\ncase = json.load(sys.stdin)\n"
        "print(json.dumps({'score': 1, 'reason': 'ok', 'model': 'my-grader',"
        " 'usage': {'input_tokens': 7, 'output_tokens': 3}, 'cost_usd': 0.5}))\n"
    )
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    with FakeAnthropic() as claude, FakeOpenAI() as local:
        config = tmp_path / "evaltui.toml"
        config.write_text(
            f"""
[judges.claude]
type = "anthropic"
base_url = "{claude.url}"
api_key = "${{ANTHROPIC_API_KEY}}"
[judges.local]
type = "openai-compatible"
base_url = "{local.url}/v1"
model = "qwen"
[judges.prog]
type = "command"
argv = ["{sys.executable}", "{script}"]
[prices.claude-sonnet-4-5]
input = 3.0
output = 15.0
"""
        )
        judges = ["--judge", "claude", "--judge", "local", "--judge", "prog"]
        where = ["--config", str(config), "--store", str(builder.path), "--json"]
        code = main(["rejudge", run, *judges, *where])
    assert code == 0
    done = json_lines(capsys.readouterr().out)[-1]["done"]
    rows = judgements(builder.path, done["run_id"])
    assert len(rows) == 9  # 3 cases x 3 judges
    claude_rows = [row for row in rows if row["profile"] == "claude"]
    assert {row["model"] for row in claude_rows} == {"claude-sonnet-4-5"}  # from the reply
    assert {(row["input_tokens"], row["output_tokens"]) for row in claude_rows} == {(100, 20)}
    assert [row["cost_usd"] for row in claude_rows] == pytest.approx([0.0006] * 3)
    assert json.loads(claude_rows[0]["raw"]) == {
        "reason": "matches the expected answer",
        "score": 1.0,
    }
    local_rows = [row for row in rows if row["profile"] == "local"]
    assert {row["model"] for row in local_rows} == {"qwen"}
    assert {(row["input_tokens"], row["output_tokens"]) for row in local_rows} == {(125, 20)}
    assert {row["cost_usd"] for row in local_rows} == {None}  # no price: unknown, not 0
    assert json.loads(local_rows[1]["raw"])["reason"] == "misses it"
    prog_rows = [row for row in rows if row["profile"] == "prog"]
    assert {(row["model"], row["input_tokens"], row["cost_usd"]) for row in prog_rows} == {
        ("my-grader", 7, 0.5)
    }
    assert all(row["step"] == "judge" and row["error"] is None for row in rows)

    # run totals, as stored, match what the job printed
    spend = done["spend"]
    assert spend["calls"] == 9
    assert spend["tokens_in"] == done["tokens_in"] == 3 * (100 + 125 + 7)
    assert spend["tokens_out"] == done["tokens_out"] == 3 * (20 + 20 + 3)
    assert spend["cost_usd_priced"] == pytest.approx(3 * (0.0006 + 0.5))
    assert spend["unpriced_calls"] == 3 and spend["cost_usd"] is None is done["cost_usd"]
    # and `runs --json` shows the same; the source run (the package's) has none
    assert main(["runs", "--store", str(builder.path), "--json"]) == 0
    listed = {item["id"]: item for item in json.loads(capsys.readouterr().out)}
    assert listed[done["run_id"]]["spend"] == spend
    assert listed[run]["spend"] is None


def test_rerun_stores_the_task_call_too(
    builder: StoreBuilder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = source_run(builder, cases=2)
    with FakeAnthropic() as claude:
        config = tmp_path / "evaltui.toml"
        config.write_text(
            f"""
[tasks.qa]
type = "anthropic"
model = "claude-haiku"
system = "Answer."
base_url = "{claude.url}"
api_key = "${{KEY_FOR_TASK}}"
[prices.claude-haiku]
input = 1.0
output = 5.0
"""
        )
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("KEY_FOR_TASK", SECRET)
            where = ["--config", str(config), "--store", str(builder.path), "--json"]
            code = main(["rerun", run, "--task", "qa", "--judge", "exact", *where])
    assert code == 0
    done = json_lines(capsys.readouterr().out)[-1]["done"]
    rows = judgements(builder.path, done["run_id"])
    tasks = [row for row in rows if row["step"] == "task"]
    assert [(row["idx"], row["model"], row["input_tokens"]) for row in tasks] == [
        (0, "claude-haiku", 100),
        (1, "claude-haiku", 100),
    ]
    assert tasks[0]["cost_usd"] == pytest.approx((100 * 1.0 + 20 * 5.0) / 1e6)
    exact = [row for row in rows if row["step"] == "judge"]
    assert [(row["scorer"], row["cost_usd"], row["model"]) for row in exact] == [
        ("exact", 0.0, None),
        ("exact", 0.0, None),
    ]
    assert done["spend"]["calls"] == 4 and done["spend"]["unpriced_calls"] == 0
    assert done["spend"]["cost_usd"] == pytest.approx(done["cost_usd"])


def test_a_case_is_never_saved_without_its_judgements(builder: StoreBuilder) -> None:
    run = source_run(builder, cases=1)
    builder.close()
    with StoreWriter.open(builder.path) as writer:
        writer.ensure_schema()
        bad = JudgementRow(step="judge", profile="p", scorer="p", model=None)
        broken = JudgementRow(step="bogus", profile="p", scorer="p", model=None)  # type: ignore[arg-type]
        common: dict[str, Any] = {
            "run_id": run,
            "input": "{}",
            "output": "x",
            "expected": None,
            "latency_ms": 1,
            "tokens_in": None,
            "tokens_out": None,
            "error": None,
            "scores": [("p", 1.0, None)],
        }
        with pytest.raises(StoreError):
            writer.save_case(idx=7, judgements=[bad, broken], **common)
        writer.save_case(idx=8, judgements=[bad], **common)
        assert writer.saved_idxs(run) == {0, 8}  # idx 7 rolled back with its judgements
        assert writer.run_spend(run).calls == 1


# -- identity: every option, secrets by reference ------------------------------------------


SOURCE = Run(
    id="r1",
    suite_id="s1",
    suite_name="qa",
    name="qa [m]",
    model="m",
    config=JsonText(raw=None),
    started_at=0,
    finished_at=1,
    status="completed",
)


class KeywordJudge:
    """Stands for a plugin without an options model (its options come as a dict)."""

    name = "kw"

    async def evaluate(self, case: JudgeInput) -> Verdict:
        return Verdict(judge=self.name, score=1.0)


def test_job_identity_is_every_option_but_not_a_secrets_value(tmp_path: Path) -> None:
    def plan(max_tokens: int, key: str, keywords: list[str]) -> JobPlan:
        toml = tmp_path / "evaltui.toml"
        toml.write_text(
            f'[judges.claude]\ntype = "anthropic"\nmax_tokens = {max_tokens}\n'
            'api_key = "${ANTHROPIC_API_KEY}"\n'
        )
        config = load_config(toml, cwd=tmp_path, env={"HOME": str(tmp_path)})
        claude = config.judge_profile("claude")
        judge = config.build_judge(claude, env={"ANTHROPIC_API_KEY": key})
        plugin = Profile("judge", "kw", "keyword_plugin", {"keywords": keywords})
        judges = ((claude, judge), (plugin, KeywordJudge()))
        return JobPlan("rejudge", SOURCE, ("c1",), judges, redactor=config.secrets)

    base = plan(1024, SECRET, ["refund"])
    assert plan(1024, SECRET, ["refund"]).key == base.key
    assert plan(2048, SECRET, ["refund"]).key != base.key  # max_tokens is an option
    assert plan(1024, SECRET, ["invoice"]).key != base.key  # so is a plugin's `keywords`
    assert plan(1024, SECRET + "-rotated", ["refund"]).key == base.key  # a new key value: same
    recorded = json.loads(base.config())["evaltui"]["judges"]
    assert recorded[0]["max_tokens"] == 1024
    assert recorded[0]["api_key"] == "${ANTHROPIC_API_KEY}"
    assert recorded[1]["keywords"] == ["refund"]
    assert SECRET not in base.config()


# -- secrets never stored nor printed --------------------------------------------------------


def test_a_secret_a_command_judge_prints_is_stored_and_printed_nowhere(
    builder: StoreBuilder,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = source_run(builder, cases=4)
    builder.close()
    script = tmp_path / "leaky.py"
    script.write_text(
        "import json, os, sys\n"
        "case = json.load(sys.stdin)\n"
        "key = os.environ['JUDGE_KEY']\n"
        "if case['idx'] % 2:\n"
        "    print('auth failed with ' + key, file=sys.stderr)\n"
        "    sys.exit(3)\n"
        "print(json.dumps({'score': 1, 'reason': 'used ' + key, 'note': key}))\n"
    )
    config = tmp_path / "evaltui.toml"
    config.write_text(
        f'[judges.leaky]\ntype = "command"\nargv = ["{sys.executable}", "{script}"]\n'
        '[judges.leaky.env]\nJUDGE_KEY = "${MY_JUDGE_SECRET}"\n'
    )
    monkeypatch.setenv("MY_JUDGE_SECRET", SECRET)
    where = ["--config", str(config), "--store", str(builder.path), "--json"]
    code = main(["rejudge", run, "--judge", "leaky", *where])
    assert code == 1  # two cases ended in a judge error
    captured = capsys.readouterr()
    lines = json_lines(captured.out)
    assert lines[-1]["done"]["errored"] == 2
    assert SECRET not in captured.out and SECRET not in captured.err
    assert "[redacted ${MY_JUDGE_SECRET}]" in captured.out  # the errors still say what happened
    with sqlite3.connect(builder.path) as db:
        dump = "\n".join(db.iterdump())
    assert "auth failed with [redacted ${MY_JUDGE_SECRET}]" in dump
    assert "used [redacted ${MY_JUDGE_SECRET}]" in dump
    assert SECRET not in dump
    for path in tmp_path.glob("built.db*"):  # the file, its WAL: not a byte of it
        assert SECRET.encode() not in path.read_bytes()


def test_redactor_hides_long_values_and_leaves_short_ones() -> None:
    redactor = Redactor({"A": SECRET, "B": SECRET[:12], "SHORT": "prod"})
    assert len("prod") < MIN_SECRET_CHARS
    text = f"x {SECRET} y {SECRET[:12]} z prod"
    assert redactor.redact(text) == "x [redacted ${A}] y [redacted ${B}] z prod"
    assert redactor.redact_data({"k": [SECRET, 1]}) == {"k": ["[redacted ${A}]", 1]}
    assert not Redactor({"SHORT": "1234567"})


async def test_batch_verdicts_keep_their_batch_id_and_half_price(
    builder: StoreBuilder, tmp_path: Path
) -> None:
    from anthropic import AsyncAnthropic

    from evaltui.backends.judges.anthropic import AnthropicJudge
    from evaltui.backends.judges.options import AnthropicJudgeOptions
    from evaltui.services.rework import execute
    from evaltui.store import RunStore

    run_id = source_run(builder, cases=3)
    toml = tmp_path / "evaltui.toml"
    toml.write_text(
        '[judges.strict]\ntype = "anthropic"\nmodel = "claude-test"\nbatch_min_cases = 3\n'
        "batch_poll_s = 0.01\n[prices.claude-test]\ninput = 3.0\noutput = 15.0\n"
    )
    config = load_config(toml, cwd=tmp_path, env={"HOME": str(tmp_path)})
    profile = config.judge_profile("strict")
    with FakeAnthropic(polls_until_end=1) as fake:
        client = AsyncAnthropic(base_url=fake.url, api_key="test", max_retries=0)
        options = AnthropicJudgeOptions.model_validate(profile.options.model_dump())
        judge = AnthropicJudge("strict", options, prices=config.prices, client=client)
        store = await RunStore.open(builder.path)
        writer = StoreWriter.open(builder.path)
        try:
            run = await store.resolve_run(run_id)
            index = await store.run_index(run_id)
            plan = JobPlan("rejudge", run, tuple(index.ids), ((profile, judge),))
            outcome = await execute(plan, store, writer)
        finally:
            writer.close()
            await store.close()
            await client.close()
        [batch_id] = list(fake.batches)
    with sqlite3.connect(builder.path) as db:
        rows = db.execute(
            "SELECT batch_id, cost_usd FROM evaltui_judgements WHERE run_id = ?",
            (outcome.run_id,),
        ).fetchall()
    assert [row[0] for row in rows] == [batch_id] * 3
    assert [row[1] for row in rows] == pytest.approx([(100 * 3 + 20 * 15) / 1e6 / 2] * 3)
    assert outcome.spend.cost_usd == pytest.approx(outcome.totals.cost_usd)


def test_an_installed_plugins_options_are_part_of_the_job(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """Through the entry point of tests/plugin: `keywords` was dropped by its name."""
    root = Path(__file__).resolve().parents[2]
    site = tmp_path_factory.mktemp("plugin-site")
    offline = ["--no-deps", "--no-build-isolation", "--no-index", "--quiet"]
    plugin = str(root / "tests" / "plugin")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", *offline, "--target", str(site), plugin],
        check=True,
        timeout=300,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    code = f"""
import json
from pathlib import Path
from evaltui.services.config import load_config
from evaltui.services.rework import JobPlan
from tests.unit.test_spend import SOURCE

keys = []
for words in (["refund"], ["invoice"], ["refund"]):
    toml = Path({str(tmp_path)!r}) / "evaltui.toml"
    toml.write_text('[judges.kw]\\ntype = "keyword_hit"\\nkeywords = ' + json.dumps(words))
    config = load_config(toml, cwd=toml.parent, env={{"HOME": str(toml.parent)}})
    profile = config.judge_profile("kw")
    plan = JobPlan("rejudge", SOURCE, ("c1",), ((profile, config.build_judge(profile)),))
    keys.append(plan.key)
print(json.dumps([keys, json.loads(plan.config())["evaltui"]["judges"][0]["keywords"]]))
"""
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{site}"},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    keys, recorded = json.loads(done.stdout)
    assert keys[0] != keys[1] and keys[0] == keys[2]
    assert recorded == ["refund"]


def test_a_secret_a_command_task_prints_is_stored_and_printed_nowhere(
    builder: StoreBuilder,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = source_run(builder, cases=2)
    builder.close()
    script = tmp_path / "leaky_task.py"
    script.write_text(
        "import json, os, sys\n"
        "item = json.load(sys.stdin)\n"
        "key = os.environ['TASK_KEY']\n"
        "if item['input'].startswith('capital 1'):\n"
        "    print('cannot connect using ' + key, file=sys.stderr)\n"
        "    sys.exit(1)\n"
        "print('the answer, signed ' + key)\n"
    )
    config = tmp_path / "evaltui.toml"
    config.write_text(
        f'[tasks.leaky]\ntype = "command"\nargv = ["{sys.executable}", "{script}"]\n'
        '[tasks.leaky.env]\nTASK_KEY = "${MY_TASK_SECRET}"\n'
    )
    monkeypatch.setenv("MY_TASK_SECRET", SECRET)
    where = ["--config", str(config), "--store", str(builder.path), "--json"]
    # some tasks fail: exit 1 (issue 8 exit codes)
    assert main(["rerun", run, "--task", "leaky", "--judge", "exact", *where]) == 1
    captured = capsys.readouterr()
    assert SECRET not in captured.out + captured.err
    with sqlite3.connect(builder.path) as db:
        dump = "\n".join(db.iterdump())
    assert "the answer, signed [redacted ${MY_TASK_SECRET}]" in dump  # cases.output
    assert "cannot connect using [redacted ${MY_TASK_SECRET}]" in dump  # cases.error, reasons
    assert SECRET not in dump
