"""A crash inside a screen exits non-zero with one line on stderr and a log of the traceback.

Before, a bug in a screen left Textual's traceback over the terminal and `evaltui` exited 0.
The app runs in a subprocess (headless), with one screen method made to fail.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.shared import ROOT
from tests.storebuilder import StoreBuilder

CRASHING_APP = """
import functools, sys
from evaltui.cli.main import main
from evaltui.ui.app import EvalTUI
from evaltui.ui.screens.runs import RunsScreen

EvalTUI.run = functools.partialmethod(EvalTUI.run, headless=True)

def crash(*args, **kwargs):
    raise ValueError("a bug \\x1b]0;PWNED\\x07 in a screen")

setattr(RunsScreen, sys.argv[2], crash)
sys.exit(main([sys.argv[1]]))
"""


@pytest.mark.parametrize("method", ["load", "_show_counts"])  # a worker, a call from one
def test_a_crash_in_a_screen_is_one_line_a_log_and_exit_1(
    builder: StoreBuilder, tmp_path: Path, method: str
) -> None:
    suite = builder.suite("s")
    builder.finish(builder.run(suite, "m"))
    cache = tmp_path / "cache"
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", CRASHING_APP, str(builder.path), method],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stderr
    (log,) = (cache / "evaltui").glob("crash-*.log")
    lines = done.stderr.splitlines()
    assert lines == [
        "evaltui: error: evaltui crashed (ValueError: a bug \u241b]0;PWNED\u2407 in a screen);"
        f" this is a bug, the traceback is in {log}"
    ]
    text = log.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in text and ", in crash" in text
    assert "ValueError: a bug \u241b]0;PWNED\u2407 in a screen" in text  # `cat` it safely
