"""What a batch API tells of one batch (Anthropic's Message Batches, or any like it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BatchInfo:
    """One batch as the API reports it; times are epoch seconds."""

    id: str
    status: str
    """`in_progress`, `canceling` or `ended`."""
    requests: int
    ended: int
    """Requests that ended (succeeded, errored, canceled or expired)."""
    created_at: float
    expires_at: float | None = None
