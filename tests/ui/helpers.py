"""Helpers for Pilot tests."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Static

from evaltui.services.config import Config, ConfigError
from evaltui.ui.app import EvalTUI, StartAt

FIXED_NOW = 1_795_400_000_000  # a fixed clock: a few days after the real store was written


def make_app(
    path: Path, start: StartAt | None = None, config: Config | ConfigError | None = None
) -> EvalTUI:
    """The app on `path`, with explicit settings (None: built-in defaults; no file is read)."""
    return EvalTUI(path, clock=lambda: FIXED_NOW, start=start, config=config)


async def settle(pilot: Pilot[None], rounds: int = 3) -> None:
    """Let workers finish and the screen repaint."""
    for _ in range(rounds):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def plain(widget: Static) -> str:
    """What a Static shows, as plain text (Rich renderables rendered at width 200)."""
    content = widget.content
    if isinstance(content, str):
        return content
    console = Console(width=200, record=True, file=io.StringIO(), color_system=None)
    console.print(content)
    return console.export_text()
