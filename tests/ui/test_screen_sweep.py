"""Issue 11's property-based sweep through the screens: every store the package's schema
admits (tests/storesweep.py) is walked with keys through the runs, run, case, trace list and
diff screens; no crash, no hang and no raw control byte on screen.

A fixed, small budget (each example drives a whole app); the headless sweep covers more
stores (tests/unit/test_store_sweep.py, bench/sweep_stores.py)."""

from __future__ import annotations

import asyncio
import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings

from evaltui.ui.app import EvalTUI
from tests.storesweep import DrawnStore, no_hang, stores
from tests.ui.helpers import make_app, settle

EXAMPLES = 8
# What must never reach the terminal from stored text: C0 controls (but newline, which the
# SVG uses between lines), DEL, C1 controls and the bidirectional overrides and isolates.
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
WALK = (
    ("enter",),  # the first run
    ("f", "f", "o", "o", "s", "end", "home"),
    ("enter",),  # its first case, when there is one
    ("2", "3", "4", "5", "1"),
    ("t",),  # its trace, or a toast that it has none
    ("escape", "escape", "escape"),  # back to the runs list
    ("d",),  # a diff, or a toast that there is nothing to compare with
    ("escape", "T", "escape"),
)


async def walk_screens(path: Path) -> list[str]:
    """Press every step of WALK; what the terminal showed after each step, as SVG text."""
    app: EvalTUI = make_app(path)
    shown: list[str] = []
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        shown.append(app.export_screenshot())
        for keys in WALK:
            await pilot.press(*keys)
            await settle(pilot)
            shown.append(app.export_screenshot())
    assert app.return_code in (None, 0), f"the app exited {app.return_code}"
    return shown


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # shrinking a whole app's walk takes minutes
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(stores())
def test_every_screen_takes_any_store_the_schema_admits(drawn: DrawnStore) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "store.db"
        drawn.write(path)
        with no_hang():
            shown = asyncio.run(walk_screens(path))
    for step, screen in enumerate(shown):
        raw = RAW_CONTROL.search(screen)
        context = "" if raw is None else screen[max(0, raw.start() - 300) : raw.end() + 100]
        assert raw is None, f"step {step}: {raw.group()!r} reached the terminal in {context!r}"
