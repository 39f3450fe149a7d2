"""Failures worth retrying, and how long the server asked us to wait.

Judges and tasks raise `TransientError` for 408/409/429/5xx/529 answers and transport errors;
the runner retries them (see `evaltui.jobs.retry`). Everything else becomes an errored
verdict at once, except 401/403: `AccessDenied`, which stops the whole job (every further
call would be refused the same way, and none of them is worth paying for or storing).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC
from email.utils import parsedate_to_datetime

RETRYABLE_STATUSES = frozenset({408, 409, 429})
ACCESS_DENIED_STATUSES = frozenset({401, 403})


class TransientError(Exception):
    """A call failed in a way that may succeed if retried.

    `retry_after` is the delay the server asked for, in seconds (None when it gave none).
    """

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class AccessDenied(Exception):
    """A backend refused our credentials or permissions (HTTP 401/403): never retried, and
    the job stops at once instead of calling it again for every case."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def is_access_denied_status(status: int) -> bool:
    return status in ACCESS_DENIED_STATUSES


def access_denied_of(error: BaseException) -> AccessDenied | None:
    """`error` as `AccessDenied` when it is one, or an SDK/HTTP error of status 401/403
    (e.g. `anthropic.AuthenticationError` raised by a plugin), else None."""
    if isinstance(error, AccessDenied):
        return error
    status = getattr(error, "status_code", None)
    if status is None:
        response = getattr(error, "response", None)
        status = getattr(response, "status_code", None)
    if isinstance(status, int) and is_access_denied_status(status):
        return AccessDenied(f"HTTP {status}: {error}", status=status)
    return None


def is_retryable_status(status: int, headers: Mapping[str, str] | None = None) -> bool:
    """The Anthropic SDK's rule: 408, 409, 429 and every 5xx, unless `x-should-retry` says."""
    if headers is not None:
        hint = headers.get("x-should-retry")
        if hint == "true":
            return True
        if hint == "false":
            return False
    return status in RETRYABLE_STATUSES or status >= 500


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """`retry-after-ms`, else `retry-after` (seconds, fractional allowed, or an HTTP date).

    Returns seconds (never negative) or None when neither header is usable.
    """
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            value = float(raw_ms) / 1000.0
        except ValueError:
            value = -1.0
        if value >= 0 and value == value:
            return value
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        current = time.time() if now is None else now
        return max(0.0, when.timestamp() - current)
    if seconds != seconds or seconds < 0:  # NaN or negative
        return None
    return seconds
