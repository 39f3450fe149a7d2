"""App-wide messages: what the user asked for, carried up to the App."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from evaltui.core.models import Run


@dataclass
class OpenRun(Message):
    """Open the case table of a run."""

    run: Run


@dataclass
class OpenDiff(Message):
    """Compare a baseline run with a candidate run."""

    baseline: Run
    candidate: Run


@dataclass
class StartJob(Message):
    """Re-judge or re-run some cases of a run (`kind`: "rejudge" or "rerun"): the app opens
    the job setup with the settings it was handed at start."""

    run: Run
    case_ids: list[str]
    kind: str
    threshold: float
