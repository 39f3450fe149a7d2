"""Small JSON helpers shared by the importers and the writer."""

from __future__ import annotations

import json
import math
import re
from typing import Any

INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1  # SQLite's INTEGER range
# The only ways JSON text yields a lone surrogate: a \uD800-\uDFFF escape, or (bytes given to
# `json.loads`, which decodes them with "surrogatepass") the UTF-8 form of one.
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
SURROGATE_BYTES = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")
_LONE = re.compile("[\ud800-\udfff]")


def int64(value: int | None) -> int | None:
    """`value` when SQLite can store it as an INTEGER, else None (the attribute keeps it)."""
    if value is None or INT64_MIN <= value <= INT64_MAX:
        return value
    return None


def scrub(value: Any) -> Any:
    """`value` with every lone surrogate (which UTF-8, and so SQLite, cannot hold) as U+FFFD."""
    if isinstance(value, str):
        return value if value.isascii() else _LONE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {scrub(key): scrub(item) for key, item in value.items()}
    if isinstance(value, list):
        return [scrub(item) for item in value]
    return value


def _int_or_text(text: str) -> int | str:
    try:
        return int(text)
    except ValueError:  # past Python's 4,300-digit limit: kept exactly, as text
        return text


TOLERANT_DECODER = json.JSONDecoder(parse_int=_int_or_text)


def loads(text: str | bytes) -> Any:
    """`json.loads`, except that a lone surrogate becomes U+FFFD and an integer of more than
    4,300 digits stays text (both raise or reach SQLite as errors otherwise)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise
    except ValueError:  # "Exceeds the limit (4300 digits) for integer string conversion"
        value = TOLERANT_DECODER.decode(text.decode() if isinstance(text, bytes) else text)
    found = (
        SURROGATE_BYTES.search(text) if isinstance(text, bytes) else SURROGATE_ESCAPE.search(text)
    )
    return scrub(value) if found else value


def finite(value: Any) -> Any:
    """`value` with every NaN or infinity replaced by its string name (JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {str(key): finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    return value


def dumps(value: Any) -> str:
    """Compact JSON text that SQLite's JSON functions accept (no NaN, no bare objects)."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError:
        return json.dumps(finite(value), ensure_ascii=False, separators=(",", ":"), default=str)
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def maybe_json(value: Any) -> Any:
    """A string that holds a JSON object or array, decoded; anything else unchanged.

    Instrumentations send structured values (messages, tool arguments) either as JSON
    strings or as OTLP arrays/kvlists: both end up as the same Python value.
    """
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("{", "[") and text[-1:] in ("}", "]"):
            try:
                return json.loads(text)
            except (ValueError, RecursionError):
                return value
    return value
