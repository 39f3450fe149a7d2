"""The runner: streaming, concurrency per backend, retries, timeouts, cancellation, totals."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from evaltui.backends.judges import JudgeInput, TransientError, Usage, Verdict, create_judge
from evaltui.backends.tasks import TaskResult
from evaltui.jobs import CallRetrying, CaseResult, Job, JobEvent, RetryPolicy, RunnerOptions


def items(n: int, output: str = "4") -> list[JudgeInput]:
    return [
        JudgeInput(case_id=f"c{i}", idx=i, input={"input": i}, output=output, expected="4")
        for i in range(n)
    ]


class FakeJudge:
    """A scriptable judge: delay, transient failures per case, crashes, hangs."""

    def __init__(self, name: str = "fake", key: str = "fake", delay: float = 0.0) -> None:
        self.name = name
        self.backend_key = key
        self.delay = delay
        self.flaky: dict[str, int] = {}
        self.retry_after: float | None = None
        self.calls: dict[str, int] = {}
        self.active = 0
        self.peak = 0
        self.cancelled = 0

    async def evaluate(self, case: JudgeInput) -> Verdict:
        self.calls[case.case_id] = self.calls.get(case.case_id, 0) + 1
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            await asyncio.sleep(self.delay)
            if self.flaky.get(case.case_id, 0) > 0:
                self.flaky[case.case_id] -= 1
                raise TransientError(
                    "HTTP 429: slow down", status=429, retry_after=self.retry_after
                )
            if case.case_id == "crash":
                raise KeyError("boom")
            usage = Usage(input_tokens=10, output_tokens=2)
            return Verdict(judge="whatever", score=0.5, model="m", usage=usage, cost_usd=0.001)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.active -= 1


async def collect(job: Job) -> list[CaseResult]:
    async with job:
        return [result async for result in job]


async def no_wait(_: float) -> None:
    await asyncio.sleep(0)


async def test_every_case_once_with_all_judges_and_totals() -> None:
    exact, fake = create_judge("exact"), FakeJudge()
    job = Job(items(50), [exact, fake], options=RunnerOptions(default_limit=4))
    results = await collect(job)
    assert sorted(r.case_id for r in results) == sorted(f"c{i}" for i in range(50))
    assert all([v.judge for v in r.verdicts] == ["exact", "fake"] for r in results)
    assert all(r.verdicts[0].score == 1.0 for r in results)
    totals = job.totals
    assert (totals.total, totals.done, totals.errored) == (50, 50, 0)
    assert totals.usage.input_tokens == 500 and totals.cost_usd == pytest.approx(0.05)
    assert totals.cost_known


async def test_concurrency_is_limited_per_backend_key() -> None:
    slow_a, slow_b = FakeJudge("a", "backend-a", 0.02), FakeJudge("b", "backend-b", 0.02)
    options = RunnerOptions(limits={"backend-a": 3, "backend-b": 7})
    await collect(Job(items(40), [slow_a, slow_b], options=options))
    assert (slow_a.peak, slow_b.peak) == (3, 7)


async def test_skip_resumes_without_redoing_saved_cases() -> None:
    fake = FakeJudge()
    job = Job(items(10), [fake], skip={"c0", "c3"})
    results = await collect(job)
    assert sorted(r.case_id for r in results) == sorted(
        f"c{i}" for i in range(10) if i not in (0, 3)
    )
    assert "c0" not in fake.calls and job.totals.total == 8


async def test_transient_failures_are_retried_with_backoff_and_events() -> None:
    fake = FakeJudge()
    fake.flaky = {"c1": 2}
    events: list[JobEvent] = []
    delays: list[float] = []

    async def sleep(delay: float) -> None:
        delays.append(delay)

    options = RunnerOptions(sleep=sleep)
    results = {
        r.case_id: r
        for r in await collect(Job(items(3), [fake], options=options, on_event=events.append))
    }
    assert results["c1"].verdicts[0].score == 0.5 and results["c1"].verdicts[0].retries == 2
    assert fake.calls["c1"] == 3
    assert 0.375 <= delays[0] <= 0.5 and 0.75 <= delays[1] <= 1.0  # 0.5 * 2^n minus jitter
    retrying = [e for e in events if isinstance(e, CallRetrying)]
    assert [e.retry for e in retrying] == [1, 2] and retrying[0].step == "fake"


async def test_retry_after_is_honoured_and_capped() -> None:
    fake = FakeJudge()
    fake.flaky, fake.retry_after = {"c0": 2}, 120.0
    delays: list[float] = []

    async def sleep(delay: float) -> None:
        delays.append(delay)

    options = RunnerOptions(retry=RetryPolicy(max_delay_s=7.5), sleep=sleep)
    await collect(Job(items(1), [fake], options=options))
    assert delays == [7.5, 7.5]


async def test_exhausted_retries_give_an_error_verdict_not_a_zero() -> None:
    fake = FakeJudge()
    fake.flaky = {"c0": 10}
    options = RunnerOptions(retry=RetryPolicy(max_retries=3), sleep=no_wait)
    [result] = await collect(Job(items(1), [fake], options=options))
    verdict = result.verdicts[0]
    assert verdict.score is None and verdict.retries == 3 and result.has_error
    assert verdict.error == "HTTP 429: slow down (gave up after 4 attempts)"


async def test_a_crashing_or_hanging_judge_never_raises_into_the_caller() -> None:
    crashing = [JudgeInput(case_id="crash", idx=0, output="x")]
    [crashed] = await collect(Job(crashing, [FakeJudge()]))
    assert crashed.verdicts[0].error == "KeyError: 'boom'"
    hanging = FakeJudge(delay=3600)
    start = time.perf_counter()
    [hung] = await collect(Job(items(1), [hanging], options=RunnerOptions(timeout_s=0.2)))
    assert hung.verdicts[0].error == "no answer within 0.2 s" and hung.verdicts[0].score is None
    assert time.perf_counter() - start < 2


async def test_a_plugin_returning_garbage_is_an_error() -> None:
    class Garbage:
        name = "garbage"

        async def evaluate(self, case: JudgeInput) -> Any:
            return {"score": 1}

    [result] = await collect(Job(items(1), [Garbage()]))
    assert result.verdicts[0].error == "judge returned dict, not a Verdict"


async def test_unpriced_model_calls_make_the_cost_unknown() -> None:
    class Unpriced(FakeJudge):
        async def evaluate(self, case: JudgeInput) -> Verdict:
            verdict = await super().evaluate(case)
            return verdict.model_copy(update={"cost_usd": None})

    job = Job(items(3), [Unpriced(), create_judge("exact")])
    await collect(job)
    assert job.totals.unpriced_calls == 3 and not job.totals.cost_known


async def test_breaking_out_cancels_the_calls_in_flight() -> None:
    slow = FakeJudge(delay=0.05)
    slow_tail = {f"c{i}" for i in range(5, 20)}
    job = Job(items(20), [slow], options=RunnerOptions(default_limit=5))
    async with job:
        async for _ in job:
            break
    await asyncio.sleep(0)
    assert slow.active == 0
    assert slow.cancelled >= 1
    assert not slow_tail <= set(slow.calls)  # the window stopped feeding new cases


async def test_cancelling_the_consumer_task_cancels_everything() -> None:
    hanging = FakeJudge(delay=3600)
    job = Job(items(8), [hanging], options=RunnerOptions(default_limit=4))

    async def consume() -> None:
        async for _ in job:
            pass

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.05)
    assert hanging.active == 4
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert hanging.active == 0 and hanging.cancelled == 4


async def test_window_bounds_the_cases_in_flight() -> None:
    fake = FakeJudge(delay=0.01)
    job = Job(items(100), [fake], options=RunnerOptions(default_limit=2, window=3))
    assert job.window == 3
    started: list[int] = []
    peak = 0
    async for _ in job:
        started.append(len(fake.calls))
        peak = max(peak, len(fake.calls) - len(started))
    assert peak <= 3


async def test_results_carry_the_original_output_for_a_rejudge() -> None:
    [result] = await collect(Job(items(1, output="5"), [create_judge("exact")]))
    assert result.output == "5" and result.task is None
    assert (
        result.verdicts[0].reason
        == 'Output does not exactly match expected. Expected "4" but got "5".'
    )


class EchoTask:
    name = "echo"
    backend_key = "echo"

    async def generate(self, case: JudgeInput) -> TaskResult:
        if case.idx == 1:
            return TaskResult.failed(self.name, "no output for you")
        if case.idx == 2:
            await asyncio.sleep(3600)
        return TaskResult(task=self.name, output=str(case.input["input"] * 2), latency_ms=3)


async def test_rerun_judges_the_new_output_and_keeps_task_errors_apart() -> None:
    job = Job(items(4), [create_judge("exact")], EchoTask(), options=RunnerOptions(timeout_s=0.2))
    results = {r.idx: r for r in await collect(job)}
    assert results[0].output == "0" and results[0].verdicts[0].score == 0.0
    assert (
        results[3].output == "6" and results[3].task is not None and results[3].task.output == "6"
    )
    failed = results[1]
    assert failed.task_failed and failed.verdicts == () and failed.output is None
    assert failed.task is not None and failed.task.error is not None
    assert failed.task.error.engine_reason == "Task failed: Error: no output for you"
    timed_out = results[2].task
    assert timed_out is not None and timed_out.error is not None
    assert timed_out.error.message == "timeout exceeded" and timed_out.latency_ms == 200
    assert job.totals.errored == 2


async def test_stop_then_resume_saves_every_case_exactly_once() -> None:
    saved: list[str] = []
    first = Job(items(60), [FakeJudge(delay=0.001)], options=RunnerOptions(default_limit=4))
    async with first:
        async for result in first:
            saved.append(result.case_id)  # "commit"
            if len(saved) == 25:
                break  # the process dies here
    second = Job(items(60), [FakeJudge()], skip=set(saved))
    async with second:
        saved += [result.case_id async for result in second]
    assert sorted(saved) == sorted(f"c{i}" for i in range(60))
