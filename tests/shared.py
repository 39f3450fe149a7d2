"""Files from `../shared` that tests read: missing in CI is a failure, elsewhere a skip."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT.parent / "shared" / "fixtures"


def require_shared(path: Path) -> None:
    """Fail loudly in CI (`CI` set) when `path` from ../shared is missing; skip elsewhere."""
    if path.exists():
        return
    message = f"{path} is not there: CI needs ../shared beside the repo"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
