"""Helpers shared by the benchmark scripts (run as `python bench/SCRIPT.py`, so this folder
is on sys.path): statistics, the machine's facts, read-only connections, the CLI's argv."""

from __future__ import annotations

import os
import platform
import sqlite3
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CODE_ENV = "EVALTUI_BENCH_CODE"  # folder holding the evaltui package to measure


@dataclass
class Stat:
    median: float
    min: float
    max: float
    n: int

    @classmethod
    def of(cls, samples: Sequence[float]) -> Stat:
        return cls(statistics.median(samples), min(samples), max(samples), len(samples))


def code_dir() -> Path:
    return Path(os.environ.get(CODE_ENV, str(ROOT)))


def evaltui_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "evaltui", *args]


def machine() -> dict[str, Any]:
    import textual

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "textual": textual.__version__,
        "loadavg_start": os.getloadavg(),
    }


def pooled(children: list[dict[str, Any]], key: str) -> list[float]:
    out: list[float] = []
    for child in children:
        value = child[key]
        out.extend(value if isinstance(value, list) else [value])
    return out


def ro_connect(path: Path) -> sqlite3.Connection:
    """sqlite3 with the URI RunStore.open uses; the schema is read before returning."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    conn.execute("SELECT count(*) FROM sqlite_master").fetchall()
    return conn
