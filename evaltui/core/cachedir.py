"""Where evaltui writes files of its own: crash logs, and traces too big for the clipboard.

`$XDG_CACHE_HOME/evaltui`, else `~/.cache/evaltui` (created private to the user), else the
system's temporary directory when that cannot be created (a read-only home). Files are
created with `tempfile.mkstemp`: a fresh name each time, never a file someone else made.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """evaltui's cache directory, created if needed; the temporary directory as a fallback."""
    env = os.environ if env is None else env
    base = env.get("XDG_CACHE_HOME") or str(Path(env.get("HOME") or Path.home()) / ".cache")
    folder = Path(base) / "evaltui"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return Path(tempfile.gettempdir())
    return folder


def new_cache_file(prefix: str, suffix: str) -> tuple[BinaryIO, Path]:
    """A new file in `cache_dir()` opened for binary writing, and its path."""
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in prefix)
    try:
        handle, name = tempfile.mkstemp(prefix=safe, suffix=suffix, dir=cache_dir())
    except OSError:
        handle, name = tempfile.mkstemp(prefix=safe, suffix=suffix)
    return os.fdopen(handle, "wb"), Path(name)
