"""One line on the job screen for a job's Message Batch: submitted, polled, unreachable.

    batch msgbatch_01… submitted, 500 cases · in_progress (ended 120/500) · next poll in 30 s

Fed with the job's `BatchSubmitted` / `BatchPolled` events; hidden until the first one. The
batch id and the API's error text are hostile text: rendered through `textsafe`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from evaltui.core.textsafe import safe_line
from evaltui.jobs import BatchPolled, BatchSubmitted, JobEvent


@dataclass
class BatchState:
    batch_id: str
    cases: int
    adopted: bool = False
    status: str = "submitted"
    ended: int = 0
    requests: int = 0
    problem: str | None = None
    next_poll_at: float | None = None
    """`time.monotonic()` of the next poll (None: no more polls)."""


def batch_line(state: BatchState, now: float) -> Text:
    """The widget's line for `state` at monotonic time `now`."""
    line = Text("batch ", style="bold")
    line.append_text(safe_line(state.batch_id, style="bold", limit=40))
    verb = "found again (its create had timed out)" if state.adopted else "submitted"
    line.append(f" {verb}, {state.cases} case{'s' * (state.cases != 1)} · ")
    if state.problem is not None:
        what = "gave up on it: " if state.next_poll_at is None else "status unreachable: "
        line.append(what, style="yellow")
        line.append_text(safe_line(state.problem, style="yellow", limit=80))
    elif state.status == "ended":
        line.append(f"ended ({state.ended}/{state.requests}), reading results", style="green")
    else:
        total = state.requests or state.cases
        line.append(f"polling ({state.status}, ended {state.ended}/{total})")
    if state.next_poll_at is not None:
        wait = max(0, round(state.next_poll_at - now))
        line.append(f" · next poll in {wait} s", style="dim")
    return line


class BatchStatus(Static):
    """The job's current batch (the last one announced), refreshed every second."""

    DEFAULT_CSS = "BatchStatus { height: auto; padding: 0 1; display: none; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state: BatchState | None = None

    def on_mount(self) -> None:
        self.set_interval(1.0, self._paint)

    def record(self, event: JobEvent) -> None:
        """Take a job event (others are ignored)."""
        if isinstance(event, BatchSubmitted):
            self.state = BatchState(event.batch_id, len(event.case_ids), event.adopted)
        elif isinstance(event, BatchPolled):
            if self.state is None or self.state.batch_id != event.batch_id:
                self.state = BatchState(event.batch_id, event.requests)
            state = self.state
            state.status, state.problem = event.status, event.problem
            if event.problem is None:
                state.ended, state.requests = event.ended, event.requests
            state.next_poll_at = (
                None if event.next_poll_s is None else time.monotonic() + event.next_poll_s
            )
        else:
            return
        self.display = True
        self._paint()

    def _paint(self) -> None:
        if self.state is not None:
            self.update(batch_line(self.state, time.monotonic()))
