"""Tests that need ../shared fail in CI instead of skipping."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.shared import require_shared


def test_missing_shared_file_fails_in_ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"CI needs \.\./shared"):
        require_shared(tmp_path / "missing.db")


def test_missing_shared_file_skips_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        require_shared(tmp_path / "missing.db")


def test_present_shared_file_passes(tmp_path: Path) -> None:
    present = tmp_path / "there.db"
    present.write_bytes(b"")
    require_shared(present)
