"""Make untrusted text (model outputs, inputs, reasons, names) safe to put on screen.

Data from a store is shown literally: it is always wrapped in `rich.text.Text` (never parsed
as markup) and every character that a terminal would act on is replaced by a visible stand-in,
so no escape sequence (CSI, OSC 52, bidi overrides) from data ever reaches the terminal raw.
"""

from __future__ import annotations

import re

from rich.text import Text

# C0 controls become their Unicode "control picture" (ESC -> U+241B); tab and newline are kept.
_TABLE: dict[int, str] = {code: chr(0x2400 + code) for code in range(0x20) if code not in (9, 10)}
_TABLE[0x7F] = "\u2421"  # DEL
# C1 controls (0x80-0x9f) include CSI (0x9b) and OSC (0x9d): show them as \x escapes.
_TABLE.update({code: f"\\x{code:02x}" for code in range(0x80, 0xA0)})
# Bidirectional overrides and isolates can reorder what the user reads.
_TABLE.update({code: f"\\u{code:04x}" for code in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))})
_ONE_LINE = dict(_TABLE)
_ONE_LINE[10] = "\u21b5"  # newline shown as a return arrow in one-line previews
_ONE_LINE[9] = " "
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # no terminal encoding can write these
ERROR_LIMIT = 1000


def printable(text: str) -> str:
    """Replace every terminal-active character with a visible stand-in (keeps \\n and \\t)."""
    return text.translate(_TABLE)


def one_line(text: str, limit: int = 400) -> str:
    """A single-line, printable preview of at most `limit` characters."""
    return text[:limit].translate(_ONE_LINE)


def safe_text(text: str, style: str = "") -> Text:
    """A `Text` showing `text` literally: no markup, no escape sequences."""
    return Text(printable(text), style=style)


def safe_line(text: str, style: str = "", limit: int = 400) -> Text:
    """A one-line literal `Text` preview."""
    return Text(one_line(text, limit), style=style, end="", no_wrap=True, overflow="ellipsis")


def error_text(error: BaseException | str, limit: int = ERROR_LIMIT) -> str:
    """An error message (which may quote data: SQLite's "Could not decode to UTF-8 column ...
    with text '...'", a file name, a model's reply) as one printable line of at most `limit`
    characters. Every message evaltui prints on stderr or shows in a toast goes through here.
    """
    text = error if isinstance(error, str) else str(error) or type(error).__name__
    cut = len(text) > limit
    line = one_line(_LONE_SURROGATE.sub("\ufffd", text[:limit]), limit)
    return line + "\u2026" if cut else line
