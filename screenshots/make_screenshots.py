"""Write SVG screenshots of the main screens from sample_data/store.db.

Run from the repository root: `python screenshots/make_screenshots.py`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.pilot import Pilot

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evaltui.store import RunStore  # noqa: E402
from evaltui.ui.app import EvalTUI, StartAt  # noqa: E402
from evaltui.ui.messages import OpenDiff  # noqa: E402

SAMPLE = ROOT / "sample_data" / "store.db"
OUT = ROOT / "screenshots"
REGRESSED_RUN = "b18d5fc4"  # qa-accuracy [gpt-4o-mini], prompt v3: the regression
BASELINE_RUN = "b42e4bf8"  # qa-accuracy [claude-sonnet-4-5], prompt v2

Steps = Callable[[Pilot[None]], Awaitable[None]]


async def settle(pilot: Pilot[None]) -> None:
    for _ in range(3):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def runs_steps(pilot: Pilot[None]) -> None:
    await settle(pilot)
    await pilot.press("down", "down")


async def failing_steps(pilot: Pilot[None]) -> None:
    await settle(pilot)
    await pilot.press("n", "n")


async def case_steps(pilot: Pilot[None]) -> None:
    await settle(pilot)
    await pilot.press("slash", *"Australia", "enter")
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)


async def help_steps(pilot: Pilot[None]) -> None:
    await settle(pilot)
    await pilot.press("question_mark")
    await settle(pilot)


async def diff_steps(pilot: Pilot[None]) -> None:
    await settle(pilot)
    app = pilot.app
    assert isinstance(app, EvalTUI) and app.store is not None
    baseline = await app.store.resolve_run(BASELINE_RUN)
    candidate = await app.store.resolve_run(REGRESSED_RUN)
    app.post_message(OpenDiff(baseline, candidate))
    await settle(pilot)


async def pair_steps(pilot: Pilot[None]) -> None:
    await diff_steps(pilot)
    await pilot.press("down", "enter")
    await settle(pilot)


async def trace_steps(pilot: Pilot[None]) -> None:
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    await pilot.press("t")
    await settle(pilot)
    await pilot.press("enter", "down", "down", "enter", "n")
    await settle(pilot)


SHOTS: list[tuple[str, StartAt | None, tuple[int, int], Steps]] = [
    ("runs", None, (120, 24), runs_steps),
    ("runs-80x24", None, (80, 24), runs_steps),
    ("run-failing", StartAt(run=REGRESSED_RUN, failing_only=True), (120, 30), failing_steps),
    ("run-80x24", StartAt(run=REGRESSED_RUN), (80, 24), failing_steps),
    ("case", StartAt(run=REGRESSED_RUN), (100, 30), case_steps),
    ("help", StartAt(run=REGRESSED_RUN), (80, 30), help_steps),
    ("diff", None, (120, 32), diff_steps),
    ("diff-80x24", None, (80, 24), diff_steps),
    ("diff-pair", None, (120, 34), pair_steps),
    ("trace", StartAt(run=REGRESSED_RUN), (130, 34), trace_steps),
    ("trace-80x24", StartAt(run=REGRESSED_RUN), (80, 24), trace_steps),
]


async def live_clock(store: Path) -> int:
    """A fixed clock ten minutes into the sample's running run, as if it were being written."""
    opened = await RunStore.open(store)
    try:
        running = [run for run in await opened.list_runs() if run.status == "running"]
    finally:
        await opened.close()
    return max(run.started_at for run in running) + 10 * 60 * 1000


async def shoot(
    store: Path, name: str, start: StartAt | None, size: tuple[int, int], steps: Steps, now: int
) -> None:
    app = EvalTUI(store, clock=lambda: now, start=start)
    async with app.run_test(size=size) as pilot:
        await steps(pilot)
        app.save_screenshot(filename=f"{name}.svg", path=str(OUT))
    print(f"screenshots/{name}.svg")


async def main() -> None:
    os.environ["TZ"] = "UTC"
    time.tzset()
    with tempfile.TemporaryDirectory() as folder:
        store = Path(folder) / "store.db"
        shutil.copy(SAMPLE, store)
        os.chdir(folder)  # the runs screen shows the store path: keep it short
        now = await live_clock(Path("store.db"))
        for name, start, size, steps in SHOTS:
            await shoot(Path("store.db"), name, start, size, steps, now)


if __name__ == "__main__":
    asyncio.run(main())
