"""A span tree's JSON for the clipboard, or a file when it is too big for one.

A terminal takes the clipboard through an OSC 52 escape sequence that carries the text as
base64, and tmux and many terminals drop sequences past about 100 KB without a word; Textual's
`copy_to_clipboard` sends any size and cannot know whether it arrived. So the JSON is built
piece by piece (never as one structure) and kept for the clipboard only while it fits
`CLIPBOARD_LIMIT`; past that, the pieces already built and all the rest stream to a file, and
the caller says where. Memory stays within the limit plus one span's JSON, whatever the
trace's size or depth.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from evaltui.core.jsonutil import scrub

CLIPBOARD_LIMIT = 75_000
"""Bytes of UTF-8 handed to the clipboard at most: 100,000 bytes once base64-encoded."""


@dataclass(frozen=True, slots=True)
class Copied:
    """The JSON for the clipboard (`text`), or the file it was written to (`path`)."""

    text: str | None
    path: Path | None
    size: int
    """Bytes of UTF-8."""


def copy_or_spill(
    pieces: Iterable[str],
    open_file: Callable[[], tuple[BinaryIO, Path]],
    limit: int = CLIPBOARD_LIMIT,
) -> Copied:
    """The joined `pieces` as text when they fit `limit` bytes, else written to the file
    `open_file()` makes. Characters UTF-8 cannot hold (lone surrogates) become U+FFFD."""

    def encoded(piece: str) -> bytes:
        try:
            return piece.encode("utf-8")
        except UnicodeEncodeError:
            return str(scrub(piece)).encode("utf-8")

    kept: list[bytes] = []
    size = 0
    pieces = iter(pieces)
    for piece in pieces:
        data = encoded(piece)
        size += len(data)
        kept.append(data)
        if size > limit:
            break
    else:
        return Copied(b"".join(kept).decode("utf-8"), None, size)
    file, path = open_file()
    with file:
        file.writelines(kept)
        kept.clear()
        for piece in pieces:
            data = encoded(piece)
            size += len(data)
            file.write(data)
    return Copied(None, path, size)
