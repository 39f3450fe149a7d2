"""Read a JSON file piece by piece with bounded memory, using only the stdlib decoder.

`json` cannot stream, but `JSONDecoder.raw_decode` decodes one value at an offset of a
buffer. `JsonStream` keeps a sliding text buffer over the file and lets a caller walk the
structure it cares about (`object_keys`, `array_items`) while decoding each small value it
needs whole (`read_value`), such as one OTLP span. Memory is the buffer plus the largest
single value read whole, never the file. A file may hold one JSON value, JSON lines, or
several values one after another (the OpenTelemetry SDK's console exporter writes that).

Kept over ijson (issue 9), measured by bench/bench_json_stream.py: handing the 100,000 span
dicts of a 55 MiB OTLP/JSON file to the caller takes 0.83 s median here and 0.96 s with
ijson 3.6's C backend (yajl2_c), which also gives no line numbers for errors.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterator
from typing import IO, Any

from evaltui.core.jsonutil import SURROGATE_ESCAPE, TOLERANT_DECODER, scrub

CHUNK_CHARS = 1 << 20
MAX_VALUE_CHARS = 256 << 20  # one value read whole (a span, a DeepEval test run) at most
_WS = re.compile(r"[ \t\r\n]*")
_NEAR_END = 32  # a decode error this close to the end of the buffer may be a cut value


class JsonSyntaxError(ValueError):
    """Bad JSON at a line and column of the file."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(f"line {line}, column {column}: {message}")
        self.line = line
        self.column = column


class JsonStream:
    """A cursor over the JSON text of a binary file (UTF-8, an optional BOM)."""

    def __init__(
        self,
        handle: IO[bytes],
        *,
        chunk_chars: int = CHUNK_CHARS,
        max_value_chars: int = MAX_VALUE_CHARS,
        on_read: Callable[[int], None] | None = None,
    ) -> None:
        self._handle = handle
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self._json = json.JSONDecoder()
        self._chunk = chunk_chars
        self._max_value = max_value_chars
        self._on_read = on_read
        self._buf = ""
        self._pos = 0
        self._eof = False
        self._line = 1  # line number at `_line_pos`
        self._line_pos = 0
        self._column_base = 0  # characters of the buffer's first line dropped before it

    # -- buffer -----------------------------------------------------------------------------

    def _fill(self, at_least: int = 0) -> bool:
        """Read at least one more chunk; False at the end of the file."""
        if self._eof:
            return False
        if self._pos:
            self._advance_line(self._pos)
            newline = self._buf.rfind("\n", 0, self._pos)
            self._column_base = (
                self._column_base + self._pos if newline < 0 else self._pos - newline - 1
            )
            self._buf = self._buf[self._pos :]
            self._line_pos -= self._pos
            self._pos = 0
        want = max(self._chunk, at_least)
        data = self._handle.read(want)
        if self._on_read is not None and data:
            self._on_read(len(data))
        try:
            text = self._decoder.decode(data, final=not data)
        except UnicodeDecodeError as error:
            raise self._error(f"the file is not UTF-8 ({error.reason})") from None
        if not data:
            self._eof = True
        self._buf += text
        return bool(data) or bool(text)

    def _advance_line(self, pos: int) -> None:
        if pos > self._line_pos:
            self._line += self._buf.count("\n", self._line_pos, pos)
            self._line_pos = pos

    def position(self) -> tuple[int, int]:
        """(line, column) of the cursor, 1-based."""
        self._advance_line(self._pos)
        newline = self._buf.rfind("\n", 0, self._pos)
        column = self._pos - newline if newline >= 0 else self._column_base + self._pos + 1
        return self._line, column

    def line(self) -> int:
        """The line of the next token (blanks skipped)."""
        self.peek()
        return self.position()[0]

    def _error(self, message: str) -> JsonSyntaxError:
        line, column = self.position()
        return JsonSyntaxError(message, line, column)

    # -- tokens -----------------------------------------------------------------------------

    def peek(self) -> str:
        """The next non-blank character without consuming it ('' at the end of the file)."""
        while True:
            match = _WS.match(self._buf, self._pos)
            self._pos = match.end() if match else self._pos
            if self._pos < len(self._buf):
                return self._buf[self._pos]
            if not self._fill():
                return ""

    def expect(self, char: str) -> None:
        found = self.peek()
        if found != char:
            shown = repr(found) if found else "the end of the file"
            raise self._error(f"expected {char!r} but found {shown}")
        self._pos += 1

    def read_value(self) -> Any:
        """Decode the next value whole."""
        self.peek()
        want = 0
        decoder = self._json
        while True:
            try:
                value, end = decoder.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as error:
                cut = error.msg.startswith("Unterminated string") or (
                    error.pos >= len(self._buf) - _NEAR_END
                )
                if cut and not self._eof:
                    want = self._grow(want)
                    continue
                self._advance_line(self._pos)
                self._pos = min(error.pos, len(self._buf))
                raise self._error(error.msg) from None
            except RecursionError:
                raise self._error("the JSON is nested too deeply") from None
            except ValueError:  # an integer of more than 4,300 digits: kept as text
                if decoder is TOLERANT_DECODER:
                    raise self._error("a number is too long") from None
                decoder = TOLERANT_DECODER
                continue
            # A number that ends the buffer may continue in the next chunk.
            if end == len(self._buf) and not self._eof and isinstance(value, int | float):
                want = self._grow(want)
                continue
            start, self._pos = self._pos, end
            if SURROGATE_ESCAPE.search(self._buf, start, end):
                return scrub(value)  # a lone surrogate would not encode to UTF-8 (SQLite)
            return value

    def _grow(self, want: int) -> int:
        held = len(self._buf) - self._pos
        if held > self._max_value:
            raise self._error(
                f"a single JSON value is larger than {self._max_value >> 20} MiB (or is cut)"
            )
        want = max(self._chunk, want * 2, held)
        self._fill(want)
        return want

    def read_key(self) -> str:
        key = self.read_value() if self.peek() == '"' else None
        if not isinstance(key, str):
            raise self._error("expected a quoted object key")
        self.expect(":")
        return key

    def object_keys(self) -> Iterator[str]:
        """The keys of the object at the cursor; the caller consumes each value."""
        self.expect("{")
        if self.peek() == "}":
            self._pos += 1
            return
        while True:
            yield self.read_key()
            found = self.peek()
            if found == ",":
                self._pos += 1
                continue
            if found == "}":
                self._pos += 1
                return
            raise self._error(f"expected ',' or '}}' in an object but found {found!r}")

    def array_items(self) -> Iterator[int]:
        """Indexes of the items of the array at the cursor; the caller consumes each item."""
        self.expect("[")
        if self.peek() == "]":
            self._pos += 1
            return
        index = 0
        while True:
            yield index
            index += 1
            found = self.peek()
            if found == ",":
                self._pos += 1
                continue
            if found == "]":
                self._pos += 1
                return
            raise self._error(f"expected ',' or ']' in an array but found {found!r}")
