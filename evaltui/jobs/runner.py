"""A re-judge or re-run job: cases in, one `CaseResult` per case streamed out as each lands.

    job = Job(items, judges=[judge], options=RunnerOptions(limits={...}))
    async with job:                      # closing the job cancels in-flight calls
        async for result in job:         # completion order; commit each as it arrives
            ...
    job.totals                           # running tokens, cost, errors

Items whose `case_id` is in `skip` are not run (resume). A single case's failure is an
errored result, never an exception; cancelling the consumer cancels every call in flight.
`AccessDenied` (a 401/403 from any backend) ends the iteration with that exception at once,
cancelling what is in flight: every further call would be refused the same way.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import (
    AsyncGenerator,
    Awaitable,
    Callable,
    Collection,
    Iterable,
    Mapping,
    Sequence,
)
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

from evaltui.backends.base import Judge, JudgeInput, Verdict
from evaltui.backends.errors import AccessDenied
from evaltui.backends.tasks.base import Task, TaskResult
from evaltui.jobs.batch import OPEN_STATES, BatchLedger, BatchRunner, MemoryLedger, batching_judge
from evaltui.jobs.calls import DEFAULT_CONCURRENCY, Caller, backend_key, prepare
from evaltui.jobs.models import CaseResult, CaseStarted, JobEvent, JobTotals
from evaltui.jobs.retry import RetryPolicy


@dataclass
class RunnerOptions:
    """How a job calls its backends."""

    limits: Mapping[str, int] = field(default_factory=dict)
    """Concurrent calls per backend key (a judge's or task's `backend_key`)."""
    default_limit: int = DEFAULT_CONCURRENCY
    timeout_s: float | None = 300.0
    """Per call; a judge past it gets an errored verdict (not retried)."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    window: int | None = None
    """Cases in flight at once (default: twice the largest limit in use)."""
    use_batches: bool = True
    """Let a batch-capable judge use its batch API when the job is big enough."""
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    clock: Callable[[], float] = time.time
    """Epoch seconds (batch expiry, intents); tests pass a fake one with a fake `sleep`."""


class Job:
    """One job over `items`; iterate it once. See the module docstring."""

    def __init__(
        self,
        items: Iterable[JudgeInput],
        judges: Sequence[Judge],
        task: Task | None = None,
        *,
        options: RunnerOptions | None = None,
        skip: Collection[str] = (),
        resume_batches: Sequence[str] = (),
        batch_ledger: BatchLedger | None = None,
        on_event: Callable[[JobEvent], None] | None = None,
    ) -> None:
        self.items = [item for item in items if item.case_id not in skip]
        self.judges = list(judges)
        self.task = task
        self.options = options or RunnerOptions()
        self.resume_batches = list(resume_batches)
        """Batch ids recorded by older versions (no intent, no custom ids)."""
        self.batch_ledger: BatchLedger = batch_ledger or MemoryLedger()
        self.on_event = on_event
        self.totals = JobTotals(total=len(self.items))
        self.caller = Caller(
            limits=self.options.limits,
            default_limit=self.options.default_limit,
            timeout_s=self.options.timeout_s,
            retry=self.options.retry,
            on_event=on_event,
            sleep=self.options.sleep,
        )
        self._stream: AsyncGenerator[CaseResult] | None = None

    # -- iteration -------------------------------------------------------------------------

    def __aiter__(self) -> AsyncGenerator[CaseResult]:
        if self._stream is None:
            self._stream = self._counted(self._results())
        return self._stream

    async def __aenter__(self) -> Job:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the job: cancel what is in flight and wait for it to wind down."""
        if self._stream is not None:
            await self._stream.aclose()

    @property
    def window(self) -> int:
        if self.options.window is not None:
            return max(1, self.options.window)
        steps: list[Any] = [*self.judges, *([self.task] if self.task else [])]
        return 2 * max((self.caller.limit(backend_key(step)) for step in steps), default=1)

    async def _counted(self, results: AsyncGenerator[CaseResult]) -> AsyncGenerator[CaseResult]:
        async with aclosing(results):
            async for result in results:
                self.totals.add(result)
                yield result

    async def _batch_judge(self) -> Any:
        options = self.options
        args = (self.judges, self.task, len(self.items), options.use_batches)
        judge = batching_judge(*args, resuming=True)
        if judge is None:
            return None
        resuming = bool(self.resume_batches) or any(
            record.state in OPEN_STATES for record in await self.batch_ledger.records(judge.name)
        )
        return batching_judge(*args, resuming=resuming)

    async def _results(self) -> AsyncGenerator[CaseResult]:
        if self.items or self.resume_batches:  # start-up off the loop, before any clock
            await prepare([*self.judges, *([self.task] if self.task else [])])
        judge = await self._batch_judge()
        if judge is None:
            async with aclosing(self.stream(self.items)) as results:
                async for result in results:
                    yield result
            return
        batches = BatchRunner(
            judge,
            self.caller,
            self.resume_batches,
            ledger=self.batch_ledger,
            clock=self.options.clock,
        )
        async with aclosing(batches.run(self.items)) as results:
            async for result in results:
                yield result
        if batches.leftovers:  # failed inside the batch: judge them one by one
            async with aclosing(self.stream(batches.leftovers)) as results:
                async for result in results:
                    yield result

    async def stream(self, items: Iterable[JudgeInput]) -> AsyncGenerator[CaseResult]:
        """Run `items` through the task and judges, at most `window` cases at a time."""
        source = iter(items)
        pending: set[asyncio.Task[CaseResult]] = set()
        exhausted = False
        try:
            while True:
                while not exhausted and len(pending) < self.window:
                    item = next(source, None)
                    if item is None:
                        exhausted = True
                    else:
                        pending.add(asyncio.ensure_future(self._case(item)))
                if not pending:
                    return
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                stopped = [e for t in done if (e := t.exception()) is not None]
                for finished in sorted(
                    (t for t in done if t.exception() is None), key=lambda t: t.result().idx
                ):
                    yield finished.result()  # cases judged before the stop are still saved
                if stopped:
                    raise stopped[0]  # AccessDenied: `_case` turns everything else into values
        finally:
            for running in pending:
                running.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)

    async def _case(self, item: JudgeInput) -> CaseResult:
        self.caller.emit(CaseStarted(item.case_id))
        try:
            task_result: TaskResult | None = None
            if self.task is not None:
                task_result = await self.caller.generate(self.task, item)
                if task_result.error is not None:
                    return CaseResult(
                        item=item.model_copy(update={"output": None}), task=task_result
                    )
                item = item.model_copy(update={"output": task_result.output})
            verdicts = await asyncio.gather(*(self.caller.judge(j, item) for j in self.judges))
            return CaseResult(item=item, task=task_result, verdicts=tuple(verdicts))
        except AccessDenied:
            raise
        except Exception as error:  # a bug in a plugin's Verdict, say: never lose the case
            message = f"{type(error).__name__}: {error}"
            return CaseResult(
                item=item, verdicts=tuple(Verdict.failed(j.name, message) for j in self.judges)
            )
