"""The job screen's batch line: submitted, polled, unreachable, hostile ids made printable."""

from __future__ import annotations

from textual.app import App, ComposeResult

from evaltui.jobs import BatchPolled, BatchSubmitted
from evaltui.ui.widgets.batch_status import BatchStatus
from tests.ui.helpers import plain


class Host(App[None]):
    def compose(self) -> ComposeResult:
        yield BatchStatus(id="job-batch")


async def test_batch_line_follows_submit_and_polls() -> None:
    app = Host()
    async with app.run_test(size=(160, 5)) as pilot:
        line = app.query_one(BatchStatus)
        assert not line.display  # nothing until a batch exists
        line.record(BatchSubmitted("strict", "msgbatch_01", [f"c{i}" for i in range(500)]))
        await pilot.pause()
        assert line.display
        assert "batch msgbatch_01 submitted, 500 cases" in plain(line)
        line.record(BatchPolled("strict", "msgbatch_01", "in_progress", 120, 500, 30.0))
        await pilot.pause()
        text = plain(line)
        assert "polling (in_progress, ended 120/500)" in text and "next poll in 30 s" in text
        line.record(
            BatchPolled(
                "strict",
                "msgbatch_01",
                "unreachable",
                next_poll_s=60.0,
                problem="HTTP 503 api_error: down",
            )
        )
        await pilot.pause()
        text = plain(line)
        assert "status unreachable: HTTP 503 api_error: down" in text and "in 60 s" in text
        line.record(BatchPolled("strict", "msgbatch_01", "ended", 500, 500))
        await pilot.pause()
        assert "ended (500/500), reading results" in plain(line)


async def test_adopted_batch_and_hostile_id() -> None:
    app = Host()
    async with app.run_test(size=(160, 5)) as pilot:
        line = app.query_one(BatchStatus)
        line.record(BatchSubmitted("strict", "msgbatch_\x1b[31m[bold]x", ["a"], adopted=True))
        await pilot.pause()
        text = plain(line)
        assert "\x1b" not in text and "[bold]x" in text  # printable, never markup
        assert "found again (its create had timed out), 1 case · " in text
