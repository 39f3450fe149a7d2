"""One rule for every value read from a store: decoded and typed tolerantly, and counted.

SQLite's type affinity lets a column hold values of any storage class, and stores written by
other tools (or with NOT NULL dropped) do: text in `started_at`, a BLOB `output`, a NULL
`score`, bytes that are not UTF-8. None of them may crash a read. So:

- text that is not valid UTF-8 is decoded with U+FFFD in place of the bad bytes
  (`tolerant_text`, the connection's text factory once a store has such text);
- a value of the wrong storage class becomes what the reader can show: a BLOB or a number in
  a text column its text, a NULL in a NOT NULL text column `NULL_TEXT`, a non-number in a
  number column None (or NaN for a score, or `UNREADABLE_INT` where the model needs a number);
- each such value is noted once in a `Tally`, by run, so that a header or `--json` can say
  "3 values could not be read as stored".

Standard library only: `evaltui.store.runload`'s worker process loads this file by path.
"""

from __future__ import annotations

import math
from collections.abc import Hashable

NULL_TEXT = "<null>"  # a NULL where the package's schema says NOT NULL
UNREADABLE_INT = -1  # an `idx` or a time that is not an integer (the package's are >= 0)
DECODE_ERROR = "could not decode to utf-8"  # the start of sqlite3's message for such text
INT64 = 2**63


class ReplacedText(str):
    """Text whose stored bytes were not valid UTF-8, shown with U+FFFD for the bad bytes;
    `stored` keeps the bytes (for a full view: `stored_bytes`)."""

    stored: bytes

    @classmethod
    def of(cls, data: bytes) -> ReplacedText:
        text = cls(data.decode("utf-8", "replace"))
        text.stored = bytes(data)
        return text


def stored_bytes(value: object) -> bytes | None:
    """The bytes as stored of text read with U+FFFD in it (None for any other value)."""
    return value.stored if isinstance(value, ReplacedText) else None


def tolerant_text(data: bytes) -> str:
    """A text factory for sqlite3: UTF-8, or a `ReplacedText` when the bytes are not."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return ReplacedText.of(data)


def is_decode_error(error: BaseException) -> bool:
    """True for sqlite3's error on text that is not UTF-8 (then read again tolerantly)."""
    return DECODE_ERROR in str(error).lower()


class Tally:
    """Distinct stored values that could not be read as stored, by run ("" for none)."""

    def __init__(self) -> None:
        self._by_run: dict[str, set[Hashable]] = {}

    def note(self, run_id: str | None, where: Hashable) -> None:
        self._by_run.setdefault(run_id or "", set()).add(where)

    def count(self, run_id: str | None = None) -> int:
        """Values noted for one run, or for the whole store when `run_id` is None."""
        if run_id is None:
            return sum(len(seen) for seen in self._by_run.values())
        return len(self._by_run.get(run_id, ()))


def describe_unreadable(count: int) -> str:
    """`3 values could not be read as stored (shown as <null>, U+FFFD or -1)`, for a header
    or a note ("" for none)."""
    if not count:
        return ""
    values = "1 value" if count == 1 else f"{count:,} values"
    return f"{values} could not be read as stored (shown as {NULL_TEXT}, U+FFFD or -1)"


def as_text(value: object) -> str:
    """Any stored value as text: BLOBs decoded as UTF-8 with U+FFFD, numbers as written."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return ReplacedText.of(value)
    if value is None:
        return NULL_TEXT
    return repr(value) if isinstance(value, float) else str(value)


class Values:
    """Types the values of rows read for one run and notes those not readable as stored.

    `where` identifies the value (e.g. `("case", case_id, "output")`), so that a value read
    twice is counted once.
    """

    __slots__ = ("noted", "run_id", "tally")

    def __init__(self, tally: Tally, run_id: str | None) -> None:
        self.tally = tally
        self.run_id = run_id
        self.noted: list[Hashable] = []  # in the order noted (a row builder may read it)

    def note(self, where: Hashable) -> None:
        self.tally.note(self.run_id, where)
        self.noted.append(where)

    def text(self, value: object, where: Hashable) -> str:
        """A NOT NULL text column: `NULL_TEXT` for NULL."""
        if type(value) is str:
            return value
        self.note(where)
        return as_text(value)

    def optional_text(self, value: object, where: Hashable) -> str | None:
        if value is None or type(value) is str:
            return value
        self.note(where)
        return as_text(value)

    def optional_int(self, value: object, where: Hashable) -> int | None:
        """An INTEGER column: a REAL with no fraction as its int, anything else None."""
        if value is None or type(value) is int:
            return value
        self.note(where)
        if isinstance(value, float) and value.is_integer() and -INT64 <= value < INT64:
            return int(value)
        return None

    def integer(self, value: object, where: Hashable) -> int:
        """A NOT NULL INTEGER column: `UNREADABLE_INT` when it holds no integer."""
        if type(value) is int:
            return value
        number = self.optional_int(value, where)
        if number is None:
            if value is None:
                self.note(where)
            return UNREADABLE_INT
        return number

    def optional_number(self, value: object, where: Hashable) -> float | None:
        """A REAL column (or an aggregate of one): None for anything but a number."""
        if value is None or type(value) is float:
            return value
        if type(value) is int:
            return float(value)
        self.note(where)
        return None

    def score(self, value: object, where: Hashable) -> float:
        """`scores.score` (REAL NOT NULL): NaN, as an unscored case, when not a number."""
        if type(value) is float:
            return value
        if type(value) is int:
            return float(value)
        self.note(where)
        return math.nan

    def count(self, value: object, where: Hashable) -> int:
        """A sum of an INTEGER column (latency, tokens): SQLite's SUM is a REAL when some value
        was not an integer; a whole or rounded int then, 0 when it is not finite."""
        if type(value) is int:
            return value
        self.note(where)
        if isinstance(value, float) and math.isfinite(value) and -INT64 <= value < INT64:
            return round(value)
        return 0
