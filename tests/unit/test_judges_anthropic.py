"""The Anthropic judge through the real SDK against a fake Messages API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from email.utils import formatdate
from typing import Any

import pytest
from anthropic import AsyncAnthropic

from evaltui.backends.judges import JudgeInput, Price, PriceTable
from evaltui.backends.judges.anthropic import AnthropicJudge, custom_id_for
from evaltui.backends.judges.options import AnthropicJudgeOptions
from evaltui.jobs import BatchSubmitted, Job, JobEvent, RetryPolicy, RunnerOptions
from tests.fakes.anthropic import FakeAnthropic, error, malformed
from tests.fakes.http import DROP, HANG

PRICES = PriceTable({"claude-test": Price(input=3.0, output=15.0)})


CLIENTS: list[AsyncAnthropic] = []


@pytest.fixture
async def fake() -> AsyncIterator[FakeAnthropic]:
    with FakeAnthropic(polls_until_end=2) as server:
        yield server
        while CLIENTS:
            await CLIENTS.pop().close()


def judge(fake: FakeAnthropic, **options: Any) -> AnthropicJudge:
    timeout = options.pop("timeout", 10.0)
    client = AsyncAnthropic(base_url=fake.url, api_key="test", max_retries=0, timeout=timeout)
    CLIENTS.append(client)
    settings = AnthropicJudgeOptions(model="claude-test", **options)
    return AnthropicJudge("strict", settings, prices=PRICES, client=client)


def cases(n: int) -> list[JudgeInput]:
    return [
        JudgeInput(
            case_id=f"case-{i}",
            idx=i,
            input={"input": f"q{i}"},
            output="Paris" if i % 2 else "Rome",
            expected="Paris",
        )
        for i in range(n)
    ]


class Sleeps:
    """An injected sleep that records what the runner waited."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)


async def run(job: Job) -> list[Any]:
    async with job:
        return [result async for result in job]


async def test_verdict_by_forced_tool_use_with_usage_and_cost(fake: FakeAnthropic) -> None:
    good, bad = cases(2)[1], cases(2)[0]
    strict = judge(fake)
    verdict = await strict.evaluate(good)
    assert (verdict.score, verdict.reason, verdict.error) == (
        1.0,
        "matches the expected answer",
        None,
    )
    assert verdict.usage.input_tokens == 100 and verdict.usage.output_tokens == 20
    assert verdict.cost_usd == pytest.approx((100 * 3 + 20 * 15) / 1e6)
    assert verdict.model == "claude-test" and verdict.raw == {
        "reason": "matches the expected answer",
        "score": 1.0,
    }
    assert (await strict.evaluate(bad)).score == 0.2
    sent = fake.server.requests[0].json()
    assert sent["tool_choice"] == {"type": "tool", "name": "submit_verdict"}
    assert "temperature" not in sent
    assert fake.server.requests[0].headers["authorization"] == "Bearer test"
    assert len(strict.describe()["rubric_sha256"]) == 64


async def test_unknown_price_gives_unknown_cost(fake: FakeAnthropic) -> None:
    strict = judge(fake)
    strict.prices = PriceTable()
    verdict = await strict.evaluate(cases(1)[0])
    assert verdict.score is not None and verdict.cost_usd is None


async def test_429_with_retry_after_is_honoured_and_retried(fake: FakeAnthropic) -> None:
    fake.faults = [error(429, retry_after="0.3")]
    job = Job(cases(1), [judge(fake)], options=RunnerOptions(retry=RetryPolicy(max_retries=2)))
    start = time.perf_counter()
    [result] = await run(job)
    assert time.perf_counter() - start >= 0.3
    verdict = result.verdicts[0]
    assert verdict.ok and verdict.retries == 1
    assert fake.message_calls == 2 and job.totals.retries == 1


@pytest.mark.parametrize(
    ("fault", "expected_delay"),
    [
        (error(429, retry_after_ms="1500", retry_after="9"), 1.5),
        (error(429, retry_after="600"), 60.0),  # capped
        (error(500), None),
        (error(529), None),
        (error(408), None),
        (DROP, None),  # transport error
    ],
)
async def test_retryable_failures(
    fake: FakeAnthropic, fault: Any, expected_delay: float | None
) -> None:
    fake.faults = [fault]
    sleeps = Sleeps()
    job = Job(cases(1), [judge(fake)], options=RunnerOptions(sleep=sleeps))
    [result] = await run(job)
    assert result.verdicts[0].ok and result.verdicts[0].retries == 1
    assert len(sleeps.delays) == 1
    if expected_delay is None:
        assert 0.375 <= sleeps.delays[0] <= 0.5  # backoff 0.5 s minus up to 25 % jitter
    else:
        assert sleeps.delays[0] == expected_delay


async def test_retry_after_as_http_date(fake: FakeAnthropic) -> None:
    fake.faults = [error(503, retry_after=formatdate(time.time() + 30, usegmt=True))]
    sleeps = Sleeps()
    [result] = await run(Job(cases(1), [judge(fake)], options=RunnerOptions(sleep=sleeps)))
    assert result.verdicts[0].ok and 28 <= sleeps.delays[0] <= 30


async def test_gives_up_after_max_retries_with_an_error_not_a_score(fake: FakeAnthropic) -> None:
    fake.faults = [error(529), error(529), error(529)]
    options = RunnerOptions(retry=RetryPolicy(max_retries=2), sleep=Sleeps())
    [result] = await run(Job(cases(1), [judge(fake)], options=options))
    verdict = result.verdicts[0]
    assert verdict.score is None and verdict.retries == 2
    assert verdict.error is not None and "529" in verdict.error and "3 attempts" in verdict.error


async def test_permanent_error_is_not_retried(fake: FakeAnthropic) -> None:
    fake.faults = [error(400)]
    [result] = await run(Job(cases(1), [judge(fake)], options=RunnerOptions(sleep=Sleeps())))
    verdict = result.verdicts[0]
    assert (
        verdict.score is None
        and verdict.error == "HTTP 400 invalid_request_error: fake invalid_request_error"
    )
    assert fake.message_calls == 1


async def test_malformed_verdict_is_an_error_with_the_raw_answer(fake: FakeAnthropic) -> None:
    fake.faults = [malformed]
    verdict = await judge(fake).evaluate(cases(1)[0])
    assert verdict.score is None and verdict.error is not None and "malformed" in verdict.error
    assert verdict.raw == {"scor": "high"} and verdict.usage.input_tokens == 100


async def test_sdk_timeout_is_retried_then_reported(fake: FakeAnthropic) -> None:
    fake.faults = [HANG, HANG]
    options = RunnerOptions(retry=RetryPolicy(max_retries=1), sleep=Sleeps())
    [result] = await run(Job(cases(1), [judge(fake, timeout=0.3)], options=options))
    verdict = result.verdicts[0]
    assert verdict.score is None and verdict.error is not None and "Timeout" in verdict.error


async def test_a_hanging_judge_hits_the_runner_timeout(fake: FakeAnthropic) -> None:
    fake.faults = [HANG]
    options = RunnerOptions(timeout_s=0.3)
    start = time.perf_counter()
    [result] = await run(Job(cases(1), [judge(fake, timeout=60)], options=options))
    assert time.perf_counter() - start < 5
    assert result.verdicts[0].error == "no answer within 0.3 s"


async def test_batches_submit_poll_and_cost_half(fake: FakeAnthropic) -> None:
    events: list[JobEvent] = []
    strict = judge(fake, batch_min_cases=3, batch_poll_s=0.01)
    job = Job(cases(5), [strict], on_event=events.append)
    results = await run(job)
    assert sorted(r.case_id for r in results) == [f"case-{i}" for i in range(5)]
    assert fake.message_calls == 0 and len(fake.batches) == 1
    verdict = results[0].verdicts[0]
    assert verdict.cost_usd == pytest.approx((100 * 3 + 20 * 15) / 1e6 / 2)
    [submitted] = [e for e in events if isinstance(e, BatchSubmitted)]
    assert sorted(submitted.case_ids) == [f"case-{i}" for i in range(5)]


async def test_batch_resume_reads_the_old_batch_and_skips_saved_cases(fake: FakeAnthropic) -> None:
    strict = judge(fake, batch_min_cases=3, batch_poll_s=0.01)
    batch_id = await strict.submit_batch(cases(5))
    job = Job(cases(5), [strict], skip={"case-0", "case-1"}, resume_batches=[batch_id])
    results = await run(job)
    assert sorted(r.case_id for r in results) == ["case-2", "case-3", "case-4"]
    assert len(fake.batches) == 1 and fake.message_calls == 0


async def test_batch_request_errors_fall_back_to_single_calls(fake: FakeAnthropic) -> None:
    fake.batch_errors = {custom_id_for("case-3")}
    strict = judge(fake, batch_min_cases=3, batch_poll_s=0.01)
    results = await run(Job(cases(4), [strict]))
    assert sorted(r.case_id for r in results) == [f"case-{i}" for i in range(4)]
    assert all(r.verdicts[0].ok for r in results)
    assert fake.message_calls == 1


async def test_unknown_batch_id_on_resume_resubmits(fake: FakeAnthropic) -> None:
    strict = judge(fake, batch_min_cases=3, batch_poll_s=0.01)
    job = Job(
        cases(3), [strict], resume_batches=["msgbatch_gone"], options=RunnerOptions(sleep=Sleeps())
    )
    results = await run(job)
    assert len(results) == 3 and len(fake.batches) == 1


def test_custom_ids_are_valid_and_stable() -> None:
    assert custom_id_for("3f1c-aa_b") == "3f1c-aa_b"
    odd = custom_id_for("case/with spaces")
    assert odd == custom_id_for("case/with spaces") and len(odd) <= 64 and odd.isalnum()


async def test_cancelling_the_consumer_cancels_calls_in_flight(fake: FakeAnthropic) -> None:
    fake.delay_s = 30
    job = Job(cases(6), [judge(fake, timeout=60)])

    async def consume() -> list[Any]:
        return await run(job)

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.5)
    assert fake.message_calls == 6
    start = time.perf_counter()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.perf_counter() - start < 2
    assert job.totals.done == 0
