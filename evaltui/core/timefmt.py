"""ISO-8601 timestamps to integer epoch nanoseconds, without losing sub-microsecond digits."""

from __future__ import annotations

import re
from datetime import UTC, datetime

_ISO = re.compile(r"^(?P<base>[^.]+?)(?:\.(?P<frac>\d+))?(?P<tz>Z|z|[+-]\d\d:?\d\d)?$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso_to_ns(text: str) -> int:
    """`2026-11-21T22:42:35.790Z` -> epoch ns. A time without a zone is UTC.

    Raises ValueError for anything that is not an ISO-8601 date and time.
    """
    match = _ISO.match(text.strip())
    if match is None:
        raise ValueError(f"not an ISO-8601 time: {text!r}")
    zone = match["tz"] or "+00:00"
    if zone in ("Z", "z"):
        zone = "+00:00"
    moment = datetime.fromisoformat(match["base"] + zone)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    seconds = delta.days * 86_400 + delta.seconds
    frac = (match["frac"] or "")[:9].ljust(9, "0")
    return seconds * 1_000_000_000 + int(frac)


def ns_to_ms(ns: int) -> int:
    return ns // 1_000_000
