"""The judge registry: lazy imports, and a pip-installed plugin found through entry points."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, cast

import pytest

from evaltui.backends.base import Judge
from evaltui.backends.judges import (
    BUILTIN_JUDGES,
    JudgeError,
    available_judges,
    create_judge,
    load_judge,
)

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "tests" / "plugin"


def run_python(code: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_loading_exact_imports_neither_anthropic_nor_textual() -> None:
    run_python(
        """
        import asyncio, sys
        from evaltui.backends.judges import JudgeInput, create_judge, load_judge
        import evaltui.services.config, evaltui.jobs, evaltui.backends.tasks
        load_judge("exact")
        judge = create_judge("exact")
        asyncio.run(judge.evaluate(JudgeInput(case_id="c", output="a", expected="a")))
        load_judge("anthropic")            # the class, not the SDK
        create_judge("anthropic")          # nor building it: the client is made on first call
        for heavy in ("anthropic", "textual", "httpx2"):
            assert heavy not in sys.modules, heavy
        """
    )


def test_every_builtin_builds_a_judge() -> None:
    options = {
        "regex": {"pattern": "a"},
        "json_schema": {"schema": {"type": "object"}},
        "openai-compatible": {"base_url": "http://127.0.0.1:9/v1", "model": "m"},
        "command": {"argv": ["true"]},
    }
    for name in BUILTIN_JUDGES:
        judge = create_judge(name, options=cast("dict[str, Any] | None", options.get(name)))
        assert isinstance(judge, Judge) and judge.name == name


def test_unknown_judge_lists_what_exists() -> None:
    with pytest.raises(JudgeError, match="unknown judge 'nope'; available: anthropic, command"):
        load_judge("nope")
    with pytest.raises(JudgeError, match="judge 'regex'"):
        create_judge("regex", options={"pattern": "a", "flagz": "i"})


@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip install` the test plugin into a folder (offline: hatchling is in the venv)."""
    target = tmp_path_factory.mktemp("plugin-site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--quiet",
            "--target",
            str(target),
            str(PLUGIN),
        ],
        check=True,
        timeout=300,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    return target


def test_plugin_is_found_through_its_entry_point(plugin_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "evaltui.toml").write_text(
        '[judges.short]\ntype = "length_ok"\nmax_chars = 3\n'
        '[judges.typo]\ntype = "length_ok"\nmax_charz = 3\n'
    )
    out = run_python(
        f"""
        import asyncio, sys
        from pathlib import Path
        from evaltui.services.config import ConfigError, load_config
        from evaltui.backends.judges import JudgeInput, available_judges, create_judge

        assert available_judges()["length_ok"] == "evaltui_testplugin:LengthJudge"
        assert "evaltui_testplugin" not in sys.modules   # listed, not imported
        judge = create_judge("length_ok", options={{"max_chars": 3}})
        verdict = asyncio.run(judge.evaluate(JudgeInput(case_id="c", output="abcd")))
        print(verdict.score, verdict.reason)
        shouty = create_judge("shouty", "loud")
        print(asyncio.run(shouty.evaluate(JudgeInput(case_id="c", output="HEY"))).score)
        config = load_config(cwd=Path({str(tmp_path)!r}), env={{"HOME": {str(tmp_path)!r}}})
        print(config.judge_profile("short").describe())
        try:
            config.judge_profile("typo")
        except ConfigError as error:
            print(error)
        """,
        env={"PYTHONPATH": str(plugin_dir)},
    )
    lines = out.splitlines()
    assert lines[0] == "0.0 4 chars"
    assert lines[1] == "1.0"
    assert lines[2] == "{'name': 'short', 'type': 'length_ok', 'max_chars': 3}"
    assert (
        "evaltui.toml, line 6: judges.typo.max_charz: unknown key (allowed: max_chars)" in lines[3]
    )


def test_without_the_plugin_it_is_unknown() -> None:
    assert "length_ok" not in available_judges()
