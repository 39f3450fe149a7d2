"""The one error type of the store layer: a single line that says what is wrong and what to do."""

from __future__ import annotations

import sqlite3
from pathlib import Path


class StoreError(Exception):
    """A store problem shown to the user as one line (CLI exit code 2, a toast in the app)."""


def explain(error: sqlite3.Error, path: Path, *, writing: bool = False) -> StoreError:
    """Turn a driver error into a one-line `StoreError` that says what to do."""
    message = str(error)
    lowered = message.lower()
    if "locked" in lowered or "busy" in lowered:
        return StoreError(
            f"{path} is locked by another process that is writing to it; "
            "retry when that write finishes"
        )
    if writing:
        return _explain_write(message, lowered, path)
    if "malformed" in lowered or "not a database" in lowered or "disk i/o" in lowered:
        return StoreError(
            f"{path} is corrupted (SQLite: {message}); "
            "recover a copy with `sqlite3 store.db .recover | sqlite3 fixed.db`"
        )
    if "unable to open" in lowered or "readonly" in lowered or "read-only" in lowered:
        return StoreError(
            f"cannot open {path} read-only (SQLite: {message}); "
            "on a read-only medium, retry with --immutable"
        )
    return StoreError(f"cannot read {path} (SQLite: {message})")


def _explain_write(message: str, lowered: str, path: Path) -> StoreError:
    if "readonly" in lowered or "read-only" in lowered or "unable to open" in lowered:
        return StoreError(
            f"cannot write to {path} (SQLite: {message}); check the permissions of the file "
            "and of its folder (SQLite needs to create -wal and -shm files there)"
        )
    if "full" in lowered:
        return StoreError(f"cannot write to {path}: the disk is full")
    if "malformed" in lowered or "not a database" in lowered:
        return StoreError(f"{path} is corrupted (SQLite: {message}); nothing was written")
    return StoreError(f"cannot write to {path} (SQLite: {message})")
