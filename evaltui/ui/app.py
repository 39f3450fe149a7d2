"""EvalTUI: the Textual app. It opens the store, shows the runs, and routes between screens."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.notifications import SeverityLevel
from textual.screen import Screen

from evaltui.core.crashlog import crash_line, write_crash_log
from evaltui.core.models import is_derived_of
from evaltui.core.runview import ViewSpec
from evaltui.core.textsafe import error_text
from evaltui.store import RunStore, StoreError
from evaltui.ui.commands import OpenRunCommands
from evaltui.ui.messages import OpenDiff, OpenRun, StartJob
from evaltui.ui.screens.help import HelpScreen
from evaltui.ui.screens.runs import RunsScreen

if TYPE_CHECKING:
    from evaltui.services.config import Config, ConfigError


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class StartAt:
    """Open this run at once (from `evaltui PATH --run RUN [--failing] [--threshold T]`)."""

    run: str | None = None
    failing_only: bool = False
    threshold: float | None = None


class EvalTUI(App[None]):
    """Browse a RunStore: runs -> run (cases) -> case."""

    TITLE = "evaltui"
    COMMANDS = App.COMMANDS | {OpenRunCommands}
    CSS = "Screen { background: $background; }"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("q", "quit", "Quit", id="app.quit"),
    ]

    def __init__(
        self,
        path: Path,
        *,
        immutable: bool = False,
        clock: Callable[[], int] = wall_clock_ms,
        start: StartAt | None = None,
        config: Config | ConfigError | None = None,
    ) -> None:
        """`config`: the settings loaded once at entry (by the CLI), or why they could not
        load; None: the built-in defaults. The app and its screens read no config file."""
        super().__init__()
        self.start = start
        self.config = config
        self.store_path = path
        self.immutable = immutable
        self.clock = clock
        self.store: RunStore | None = None
        self.fatal_error: str | None = None
        self.crash: str | None = None
        """One line saying what crashed and where its traceback was written."""

    def on_mount(self) -> None:
        self.open_store()

    def _handle_exception(self, error: Exception) -> None:
        """An unhandled exception in any screen, widget or worker (a bug): the app exits
        with status 1, as Textual does, and its traceback goes to a log file
        (`evaltui.core.crashlog`) instead of over the user's terminal."""
        if self.crash is None and (log := write_crash_log(error)) is not None:
            self.crash = crash_line(error, log)
        super()._handle_exception(error)

    def _print_error_renderables(self) -> None:
        """Textual prints the traceback here when the app has exited; with a crash log
        the CLI prints `crash` instead."""
        if self.crash is None:
            super()._print_error_renderables()
        else:
            self._exit_renderables.clear()

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every toast of every screen: its message and title made printable on one line
        (`error_text`), as an error quoting stored text may carry escape sequences."""
        super().notify(
            error_text(message),
            title=error_text(title, 200),
            severity=severity,
            timeout=timeout,
            markup=markup,
        )

    @work(exclusive=True, group="app-open")
    async def open_store(self) -> None:
        try:
            self.store = await RunStore.open(self.store_path, immutable=self.immutable)
        except StoreError as error:
            self.fatal_error = str(error)
            self.exit(return_code=2)
            return
        await self.push_screen(RunsScreen(self.store, self.clock))
        if self.start is not None and self.start.run is not None:
            try:
                run = await self.store.resolve_run(self.start.run)
            except StoreError as error:
                self.notify(str(error), severity="error", markup=False)
                return
            spec = ViewSpec(
                threshold=self.start.threshold
                if self.start.threshold is not None
                else run.threshold,
                failing_only=self.start.failing_only,
            )
            from evaltui.ui.screens.run import RunScreen  # imported when first shown

            await self.push_screen(RunScreen(self.store, run, spec, clock=self.clock))

    async def on_unmount(self) -> None:
        if self.store is not None:
            await self.store.close()

    @on(OpenDiff)
    def open_diff(self, message: OpenDiff) -> None:
        """A run against another; a re-judge or re-run against its source is not a diff
        but a comparison on its own cases (`DerivedScreen`), never a regression verdict."""
        if self.store is None:
            return
        # Imported here, when first asked for: the diff screens bring numpy and the diff
        # engine, which the runs list does not need (start-up pays only for what it shows).
        from evaltui.ui.screens.derived import DerivedScreen
        from evaltui.ui.screens.diff import DiffScreen

        baseline, candidate = message.baseline, message.candidate
        if is_derived_of(candidate, baseline):
            self.push_screen(DerivedScreen(self.store, candidate, baseline))
        elif is_derived_of(baseline, candidate):
            self.push_screen(DerivedScreen(self.store, baseline, candidate))
        else:
            self.push_screen(DiffScreen(self.store, baseline, candidate))

    @on(StartJob)
    def start_job(self, message: StartJob) -> None:
        if self.store is None:
            return
        # The job screens bring the judges, tasks and jobs: imported when first asked for.
        from evaltui.services.config import Config
        from evaltui.ui.screens.job import JobSetup

        config = self.config if self.config is not None else Config()
        self.push_screen(
            JobSetup(
                self.store, message.run, message.case_ids, message.kind, message.threshold, config
            )
        )

    @on(OpenRun)
    def open_run(self, message: OpenRun) -> None:
        if self.store is not None:
            from evaltui.ui.screens.run import RunScreen  # imported when first shown

            self.push_screen(RunScreen(self.store, message.run, clock=self.clock))

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        name = type(self.screen).__name__
        title = {"RunsScreen": "runs", "RunScreen": "run (cases)"}.get(
            name, name.removesuffix("Screen").lower()
        )
        self.push_screen(HelpScreen(self.screen, title))

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Keys", "Show every key of this screen", self.action_help)
        from evaltui.ui.screens.run import RunScreen

        if isinstance(screen, RunsScreen | RunScreen):
            yield SystemCommand("Reload", "Re-read the store", screen.action_reload)
