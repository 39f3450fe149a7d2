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


def beyond_int64(*values: int | None) -> int:
    """How many of `values` SQLite cannot store as an INTEGER (`int64` stores them empty)."""
    return sum(1 for value in values if value is not None and int64(value) is None)


def clamp_int64(value: int) -> tuple[int, bool]:
    """`value` brought into SQLite's INTEGER range, and whether it had to be."""
    clamped = min(max(value, INT64_MIN), INT64_MAX)
    return clamped, clamped != value


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


# DEL and the C1 controls (U+0080-U+009F, e.g. CSI U+009B): `json.dumps(ensure_ascii=False)`
# writes them raw, and some terminals act on them. In JSON text they only occur in strings,
# where the \u escape means the same.
_RAW_CONTROLS = {code: f"\\u{code:04x}" for code in range(0x7F, 0xA0)}


def escape_controls(text: str) -> str:
    """JSON text with DEL and C1 controls escaped (C0 controls json.dumps escapes itself)."""
    return text.translate(_RAW_CONTROLS)


NON_FINITE_KEY = "nonFinite"
"""The key of a `--json` record that names its numbers written as null because JSON has no
Infinity or NaN: `{"nonFinite": {"/meanScores/acc": "Infinity"}}` (keys are JSON Pointers
into the record)."""


def _non_finite_name(value: float) -> str:
    return "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"


def _has_non_finite(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return False


def _pointer(path: str, key: object) -> str:
    return f"{path}/{str(key).replace('~', '~0').replace('/', '~1')}"


def null_non_finite(record: Any) -> Any:
    """`record` as JSON can hold it: every NaN or infinite float becomes None and, when there
    was one, a dict record gains `NON_FINITE_KEY` naming each. Walked without recursion, and
    returned as it is (not copied) when every number is finite."""
    if not _has_non_finite(record):
        return record
    notes: dict[str, str] = {}
    holder: list[Any] = [record]
    stack: list[tuple[Any, Any, str]] = [(holder, 0, "")]
    while stack:
        container, key, path = stack.pop()
        item = container[key]
        if isinstance(item, float) and not math.isfinite(item):
            container[key] = None
            notes[path] = _non_finite_name(item)
        elif isinstance(item, dict):
            copy = dict(item)
            container[key] = copy
            stack.extend((copy, k, _pointer(path, k)) for k in reversed(list(copy)))
        elif isinstance(item, list | tuple):
            items = list(item)
            container[key] = items
            stack.extend((items, i, _pointer(path, i)) for i in range(len(items) - 1, -1, -1))
    result = holder[0]
    if isinstance(result, dict):
        result[NON_FINITE_KEY] = notes
    return result


def json_output(payload: Any) -> Any:
    """A command's `--json` payload with `null_non_finite` applied to each record: the
    payload itself, or each item when it is a list."""
    if isinstance(payload, list):
        return [null_non_finite(item) for item in payload]
    return null_non_finite(payload)


def dumps_output(payload: Any, indent: int | None = None) -> str:
    """A command's `--json` text: `json_output(payload)`, never Infinity or NaN, with
    DEL and C1 controls escaped."""
    text = json.dumps(json_output(payload), indent=indent, ensure_ascii=False, allow_nan=False)
    return escape_controls(text)
