"""The runner of re-judge and re-run jobs (no Textual, no store: results are streamed)."""

from __future__ import annotations

from evaltui.jobs.calls import Caller, backend_key
from evaltui.jobs.models import (
    BatchPolled,
    BatchSubmitted,
    CallRetrying,
    CaseResult,
    CaseStarted,
    JobEvent,
    JobTotals,
)
from evaltui.jobs.retry import RetryPolicy
from evaltui.jobs.runner import Job, RunnerOptions

__all__ = [
    "BatchPolled",
    "BatchSubmitted",
    "CallRetrying",
    "Caller",
    "CaseResult",
    "CaseStarted",
    "Job",
    "JobEvent",
    "JobTotals",
    "RetryPolicy",
    "RunnerOptions",
    "backend_key",
]
