"""JavaScript semantics the package's scorers rely on, ported exactly.

`String(value)`, number formatting, `JSON.parse`, the scorers' `deepEqual`, Levenshtein over
UTF-16 code units (JavaScript string indices) and JavaScript-flavoured regular expressions.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Hashable, Sequence
from decimal import Decimal
from typing import Any


class _Undefined:
    """JavaScript's `undefined`, as distinct from `null` (only `json_match` tells them apart)."""

    def __repr__(self) -> str:
        return "undefined"


UNDEFINED: Any = _Undefined()


def js_number(value: float) -> str:
    """`Number.prototype.toString()` (ECMAScript Number::toString, radix 10)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    digits_tuple = Decimal(repr(abs(value))).as_tuple()
    digits = "".join(str(d) for d in digits_tuple.digits).rstrip("0") or "0"
    exponent = int(digits_tuple.exponent)
    k = len(digits)
    # Decimal gives value = digits_all * 10**exponent; with trailing zeros stripped:
    n = len(digits_tuple.digits) + exponent  # position of the decimal point
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
        text = f"{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"
    return sign + text


def js_string(value: Any) -> str:
    """`String(value)` for JSON-decoded data."""
    if value is UNDEFINED:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return js_number(float(value))
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ",".join(
            "" if item is None or item is UNDEFINED else js_string(item) for item in value
        )
    return "[object Object]"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def js_json_parse(text: str) -> Any:
    """`JSON.parse(text)`: every number is a double and NaN/Infinity are rejected.

    Raises ValueError when `text` is not JSON.
    """
    return json.loads(text, parse_int=float, parse_constant=_reject_constant)


def js_deep_equal(a: Any, b: Any) -> bool:
    """The package's `deepEqual`: `===` for primitives, key order ignored, array order kept."""
    if a is UNDEFINED or b is UNDEFINED or a is None or b is None:
        return a is b
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float):
        return isinstance(b, int | float) and float(a) == float(b)
    if isinstance(a, str):
        return isinstance(b, str) and a == b
    if isinstance(a, list):
        if not isinstance(b, list) or len(a) != len(b):
            return False
        return all(js_deep_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        if not isinstance(b, dict) or a.keys() != b.keys():
            return False
        return all(js_deep_equal(a[key], b[key]) for key in a)
    return False


def utf16_units(text: str) -> Sequence[int]:
    """The UTF-16 code units of `text` (what JavaScript's `length` and indices count)."""
    data = text.encode("utf-16-le", "surrogatepass")
    return memoryview(data).cast("H").tolist()


def edit_distance(a: Sequence[Hashable], b: Sequence[Hashable]) -> int:
    """Levenshtein distance (unit costs), bit-parallel (Myers/Hyyrö): O(len(a)·len(b)/word)."""
    if len(a) < len(b):
        a, b = b, a
    m = len(b)
    if m == 0:
        return len(a)
    peq: dict[Hashable, int] = {}
    for i, item in enumerate(b):
        peq[item] = peq.get(item, 0) | (1 << i)
    full = (1 << m) - 1
    top = 1 << (m - 1)
    pv, mv, score = full, 0, m
    for item in a:
        eq = peq.get(item, 0)
        xv = eq | mv
        xh = (((eq & pv) + pv) ^ pv) | eq
        ph = (mv | ~(xh | pv)) & full
        mh = pv & xh
        if ph & top:
            score += 1
        elif mh & top:
            score -= 1
        ph = ((ph << 1) | 1) & full
        mh = (mh << 1) & full
        pv = (mh | ~(xv | ph)) & full
        mv = ph & xv
    return score


def levenshtein_similarity(output: Sequence[Hashable], expected: Sequence[Hashable]) -> float:
    """`1 - distance / max(len)`, 1.0 when both are empty, clamped to [0, 1]."""
    longest = max(len(output), len(expected))
    if longest == 0:
        return 1.0
    return min(1.0, max(0.0, 1 - edit_distance(output, expected) / longest))


_JS_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}
_NAMED_GROUP = re.compile(r"(?<!\\)\(\?<(?=[A-Za-z_])")
_NAMED_BACKREF = re.compile(r"\\k<([A-Za-z_][A-Za-z0-9_]*)>")


def js_regex(pattern: str, flags: str = "") -> re.Pattern[str]:
    """Compile a JavaScript `RegExp` source with its flags (`i`, `m`, `s`; `g`, `y`, `u`, `d`
    change nothing for a single test). Named groups `(?<n>…)` and `\\k<n>` are translated.

    Raises ValueError for an unknown flag or a pattern Python cannot compile.
    """
    compiled_flags = 0
    for flag in flags:
        if flag in _JS_FLAGS:
            compiled_flags |= _JS_FLAGS[flag]
        elif flag not in "gyud":
            raise ValueError(f"unknown regex flag {flag!r} (allowed: d, g, i, m, s, u, y)")
    source = _NAMED_BACKREF.sub(r"(?P=\1)", _NAMED_GROUP.sub("(?P<", pattern))
    try:
        return re.compile(source, compiled_flags)
    except re.error as error:
        raise ValueError(f"invalid regex {pattern!r}: {error}") from None
