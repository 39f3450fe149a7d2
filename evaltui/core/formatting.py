"""Small display helpers shared by screens and the CLI (no Textual)."""

from __future__ import annotations

import json
import math
from datetime import datetime

from evaltui.core.models import JsonText, Run, RunSummary

CLIP_CHARS = 1500
CLIP_LINES = 24


def when(ms: int | None) -> str:
    """Epoch milliseconds as local `YYYY-MM-DD HH:MM`."""
    if ms is None:
        return "-"
    try:
        return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M")
    except (OverflowError, ValueError, OSError):  # beyond the years Python's datetime holds
        return f"{ms} ms (out of range)"


def duration(ms: int | None) -> str:
    if ms is None or ms < 0:
        return "-"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m"
    return f"{hours // 24}d{hours % 24:02d}h"


def run_duration(run: Run, now_ms: int) -> str:
    end = run.finished_at if run.finished_at is not None else now_ms
    return duration(end - run.started_at)


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def tokens(summary: RunSummary) -> str:
    return f"{compact(summary.total_tokens_in)}/{compact(summary.total_tokens_out)}"


def count(number: int, noun: str, plural: str | None = None) -> str:
    """`1 case`, `9,604 cases`: a number with thousands separators and its noun agreeing."""
    return f"{number:,} {noun if number == 1 else plural or noun + 's'}"


def compact(number: int) -> str:
    if number < 10_000:
        return str(number)
    if number < 10_000_000:
        return f"{number / 1000:.0f}k"
    return f"{number / 1_000_000:.0f}M"


def means(summary: RunSummary, width: int = 5) -> str:
    """Mean score per scorer, compact: `exact .85 factu .90`."""
    return " ".join(
        f"{name[:width]} {format_score(value)}"
        for name, value in sorted(summary.mean_scores.items())
    )


def format_score(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "-"
    text = f"{value:.2f}"
    return text[1:] if text.startswith("0.") else text


def format_latency(ms: int | None) -> str:
    if ms is None:
        return "-"
    return f"{ms}ms" if ms < 1000 else f"{ms / 1000:.1f}s"


SPARK_BARS = "\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588"


def sparkline(values: list[float | None]) -> str:
    """Rates in 0..1 as bars (absolute scale: an empty bar is 0%, a full one 100%)."""
    out = []
    for value in values:
        if value is None or math.isnan(value):
            out.append("\u00b7")
        else:
            out.append(SPARK_BARS[min(len(SPARK_BARS) - 1, int(value * len(SPARK_BARS)))])
    return "".join(out)


def clip(text: str, chars: int = CLIP_CHARS, lines: int = CLIP_LINES) -> tuple[str, bool]:
    """The start of `text` that fits the overview, and whether anything was cut."""
    cut = text[:chars]
    parts = cut.split("\n")
    if len(parts) > lines:
        cut = "\n".join(parts[:lines])
    return cut, len(cut) < len(text)


def error_headline(error: JsonText) -> str:
    """`Name: message (cause: …)` for an engine error, the raw text for anything else."""
    value = error.value if error.is_json else None
    if not isinstance(value, dict):
        return error.raw or ""
    head = f"{value.get('name') or 'Error'}: {value.get('message', '')}"
    cause = value.get("cause")
    if isinstance(cause, dict) and (cause.get("name") or cause.get("message")):
        named = ": ".join(str(cause[key]) for key in ("name", "message") if cause.get(key))
        head += f" (cause: {named})"
    elif cause is not None:  # any other cause ({"code": 503}, a string) as the engine stored it
        head += f" (cause: {json.dumps(cause, ensure_ascii=False)})"
    return head
