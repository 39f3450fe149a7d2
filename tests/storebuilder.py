"""Build small RunStores for tests, with exactly the package's schema and its write semantics."""

from __future__ import annotations

import json
import sqlite3
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evaltui.store.schema import PACKAGE_SCHEMA

BASE_MS = 1_795_000_000_000


@dataclass
class StoreBuilder:
    """Writes suites, runs, cases and scores the way `@deepagents/evals` does."""

    path: Path
    wal: bool = True
    db: sqlite3.Connection = field(init=False)
    _counter: int = 0

    def __post_init__(self) -> None:
        self.db = sqlite3.connect(self.path)
        if self.wal:
            self.db.execute("PRAGMA journal_mode = WAL")
        self.db.executescript(PACKAGE_SCHEMA)
        self.db.commit()

    def _id(self) -> str:
        self._counter += 1
        return str(uuid.UUID(int=self._counter, version=4))

    def suite(self, name: str, created_at: int = BASE_MS) -> str:
        suite_id = self._id()
        self.db.execute(
            "INSERT INTO suites (id, name, created_at) VALUES (?, ?, ?)",
            (suite_id, name, created_at),
        )
        self.db.commit()
        return suite_id

    def run(
        self,
        suite_id: str,
        model: str,
        *,
        name: str | None = None,
        config: dict[str, Any] | str | None = None,
        started_at: int = BASE_MS,
    ) -> str:
        run_id = self._id()
        config_text = json.dumps(config) if isinstance(config, dict) else config
        self.db.execute(
            "INSERT INTO runs (id, suite_id, name, model, config, started_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (run_id, suite_id, name or f"suite [{model}]", model, config_text, started_at),
        )
        self.db.commit()
        return run_id

    def case(
        self,
        run_id: str,
        idx: int,
        *,
        input: Any = None,
        output: str | None = "out",
        expected: Any = None,
        scores: dict[str, float] | None = None,
        reasons: dict[str, str] | None = None,
        error: str | None = None,
        latency_ms: int = 100,
        tokens_in: int = 10,
        tokens_out: int = 5,
        raw_input: str | None = None,
    ) -> str:
        """One case and its scores, committed as the engine does (one transaction each)."""
        case_id = self._id()
        item = input if input is not None else {"input": f"question {idx}", "expected": "a"}
        self.db.execute(
            "INSERT INTO cases (id, run_id, idx, input, output, expected, latency_ms, tokens_in,"
            " tokens_out, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                case_id,
                run_id,
                idx,
                raw_input if raw_input is not None else json.dumps(item),
                output,
                json.dumps(expected) if expected is not None else None,
                latency_ms,
                tokens_in,
                tokens_out,
                error,
            ),
        )
        self.db.commit()
        for scorer, score in (scores or {}).items():
            self.db.execute(
                "INSERT INTO scores (id, case_id, scorer_name, score, reason)"
                " VALUES (?, ?, ?, ?, ?)",
                (self._id(), case_id, scorer, score, (reasons or {}).get(scorer)),
            )
        self.db.commit()
        return case_id

    def finish(self, run_id: str, status: str = "completed", summary: Any = None) -> None:
        text = summary if isinstance(summary, str) or summary is None else json.dumps(summary)
        self.db.execute(
            "UPDATE runs SET finished_at = ?, status = ?, summary = ? WHERE id = ?",
            (BASE_MS + 60_000, status, text, run_id),
        )
        self.db.commit()

    def close(self) -> None:
        self.db.close()
