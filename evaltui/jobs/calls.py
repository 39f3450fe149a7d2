"""One guarded call to a judge or task: a concurrency slot per backend, a timeout, retries.

Whatever goes wrong comes back as a value (an errored `Verdict` or `TaskResult`); only
cancellation and `AccessDenied` (401/403: the job stops) propagate.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from evaltui.backends.base import Judge, JudgeInput, Verdict
from evaltui.backends.errors import TransientError, access_denied_of
from evaltui.backends.tasks.base import TIMEOUT, Task, TaskResult
from evaltui.jobs.models import CallRetrying, JobEvent
from evaltui.jobs.retry import RetryPolicy

T = TypeVar("T")
DEFAULT_CONCURRENCY = 8


def backend_key(obj: Any) -> str:
    """The concurrency key of a judge or task (its `backend_key`, else its name)."""
    key = getattr(obj, "backend_key", None)
    return key if isinstance(key, str) else f"local:{getattr(obj, 'name', type(obj).__name__)}"


async def prepare(steps: Iterable[Any]) -> None:
    """Run every judge's and task's `prepare()` (SDK imports, clients: slow, done in threads)
    before the first call, so no call's timeout or latency pays for start-up. A failure here
    is left for the calls themselves to report, case by case."""
    hooks = [getattr(step, "prepare", None) for step in steps]
    await asyncio.gather(
        *(hook() for hook in hooks if inspect.iscoroutinefunction(hook)), return_exceptions=True
    )


@dataclass
class Failure:
    """Why a call produced no value: `kind` is transient, timeout or error."""

    kind: str
    message: str


@dataclass
class Caller:
    """Runs calls under per-backend semaphores with a timeout and a retry policy."""

    limits: Mapping[str, int] = field(default_factory=dict)
    default_limit: int = DEFAULT_CONCURRENCY
    timeout_s: float | None = 300.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    on_event: Callable[[JobEvent], None] | None = None
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    _slots: dict[str, asyncio.Semaphore] = field(default_factory=dict, init=False)

    def limit(self, key: str) -> int:
        return max(1, self.limits.get(key, self.default_limit))

    def slot(self, key: str) -> asyncio.Semaphore:
        if key not in self._slots:
            self._slots[key] = asyncio.Semaphore(self.limit(key))
        return self._slots[key]

    def emit(self, event: JobEvent) -> None:
        if self.on_event is not None:
            self.on_event(event)

    async def call(
        self, key: str, case_id: str, step: str, fn: Callable[[], Awaitable[T]]
    ) -> tuple[T | Failure, int]:
        """(value or `Failure`, retries used). The slot is released while waiting to retry."""
        retries = 0
        while True:
            async with self.slot(key):
                try:
                    async with asyncio.timeout(self.timeout_s):
                        return await fn(), retries
                except TransientError as error:
                    transient = error
                except TimeoutError:
                    return Failure("timeout", f"no answer within {self.timeout_s:g} s"), retries
                except Exception as error:
                    denied = access_denied_of(error)
                    if denied is not None:
                        raise denied from error
                    return Failure("error", f"{type(error).__name__}: {error}"), retries
            if retries >= self.retry.max_retries:
                attempts = retries + 1
                message = f"{transient} (gave up after {attempts} attempt{'s' * (attempts > 1)})"
                return Failure("transient", message), retries
            delay = self.retry.delay(retries, transient.retry_after)
            self.emit(
                CallRetrying(case_id, step, retries + 1, delay, time.time() + delay, str(transient))
            )
            await self.sleep(delay)
            retries += 1

    async def judge(self, judge: Judge, item: JudgeInput) -> Verdict:
        """One verdict; failures become errored verdicts."""
        start = time.perf_counter()
        value, retries = await self.call(
            backend_key(judge), item.case_id, judge.name, lambda: judge.evaluate(item)
        )
        if isinstance(value, Failure):
            return Verdict.failed(
                judge.name, value.message, retries=retries, latency_s=time.perf_counter() - start
            )
        if not isinstance(value, Verdict):
            return Verdict.failed(
                judge.name, f"judge returned {type(value).__name__}, not a Verdict", retries=retries
            )
        return value.model_copy(update={"judge": judge.name, "retries": retries})

    async def generate(self, task: Task, item: JudgeInput) -> TaskResult:
        """One regenerated output; failures become failed task results."""
        value, retries = await self.call(
            backend_key(task), item.case_id, task.name, lambda: task.generate(item)
        )
        if isinstance(value, Failure):
            if value.kind == "timeout":
                latency = round((self.timeout_s or 0) * 1000)
                return TaskResult(
                    task=task.name, error=TIMEOUT, retries=retries, latency_ms=latency
                )
            return TaskResult.failed(task.name, value.message, retries=retries)
        if not isinstance(value, TaskResult):
            return TaskResult.failed(
                task.name, f"task returned {type(value).__name__}", retries=retries
            )
        return value.model_copy(update={"task": task.name, "retries": retries})
