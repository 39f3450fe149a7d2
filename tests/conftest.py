"""Shared fixtures: copies of the real store written by @deepagents/evals, and built stores."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.shared import FIXTURES, ROOT, require_shared
from tests.storebuilder import StoreBuilder

__all__ = ["FIXTURES", "REAL_STORE", "ROOT", "SAMPLE_STORE"]

REAL_STORE = FIXTURES / "deepagents" / "deepagents_store.db"
SAMPLE_STORE = ROOT / "sample_data" / "store.db"

os.environ["TZ"] = "UTC"
time.tzset()


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Files evaltui writes to its cache (crash logs, big copies) stay in the test's folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture
def real_store(tmp_path: Path) -> Path:
    """A copy of the store written by the real package (never write next to the original)."""
    require_shared(REAL_STORE)
    target = tmp_path / "store.db"
    shutil.copy(REAL_STORE, target)
    return target


@pytest.fixture
def sample_store(tmp_path: Path) -> Path:
    target = tmp_path / "sample.db"
    shutil.copy(SAMPLE_STORE, target)
    return target


@pytest.fixture
def builder(tmp_path: Path) -> Iterator[StoreBuilder]:
    built = StoreBuilder(tmp_path / "built.db")
    yield built
    built.close()
