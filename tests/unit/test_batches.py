"""A Message Batch is paid for once: polling rides out outages until the batch's expiry, a
create that timed out (or a process killed between intent and create) is reconciled with the
API's list of batches instead of creating another, and batch spend is counted at the batch
price. The fake Batches API runs on 127.0.0.1 behind the real SDK; a fake clock turns hours of
backoff into milliseconds."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from anthropic import AsyncAnthropic

from evaltui.backends.judges import JudgeInput, Price, PriceTable
from evaltui.backends.judges.anthropic import AnthropicJudge, custom_id_for
from evaltui.backends.judges.options import AnthropicJudgeOptions
from evaltui.cli.jobs import batch_reporter
from evaltui.jobs import BatchPolled, BatchSubmitted, Job, JobEvent, RunnerOptions
from evaltui.services.config import Config, load_config
from evaltui.services.rework import JobPlan, StoreBatchLedger, estimate_cost, execute, open_job_run
from evaltui.store import RunStore
from evaltui.store.writer import StoreWriter
from tests.fakes.anthropic import FakeAnthropic, error
from tests.fakes.http import HANG
from tests.storebuilder import StoreBuilder

PRICES = PriceTable({"claude-test": Price(input=3.0, output=15.0)})
FULL_PRICE = (100 * 3.0 + 20 * 15.0) / 1e6  # the fake's usage: 100 tokens in, 20 out
BATCH_PRICE = FULL_PRICE / 2


@dataclass
class Clock:
    """Epoch seconds that move only when the job sleeps."""

    now: float = field(default_factory=time.time)
    slept: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.slept.append(delay)
        self.now += delay
        await asyncio.sleep(0)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def fake(clock: Clock) -> AsyncIterator[FakeAnthropic]:
    with FakeAnthropic(polls_until_end=2, clock=clock) as server:
        yield server


@pytest.fixture
async def clients() -> AsyncIterator[list[AsyncAnthropic]]:
    made: list[AsyncAnthropic] = []
    yield made
    for client in made:
        await client.close()


def make_judge(
    fake: FakeAnthropic,
    clients: list[AsyncAnthropic],
    *,
    timeout: float = 10.0,
    prices: PriceTable = PRICES,
    **options: Any,
) -> AnthropicJudge:
    client = AsyncAnthropic(base_url=fake.url, api_key="test", max_retries=0, timeout=timeout)
    clients.append(client)
    settings = AnthropicJudgeOptions(model="claude-test", batch_min_cases=3, **options)
    return AnthropicJudge("strict", settings, prices=prices, client=client)


def cases(n: int) -> list[JudgeInput]:
    return [
        JudgeInput(
            case_id=f"case-{i}", idx=i, input={"input": f"q{i}"}, output="Paris", expected="Paris"
        )
        for i in range(n)
    ]


async def run(job: Job) -> list[Any]:
    async with job:
        return [result async for result in job]


# -- (a) the status endpoint fails for minutes ----------------------------------------------


async def test_status_outage_of_hours_keeps_the_batch_and_counts_its_cost(
    fake: FakeAnthropic, clients: list[AsyncAnthropic], clock: Clock
) -> None:
    fake.status_faults = [error(503)] * 40  # six 503s in a row used to drop the batch
    events: list[JobEvent] = []
    strict = make_judge(fake, clients, batch_poll_s=30)
    options = RunnerOptions(sleep=clock.sleep, clock=clock)
    start = clock.now
    job = Job(cases(5), [strict], options=options, on_event=events.append)
    results = await run(job)
    assert sorted(r.case_id for r in results) == [f"case-{i}" for i in range(5)]
    assert fake.message_calls == 0 and len(fake.batches) == 1  # no case judged twice
    assert fake.status_calls > 40 and clock.now - start > 3600  # rode out an hour-plus outage
    assert all(delay <= 600 for delay in clock.slept)  # backoff is capped
    assert job.totals.cost_usd == pytest.approx(5 * BATCH_PRICE)
    problems = [e for e in events if isinstance(e, BatchPolled) and e.problem]
    assert len(problems) == 40 and all(e.next_poll_s for e in problems)


async def test_status_unreachable_until_expiry_sends_the_cases_one_by_one(
    fake: FakeAnthropic, clients: list[AsyncAnthropic], clock: Clock
) -> None:
    fake.status_faults = [error(503)] * 10_000
    strict = make_judge(fake, clients, batch_poll_s=30)
    start = clock.now
    results = await run(
        Job(cases(3), [strict], options=RunnerOptions(sleep=clock.sleep, clock=clock))
    )
    assert len(results) == 3 and all(r.verdicts[0].ok for r in results)
    assert clock.now - start == pytest.approx(86_400, abs=1)  # gave up at the batch's expiry
    assert fake.message_calls == 3 and len(fake.batches) == 1


# -- (b) the create commits, then the client times out --------------------------------------


async def test_create_that_timed_out_is_reconciled_not_created_again(
    fake: FakeAnthropic, clients: list[AsyncAnthropic], clock: Clock
) -> None:
    fake.create_faults = [HANG]  # the batch is made; its answer never comes
    events: list[JobEvent] = []
    strict = make_judge(fake, clients, timeout=0.5, batch_poll_s=1)
    job = Job(
        cases(4),
        [strict],
        options=RunnerOptions(sleep=clock.sleep, clock=clock),
        on_event=events.append,
    )
    results = await run(job)
    assert len(fake.batches) == 1 and fake.list_calls >= 1  # exactly one batch server-side
    assert fake.message_calls == 0 and sorted(r.case_id for r in results) == [
        f"case-{i}" for i in range(4)
    ]
    [submitted] = [e for e in events if isinstance(e, BatchSubmitted)]
    assert submitted.adopted and submitted.batch_id == next(iter(fake.batches))
    assert max(clock.slept) >= 30  # gave the server time to show the batch before listing
    assert job.totals.cost_usd == pytest.approx(4 * BATCH_PRICE)


async def test_reconciling_ignores_other_batches_and_creates_when_none_was_made(
    fake: FakeAnthropic, clients: list[AsyncAnthropic], clock: Clock
) -> None:
    strict = make_judge(fake, clients, timeout=0.5, batch_poll_s=1)
    await strict.create_batch(cases(2))  # someone else's batch, of another size
    fake.create_faults = [error(529)]  # "overloaded", yet the batch was made
    results = await run(
        Job(cases(3), [strict], options=RunnerOptions(sleep=clock.sleep, clock=clock))
    )
    assert len(results) == 3 and fake.message_calls == 0
    assert len(fake.batches) == 2  # the other one and ours, found again: never a third


# -- (c) killed between intent and create ---------------------------------------------------


@dataclass
class Setup:
    path: Path
    config: Config
    plan_cases: list[str]
    run_id: str


@pytest.fixture
def setup(builder: StoreBuilder, tmp_path: Path) -> Iterator[Setup]:
    suite = builder.suite("s")
    run_id = builder.run(suite, "old-model")
    ids = [
        builder.case(
            run_id,
            idx,
            input={"input": f"q{idx}"},
            output="Paris",
            expected="Paris",
            scores={"strict": 0.0},
        )
        for idx in range(4)
    ]
    builder.finish(run_id)
    toml = tmp_path / "evaltui.toml"
    toml.write_text(
        '[judges.strict]\ntype = "anthropic"\nmodel = "claude-test"\nbatch_min_cases = 3\n'
        'batch_poll_s = 1\nrubric = "Correct and complete."\n'
        "[prices.claude-test]\ninput = 3.0\noutput = 15.0\n"
    )
    yield Setup(builder.path, load_config(toml, cwd=tmp_path), ids, run_id)


async def plan_for(setup: Setup, store: RunStore, judge: AnthropicJudge) -> JobPlan:
    source = await store.resolve_run(setup.run_id)
    profile = setup.config.judge_profile("strict")
    return JobPlan("rejudge", source, tuple(setup.plan_cases), ((profile, judge),), None, 0.5)


def judge_for(setup: Setup, fake: FakeAnthropic, clients: list[AsyncAnthropic]) -> AnthropicJudge:
    profile = setup.config.judge_profile("strict")
    options = AnthropicJudgeOptions.model_validate(profile.options.model_dump())
    client = AsyncAnthropic(base_url=fake.url, api_key="test", max_retries=0)
    clients.append(client)
    return AnthropicJudge("strict", options, prices=setup.config.prices, client=client)


def batch_rows(path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT batch_id, state FROM evaltui_batches ORDER BY id").fetchall()


@pytest.mark.parametrize("created", [True, False])
async def test_restart_between_intent_and_create_never_makes_a_second_batch(
    setup: Setup,
    fake: FakeAnthropic,
    clients: list[AsyncAnthropic],
    clock: Clock,
    created: bool,
) -> None:
    judge = judge_for(setup, fake, clients)
    store = await RunStore.open(setup.path)
    writer = StoreWriter.open(setup.path)
    options = RunnerOptions(sleep=clock.sleep, clock=clock)
    try:
        plan = await plan_for(setup, store, judge)
        # the first attempt: run created, intent recorded, (maybe) batch created, then killed
        claim = await open_job_run(plan, writer)
        await asyncio.to_thread(claim.lease.release)  # as a dead process's lease
        run_id = claim.run_id
        items = [JudgeInput.from_case(c) for c in await store.get_cases(plan.case_ids)]
        ids = [custom_id_for(item.case_id, "0badcafe") for item in items]
        await StoreBatchLedger(writer, run_id).add("strict", "0badcafe", ids, clock())
        made = (await judge.create_batch(items, tag="0badcafe")).id if created else None
        # the restart
        outcome = await execute(plan, store, writer, options)
    finally:
        writer.close()
        await store.close()
    assert outcome.run_id == run_id and outcome.totals.done == 4
    assert fake.message_calls == 0 and len(fake.batches) == 1
    rows = batch_rows(setup.path)
    if created:  # adopted, collected; its cost counted at the batch price
        assert rows == [(made, "collected")]
    else:  # never made: the intent is abandoned and one batch is created
        assert rows == [(None, "abandoned"), (next(iter(fake.batches)), "collected")]
    assert outcome.totals.cost_usd == pytest.approx(4 * BATCH_PRICE)


async def test_runs_recorded_by_the_previous_version_still_resume(
    setup: Setup, fake: FakeAnthropic, clients: list[AsyncAnthropic], clock: Clock
) -> None:
    judge = judge_for(setup, fake, clients)
    store = await RunStore.open(setup.path)
    writer = StoreWriter.open(setup.path)
    try:
        plan = await plan_for(setup, store, judge)
        claim = await open_job_run(plan, writer)
        await asyncio.to_thread(claim.lease.release)  # as a dead process's lease
        run_id = claim.run_id
        items = [JudgeInput.from_case(c) for c in await store.get_cases(plan.case_ids)]
        old_id = await judge.submit_batch(items)  # untagged custom ids, id in runs.config
        with sqlite3.connect(setup.path) as db:
            db.execute(
                "UPDATE runs SET config = json_set(config, '$.evaltui.batches', json(?))"
                " WHERE id = ?",
                (json.dumps([old_id]), run_id),
            )
        outcome = await execute(plan, store, writer, RunnerOptions(sleep=clock.sleep, clock=clock))
    finally:
        writer.close()
        await store.close()
    assert outcome.totals.done == 4 and fake.message_calls == 0 and len(fake.batches) == 1


# -- (d) batch spend in the totals ----------------------------------------------------------


async def test_billed_batch_verdicts_are_counted_not_judged_again(
    fake: FakeAnthropic, clients: list[AsyncAnthropic], clock: Clock
) -> None:
    fake.batch_malformed = {"case-1"}  # ran (and was paid for) but its verdict is unusable
    strict = make_judge(fake, clients, batch_poll_s=1)
    job = Job(cases(4), [strict], options=RunnerOptions(sleep=clock.sleep, clock=clock))
    results = await run(job)
    assert fake.message_calls == 0 and len(results) == 4
    [bad] = [r for r in results if r.case_id == "case-1"]
    assert bad.verdicts[0].error is not None and bad.verdicts[0].cost_usd == BATCH_PRICE
    assert job.totals.cost_usd == pytest.approx(4 * BATCH_PRICE)
    assert job.totals.errored == 1


# -- (e) the estimate ------------------------------------------------------------------------


async def test_estimate_uses_the_batch_price_for_a_judge_that_will_batch(
    setup: Setup, fake: FakeAnthropic, clients: list[AsyncAnthropic]
) -> None:
    batching = judge_for(setup, fake, clients)  # batch_min_cases = 3, 4 cases: batches
    single = AnthropicJudge(
        "strict",
        batching.options.model_copy(update={"batch_min_cases": None}),
        prices=setup.config.prices,
    )
    from evaltui.ui.screens.job import batch_note

    store = await RunStore.open(setup.path)
    try:
        batch_plan = await plan_for(setup, store, batching)
        single_plan = await plan_for(setup, store, single)
        batched = await estimate_cost(batch_plan, store, setup.config)
        full = await estimate_cost(single_plan, store, setup.config)
    finally:
        await store.close()
    assert batched is not None and full is not None and full > 0
    assert batched == pytest.approx(full / 2)
    assert "batch price" in batch_note(batch_plan) and batch_note(single_plan) == ""


# -- the headless commands say what a batch is doing -----------------------------------------


def test_headless_job_reports_batch_submission_and_state_changes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    events: list[JobEvent] = [
        BatchSubmitted("strict", "msgbatch_1\x1b]52;c;x\x07", ["a", "b"]),
        BatchPolled("strict", "msgbatch_1\x1b]52;c;x\x07", "in_progress", 0, 2, 30.0),
        BatchPolled("strict", "msgbatch_1\x1b]52;c;x\x07", "in_progress", 0, 2, 30.0),
        BatchPolled("strict", "msgbatch_1\x1b]52;c;x\x07", "in_progress", 0, 2, 60.0, "503"),
        BatchPolled("strict", "msgbatch_1\x1b]52;c;x\x07", "ended", 2, 2, None),
    ]
    text = batch_reporter(as_json=False)
    for event in events:
        text(event)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line]
    assert len(lines) == 4  # the repeated poll says nothing new
    assert "submitted for judge strict: 2 cases" in lines[0]
    assert "unreachable (503), polling on" in lines[2] and "ended (2/2 ended)" in lines[3]
    assert "\x1b" not in err and "\x07" not in err
    as_json = batch_reporter(as_json=True)
    for event in events:
        as_json(event)
    out = [json.loads(line)["batch"] for line in capsys.readouterr().out.splitlines()]
    assert [line["state"] for line in out] == ["submitted", "in_progress", "in_progress", "ended"]
    assert out[0]["cases"] == 2 and out[2]["problem"] == "503"
