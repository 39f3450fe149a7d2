"""What should be held fixed between a baseline and a candidate, and differs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from evaltui.core.models import Run
from evaltui.diff.models import ContextDifference

# Config keys shown under their own heading (model, prompt, threshold, suite, scorers).
_COVERED = {"model", "promptName", "promptVersion", "promptId", "threshold", "suiteId"}
_COVERED |= {"suiteName", "scorers"}
_COVERED |= {"evaltui"}  # a re-judge's or re-run's job record: said where it is derived


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _config(run: Run) -> dict[str, Any]:
    value = run.config.value if run.config.is_json else None
    return value if isinstance(value, dict) else {}


def _prompt(config: dict[str, Any]) -> str | None:
    name = config.get("promptName", config.get("promptId"))
    version = config.get("promptVersion")
    if name is None and version is None:
        return None
    label = _text(name) or "?"
    return label if version is None else f"{label} v{_text(version)}"


def _suite(run: Run, other: Run) -> str | None:
    if run.suite_name == other.suite_name and run.suite_id and other.suite_id:
        return f"{run.suite_name} ({run.suite_id[:8]})"  # same name, another suite
    return run.suite_name


def context_differences(
    baseline: Run,
    candidate: Run,
    baseline_scorers: Sequence[str],
    candidate_scorers: Sequence[str],
    baseline_cases: int,
    candidate_cases: int,
) -> tuple[ContextDifference, ...]:
    """Differences in suite, model, prompt, scorer set, threshold, case count and config keys.

    Config keys are compared one by one (`config.<key>`); those already shown under another
    heading are skipped. A config that is not a JSON object is compared as raw text.
    """
    base_config, cand_config = _config(baseline), _config(candidate)
    pairs: list[tuple[str, str | None, str | None]] = [
        ("suite", _suite(baseline, candidate), _suite(candidate, baseline)),
        ("model", baseline.model, candidate.model),
        ("prompt", _prompt(base_config), _prompt(cand_config)),
        ("scorers", ", ".join(sorted(baseline_scorers)), ", ".join(sorted(candidate_scorers))),
        ("threshold", f"{baseline.threshold:g}", f"{candidate.threshold:g}"),
        ("cases", str(baseline_cases), str(candidate_cases)),
    ]
    raw_only = not (base_config or cand_config)
    if raw_only and baseline.config.raw != candidate.config.raw:
        pairs.append(("config", baseline.config.raw, candidate.config.raw))
    keys = list(dict.fromkeys([*base_config, *cand_config]))
    for key in keys:
        if key not in _COVERED:
            pairs.append(
                (f"config.{key}", _text(base_config.get(key)), _text(cand_config.get(key)))
            )
    return tuple(
        ContextDifference(key=key, baseline=base, candidate=cand)
        for key, base, cand in pairs
        if base != cand
    )
