"""Start-up pays only for what it shows: the app and its runs screen import no diff engine,
numpy, pydantic, judges, jobs or receiver; the headless commands import no Textual; subcommands'
implementations are imported only when they run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from evaltui.cli import traces_args
from evaltui.services.ingest import collector

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data" / "store.db"

NOT_AT_START = (
    "numpy",
    "pydantic",  # ~80 ms: the store's models are plain dataclasses
    "evaltui.diff",
    "evaltui.backends",
    "evaltui.judges",
    "evaltui.jobs",
    "evaltui.services.config",
    "evaltui.services.compare",
    "evaltui.services.ingest.collector",
    "evaltui.ui.screens.diff",
    "evaltui.ui.screens.derived",
    "evaltui.ui.screens.job",
    "evaltui.ui.screens.run",
    "evaltui.ui.screens.case",
    "evaltui.ui.screens.trace",
    "evaltui.ui.screens.traces",
)


def loaded_after(code: str) -> list[str]:
    script = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout.splitlines()[-1]))


def heavy(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == h or m.startswith(h + ".") for h in NOT_AT_START)]


def test_the_app_and_its_runs_screen_import_nothing_they_do_not_show() -> None:
    modules = loaded_after("import evaltui.ui.app, evaltui.ui.screens.runs")
    assert "textual.app" in modules  # the check sees what was imported
    assert heavy(modules) == []


def test_the_check_sees_a_heavy_import() -> None:
    modules = loaded_after("import evaltui.ui.app, evaltui.ui.screens.diff")
    assert "numpy" in heavy(modules)


def test_the_check_sees_pydantic() -> None:
    modules = loaded_after("import evaltui.ui.app, evaltui.diff")
    assert "pydantic" in heavy(modules)


def test_runs_json_imports_no_textual_pydantic_judges_or_receiver() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "evaltui",
            "runs",
            "--json",
            "--store",
            str(SAMPLE),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)  # it did list the runs
    imported = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()]
    assert "evaltui.core.models" in imported
    assert [m for m in imported if m.split(".")[0] == "textual"] == []
    assert heavy(imported) == []


def test_the_collect_arguments_default_to_the_receivers_own_defaults() -> None:
    assert traces_args.DEFAULT_HOST == collector.DEFAULT_HOST
    assert traces_args.DEFAULT_PORT == collector.DEFAULT_PORT
    assert traces_args.DEFAULT_MAX_BODY == collector.DEFAULT_MAX_BODY
