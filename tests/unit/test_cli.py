"""The headless twin: JSON shapes, exit codes, and one clear line for every bad input."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from evaltui.cli.main import main
from tests.storebuilder import StoreBuilder

GPT_QA = "1f6bffdc-edc4-4e84-9911-cc81ff59a494"


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_summary_json_is_the_package_run_summary(
    real_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(capsys, "summary", "1f6b", "--store", str(real_store), "--json")
    assert code == 0
    assert json.loads(out) == {
        "totalCases": 20,
        "passCount": 13,
        "failCount": 7,
        "meanScores": {"exact": 0.65, "levenshtein": 0.7019288277511961},
        "totalLatencyMs": 2677,
        "totalTokensIn": 1016,
        "totalTokensOut": 103,
    }


def test_summary_threshold_option(real_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(
        capsys, "summary", GPT_QA, "--store", str(real_store), "--json", "--threshold", "0"
    )
    assert code == 0
    assert json.loads(out)["passCount"] == 20


def test_failing_json_shape_and_order(real_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "failing", "1f6bffdc", "--store", str(real_store), "--json")
    assert code == 0
    failing = json.loads(out)
    assert [case["idx"] for case in failing] == [2, 5, 8, 11, 12, 13, 17]
    assert set(failing[0]) == {"idx", "case_id", "scores"}
    assert set(failing[0]["scores"][0]) == {"scorer_name", "score", "reason"}
    assert failing[-1]["scores"] == [
        {
            "scorer_name": "exact",
            "score": 0.0,
            "reason": failing[-1]["scores"][0]["reason"],
        }
    ]


def test_runs_json_lists_all_runs(real_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "runs", "--store", str(real_store), "--json")
    assert code == 0
    runs = json.loads(out)
    assert len(runs) == 8
    by_model = {(r["suite"], r["model"], r["status"]) for r in runs}
    assert ("qa-accuracy", "broken-model", "failed") in by_model
    stale = next(r for r in runs if r["model"] == "o3-mini")
    assert stale["stale"] is True and stale["summary_stored"] is False
    assert stale["summary"]["totalCases"] == 1


def test_runs_table_and_store_from_environment(
    real_store: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVALS_DB_PATH", str(real_store))
    code, out, _ = run_cli(capsys, "runs")
    assert code == 0
    assert "qa-accuracy" in out and "stale" in out and "failed" in out


def test_default_store_path(
    real_store: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("EVALS_DB_PATH", raising=False)
    (tmp_path / "proj" / ".evals").mkdir(parents=True)
    shutil.copy(real_store, tmp_path / "proj" / ".evals" / "store.db")
    monkeypatch.chdir(tmp_path / "proj")
    code, out, _ = run_cli(capsys, "summary", "1f6b")
    assert code == 0 and "pass 13" in out


# -- bad input: one line, exit 2, no traceback, the file untouched -------------------------


def assert_one_line_error(code: int, err: str, *words: str) -> None:
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("evaltui: error: ")
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0]


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "runs", "--store", str(tmp_path / "nope.db"))
    assert_one_line_error(code, err, "no store at", "--store")
    assert not (tmp_path / "nope.db").exists()


def test_missing_file_for_the_app(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, str(tmp_path / "nope.db"))
    assert_one_line_error(code, err, "no store at")


def test_not_sqlite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "notes.db"
    path.write_text("hello, I am not a database\n" * 100)
    before = digest(path)
    code, _, err = run_cli(capsys, "runs", "--store", str(path))
    assert_one_line_error(code, err, "not a SQLite database")
    assert digest(path) == before


def test_sqlite_with_other_tables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    before = digest(path)
    code, _, err = run_cli(capsys, "summary", "abcd", "--store", str(path))
    assert_one_line_error(code, err, "not a @deepagents/evals RunStore", "users")
    assert digest(path) == before


def test_older_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.executescript(
            """CREATE TABLE suites (id TEXT PRIMARY KEY, name TEXT, created_at INTEGER);
            CREATE TABLE runs (id TEXT PRIMARY KEY, suite_id TEXT, name TEXT, model TEXT,
              config TEXT, started_at INTEGER, finished_at INTEGER, status TEXT, summary TEXT);
            CREATE TABLE cases (id TEXT PRIMARY KEY, run_id TEXT, idx INTEGER, input TEXT,
              output TEXT, expected TEXT, latency_ms INTEGER, error TEXT);
            CREATE TABLE scores (id TEXT PRIMARY KEY, case_id TEXT, scorer_name TEXT,
              score REAL, reason TEXT);"""
        )
    code, _, err = run_cli(capsys, "runs", "--store", str(path))
    assert_one_line_error(code, err, "older schema", "tokens_in", "@deepagents/evals")


def test_legacy_prompts_and_nullable_suite_are_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A pre-migration store: prompts without version, runs.suite_id nullable."""
    path = tmp_path / "legacy.db"
    with sqlite3.connect(path) as db:
        db.executescript(
            """CREATE TABLE suites (id TEXT PRIMARY KEY, name TEXT NOT NULL,
              created_at INTEGER NOT NULL);
            CREATE TABLE runs (id TEXT PRIMARY KEY, suite_id TEXT, name TEXT NOT NULL,
              model TEXT NOT NULL, config TEXT, started_at INTEGER NOT NULL,
              finished_at INTEGER, status TEXT NOT NULL DEFAULT 'running', summary TEXT);
            CREATE TABLE cases (id TEXT PRIMARY KEY, run_id TEXT NOT NULL, idx INTEGER NOT NULL,
              input TEXT NOT NULL, output TEXT, expected TEXT, latency_ms INTEGER,
              tokens_in INTEGER, tokens_out INTEGER, error TEXT);
            CREATE TABLE scores (id TEXT PRIMARY KEY, case_id TEXT NOT NULL,
              scorer_name TEXT NOT NULL, score REAL NOT NULL, reason TEXT);
            CREATE TABLE prompts (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE,
              content TEXT NOT NULL, created_at INTEGER NOT NULL);
            INSERT INTO runs VALUES ('run-orphan-0001', NULL, 'orphan', 'm', NULL, 1, NULL,
              'running', NULL);
            INSERT INTO prompts VALUES ('p1', 'qa', 'be brief', 1);"""
        )
    code, out, err = run_cli(capsys, "runs", "--store", str(path), "--json")
    assert code == 0, err
    assert json.loads(out)[0]["suite"] is None


def test_unknown_and_ambiguous_run(real_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "summary", "zzzzzz", "--store", str(real_store))
    assert_one_line_error(code, err, "no run matches 'zzzzzz'", "evaltui runs")
    code, _, err = run_cli(capsys, "failing", "ab", "--store", str(real_store))
    assert_one_line_error(code, err, "too short")


def test_ambiguous_prefix(builder: StoreBuilder, capsys: pytest.CaptureFixture[str]) -> None:
    suite = builder.suite("s")
    builder.run(suite, "a")
    builder.run(suite, "b")  # the builder's ids share a long common prefix
    code, _, err = run_cli(capsys, "summary", "00000000", "--store", str(builder.path))
    assert_one_line_error(code, err, "ambiguous")


def test_bad_threshold_argument(real_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["summary", GPT_QA, "--store", str(real_store), "--threshold", "lots"])
    assert exit_info.value.code == 2
    assert "threshold must be a number" in capsys.readouterr().err


def test_locked_store(tmp_path: Path) -> None:
    """A writer holding an exclusive lock on a rollback-journal store."""
    builder = StoreBuilder(tmp_path / "locked.db", wal=False)
    builder.run(builder.suite("s"), "m")
    builder.close()
    writer = sqlite3.connect(tmp_path / "locked.db", isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    writer.execute("UPDATE runs SET name = 'x'")
    try:
        result = subprocess.run(
            [sys.executable, "-m", "evaltui", "runs", "--store", str(tmp_path / "locked.db")],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
        )
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert_one_line_error(result.returncode, result.stderr, "locked", "retry")


def test_corrupted_store(real_store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = bytearray(real_store.read_bytes())
    page = 4096
    for offset in range(page, len(data), page):  # keep page 1 (the schema), garble the rest
        data[offset : offset + 64] = b"\xde\xad\xbe\xef" * 16
    real_store.write_bytes(bytes(data))
    before = digest(real_store)
    code, _, err = run_cli(capsys, "runs", "--store", str(real_store))
    assert_one_line_error(code, err, "corrupted", ".recover")
    assert digest(real_store) == before


def test_malformed_json_in_every_column(
    builder: StoreBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = builder.suite("s")
    run = builder.run(suite, "m", config="{not json")
    builder.case(
        run,
        0,
        raw_input="plain text input",
        output="x",
        scores={"exact": 0.0},
        error="Error: plain text, not JSON",
    )
    builder.db.execute("UPDATE cases SET expected = '{oops' WHERE run_id = ?", (run,))
    builder.finish(run, summary="{broken summary")
    before = digest(builder.path)
    code, out, err = run_cli(capsys, "runs", "--store", str(builder.path), "--json")
    assert code == 0, err
    listed = json.loads(out)[0]
    assert listed["summary_stored"] is False  # malformed: recomputed with getRunSummary
    assert listed["summary"]["failCount"] == 1
    assert listed["threshold"] == 0.5
    code, out, err = run_cli(capsys, "failing", run, "--store", str(builder.path), "--json")
    assert code == 0 and json.loads(out)[0]["idx"] == 0
    assert digest(builder.path) == before


def test_headless_commands_do_not_import_textual(real_store: Path) -> None:
    code = (
        "import sys; from evaltui.cli.main import main;"
        f"main(['summary', '1f6b', '--store', {str(real_store)!r}]);"
        "assert 'textual' not in sys.modules, 'textual imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_core_does_not_import_textual() -> None:
    code = (
        "import sys, evaltui.store, evaltui.core.models, evaltui.core.runview,"
        " evaltui.core.textsafe;"
        "assert 'textual' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_app_options_that_need_a_run_say_so(
    real_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for option in (["--failing"], ["--threshold", "0.7"]):
        with pytest.raises(SystemExit) as exit_:
            main([str(real_store), *option])
        assert exit_.value.code == 2
        assert "add --run RUN" in capsys.readouterr().err


def test_the_app_reads_the_config_file_it_is_given(
    real_store: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from evaltui.services.config import Config
    from evaltui.ui.app import EvalTUI

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-user-config"))
    monkeypatch.chdir(tmp_path)  # no ./evaltui.toml either: only the file given
    opened: list[object] = []
    monkeypatch.setattr(EvalTUI, "run", lambda self: opened.append(self.config))
    assert main([str(real_store), "--config", str(tmp_path / "nope.toml")]) == 2
    assert "nope.toml: no such config file" in capsys.readouterr().err
    assert opened == []
    broken = tmp_path / "broken.toml"
    broken.write_text("[profiles.x\n")
    assert main([str(real_store), "--config", str(broken)]) == 2
    assert "broken.toml: invalid TOML" in capsys.readouterr().err
    good = tmp_path / "good.toml"
    good.write_text('[judges.strict]\ntype = "exact"\n')
    assert main([str(real_store), "--config", str(good)]) == 0
    (config,) = opened
    assert isinstance(config, Config) and config.names("judge") == ["strict"]
    assert config.sources[-1] == good
