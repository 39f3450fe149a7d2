"""A crash (a bug) written to a log file, so that the user sees one line, not a traceback.

The app calls `write_crash_log` with the exception that ended it; the CLI prints
`crash_line` and exits non-zero. The log holds the full traceback (the inner one too when a
background worker failed) with evaltui's and Python's versions.
"""

from __future__ import annotations

import datetime
import platform
import sys
import traceback
from pathlib import Path

from evaltui import __version__
from evaltui.core.cachedir import new_cache_file
from evaltui.core.textsafe import error_text, printable


def root_error(error: BaseException) -> BaseException:
    """The exception a wrapper carries (Textual's `WorkerFailed.error`), else `error`."""
    inner = getattr(error, "error", None)
    return inner if isinstance(inner, BaseException) else error


def write_crash_log(error: BaseException) -> Path | None:
    """The traceback of `error` in a new file of the cache directory; None if none could be
    written (then the caller keeps its usual traceback)."""
    lines = [
        f"evaltui {__version__} crashed at {datetime.datetime.now(datetime.UTC).isoformat()}",
        f"python {platform.python_version()} on {platform.platform()}",
        f"argv: {sys.argv!r}",
        "",
        *traceback.format_exception(error),
    ]
    inner = root_error(error)
    if inner is not error:
        lines += ["", "the failed worker's exception:", *traceback.format_exception(inner)]
    try:
        file, path = new_cache_file("crash-", ".log")
        with file:
            text = printable("\n".join(line.rstrip("\n") for line in lines))  # safe to `cat`
            file.write(text.encode("utf-8", "replace"))
    except OSError:
        return None
    return path


def crash_line(error: BaseException, log: Path) -> str:
    """One printable line: what crashed and where the traceback is."""
    inner = root_error(error)
    return (
        f"evaltui crashed ({type(inner).__name__}: {error_text(inner, 300)}); this is a bug, "
        f"the traceback is in {error_text(str(log))}"
    )
