"""Command palette providers."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from evaltui.core.formatting import when
from evaltui.core.models import Run
from evaltui.core.textsafe import one_line
from evaltui.ui.messages import OpenRun
from evaltui.ui.screens.runs import RunsScreen


class OpenRunCommands(Provider):
    """`Open run: <suite> [<model>]` for every run the runs screen has loaded."""

    def _runs(self) -> list[Run]:
        for screen in self.app.screen_stack:
            if isinstance(screen, RunsScreen):
                return screen.runs
        return []

    def _label(self, run: Run) -> str:
        return one_line(f"Open run: {run.name} ({run.status}, {when(run.started_at)})", 120)

    def _open(self, run: Run) -> None:
        self.app.post_message(OpenRun(run))

    async def discover(self) -> Hits:
        for run in reversed(self._runs()[-20:]):
            yield DiscoveryHit(self._label(run), partial(self._open, run), help=run.id)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for run in self._runs():
            label = self._label(run)
            score = matcher.match(f"{label} {run.id}")
            if score > 0:
                yield Hit(score, matcher.highlight(label), partial(self._open, run), help=run.id)
