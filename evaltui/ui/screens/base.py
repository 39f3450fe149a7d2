"""The base of evaltui's screens: one place where a failed background load becomes one line.

Workers that read data are declared with `@work(exit_on_error=False)` and let `StoreError` (or
another error the screen names in `WORKER_ERRORS`) propagate; this handler turns it into one
error toast with the data-quoting message made printable. Any other exception still crashes the
app, as a bug should.
"""

from __future__ import annotations

from typing import ClassVar, TypeVar

from textual.screen import Screen
from textual.worker import Worker, WorkerState

from evaltui.core.textsafe import one_line
from evaltui.store import StoreError

ResultT = TypeVar("ResultT")


class EvalScreen(Screen[ResultT]):
    """A screen whose data workers report errors through `on_worker_state_changed`."""

    WORKER_ERRORS: ClassVar[tuple[type[BaseException], ...]] = (StoreError,)
    """Errors a worker may raise that mean "cannot read this", not "bug"."""

    ERROR_TITLE: ClassVar[str] = "Cannot read the store"

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        error = event.worker.error
        if event.state is not WorkerState.ERROR or error is None:
            return
        if not isinstance(error, self.WORKER_ERRORS):
            raise error
        event.stop()
        self.notify(one_line(str(error)), title=self.ERROR_TITLE, severity="error", markup=False)
