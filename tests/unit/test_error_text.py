"""Every error message that quotes data reaches stderr printable: no escape sequence, no
terminal title set by a stored string (the SQLite decode error quotes the bad text)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from evaltui.cli.main import main
from evaltui.core.textsafe import ERROR_LIMIT, error_text
from tests.storebuilder import StoreBuilder

HOSTILE = b"\x1b]0;PWNED\x07\x1b[31mred\x9b\xe2\x80\xae\xff"  # OSC title, CSI, C1, bidi, bad byte


def assert_printable(text: str) -> None:
    assert not any(ord(c) < 0x20 and c != "\n" for c in text), repr(text)
    assert not any(0x80 <= ord(c) < 0xA0 for c in text), repr(text)
    assert "\u202e" not in text and "\x7f" not in text


@pytest.fixture
def hostile_store(builder: StoreBuilder) -> Path:
    """A run whose name holds escape sequences and a byte that is not UTF-8."""
    suite = builder.suite("s")
    run_id = builder.run(suite, "m")
    builder.case(run_id, 0, scores={"acc": 0.5})
    builder.finish(run_id)
    builder.db.execute("UPDATE runs SET name = CAST(? AS TEXT) WHERE id = ?", (HOSTILE, run_id))
    builder.db.commit()
    return builder.path


@pytest.mark.parametrize("command", [["runs"], ["runs", "--json"], ["traces"]])
def test_a_store_error_quoting_bad_text_is_one_printable_line(
    hostile_store: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([*command, "--store", str(hostile_store)])
    err = capsys.readouterr().err
    if code:  # SQLite could not decode the name (a tolerant reader shows it instead)
        assert code == 2 and err.count("\n") == 1 and err.startswith("evaltui: error: ")
    assert_printable(err)


def test_a_file_name_with_escapes_is_printable_in_the_import_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = str(tmp_path / "\x1b]0;PWNED\x07.json")
    assert main(["import", name, "--store", str(tmp_path / "s.db")]) == 2
    err = capsys.readouterr().err
    assert "\u241b]0;PWNED\u2407" in err
    assert_printable(err)


def test_error_text_is_one_bounded_printable_line() -> None:
    error = sqlite3.OperationalError(
        "Could not decode to UTF-8 column 'name' with text '"
        + HOSTILE.decode("utf-8", "surrogateescape")
        + "' \u009b\x7f\nsecond line"
    )
    text = error_text(error)
    assert_printable(text)
    assert "\n" not in text and "\u241b]0;PWNED\u2407" in text and "\\x9b\u2421" in text
    assert "\ufffd" in text  # the lone surrogate of the bad byte: an encoder would fail on it
    text.encode("utf-8")
    long = error_text("x" * 5000)
    assert len(long) == ERROR_LIMIT + 1 and long.endswith("\u2026")
    assert error_text(KeyError()) == "KeyError"
