"""The judge plugin API, kept at its published name (`from evaltui.judges import Verdict`).

Third-party judges (entry-point group `evaltui.judges`) import these names from here; the
implementation lives in `evaltui.backends.judges`.
"""

from __future__ import annotations

from evaltui.backends.judges import (
    BUILTIN_JUDGES,
    ENTRY_POINT_GROUP,
    UNDEFINED,
    BuildContext,
    Judge,
    JudgeError,
    JudgeInput,
    Price,
    PriceTable,
    TransientError,
    Usage,
    Verdict,
    available_judges,
    create_judge,
    load_judge,
)

__all__ = [
    "BUILTIN_JUDGES",
    "ENTRY_POINT_GROUP",
    "UNDEFINED",
    "BuildContext",
    "Judge",
    "JudgeError",
    "JudgeInput",
    "Price",
    "PriceTable",
    "TransientError",
    "Usage",
    "Verdict",
    "available_judges",
    "create_judge",
    "load_judge",
]
