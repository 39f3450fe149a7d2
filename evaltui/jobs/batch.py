"""Judging through a batch API (Anthropic Message Batches): submit, poll, read, resume.

Resuming takes the ids of batches already submitted (announced by `BatchSubmitted`): their
results are read first, and only the cases they did not cover are submitted again. Cases a
batch could not judge (errored, expired, canceled, missing) are handed back as `leftovers`
for the ordinary one-call-per-case path.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from typing import Any

from evaltui.jobs.calls import Caller, Failure
from evaltui.jobs.models import BatchPolled, BatchSubmitted, CaseResult
from evaltui.judges.anthropic import custom_id_for
from evaltui.judges.base import JudgeError, JudgeInput, Verdict

BATCH_METHODS = ("submit_batch", "batch_status", "batch_results")


def batch_capable(judge: Any) -> bool:
    return all(callable(getattr(judge, name, None)) for name in BATCH_METHODS) and hasattr(
        judge, "batch_min_cases"
    )


class BatchRunner:
    """Drives one batch-capable judge over a list of cases."""

    def __init__(self, judge: Any, caller: Caller, resume: Sequence[str] = ()) -> None:
        self.judge = judge
        self.caller = caller
        self.resume = list(resume)
        self.leftovers: list[JudgeInput] = []
        options = getattr(judge, "options", None)
        self.poll_s: float = getattr(options, "batch_poll_s", 30.0)
        self.chunk: int = getattr(options, "batch_chunk", 10_000)

    async def _retrying(self, step: str, fn: Any) -> Any:
        value, _ = await self.caller.call(f"batch:{self.judge.name}", "", step, fn)
        if isinstance(value, Failure):
            raise JudgeError(value.message)
        return value

    async def run(self, items: Sequence[JudgeInput]) -> AsyncGenerator[CaseResult]:
        remaining = {custom_id_for(item.case_id): item for item in items}
        for batch_id in self.resume:
            async for result in self._collect(batch_id, remaining):
                yield result
        ids = list(remaining)
        submitted: list[str] = []
        for start in range(0, len(ids), self.chunk):
            group = [remaining[custom_id] for custom_id in ids[start : start + self.chunk]]
            try:
                batch_id = await self._retrying(
                    "submit", lambda g=group: self.judge.submit_batch(g)
                )
            except JudgeError:
                self.leftovers.extend(group)
                for item in group:
                    remaining.pop(custom_id_for(item.case_id), None)
                continue
            self.caller.emit(BatchSubmitted(self.judge.name, batch_id, [i.case_id for i in group]))
            submitted.append(batch_id)
        for batch_id in submitted:
            async for result in self._collect(batch_id, remaining):
                yield result
        self.leftovers.extend(remaining.values())

    async def _collect(
        self, batch_id: str, remaining: dict[str, JudgeInput]
    ) -> AsyncGenerator[CaseResult]:
        """Wait for `batch_id` to end, then yield a result per case of ours it judged."""
        try:
            while True:
                status = await self._retrying("poll", lambda: self.judge.batch_status(batch_id))
                self.caller.emit(BatchPolled(self.judge.name, batch_id, status))
                if status == "ended":
                    break
                await self.caller.sleep(self.poll_s)
            results = await self._retrying("results", lambda: _collect_all(self.judge, batch_id))
        except JudgeError:
            return  # an unknown or unreadable batch: its cases stay in `remaining`
        for custom_id, verdict in results:
            item = remaining.get(custom_id)
            if item is None:
                continue  # not ours, or already saved
            if verdict.error is not None:
                continue  # left for the one-by-one path
            del remaining[custom_id]
            yield CaseResult(item=item, verdicts=(verdict,))


async def _collect_all(judge: Any, batch_id: str) -> list[tuple[str, Verdict]]:
    return [pair async for pair in judge.batch_results(batch_id)]
