"""Re-judge and re-run jobs whose results land as a new run beside the source (no Textual).

The new run is written with the RunStore's own columns and semantics, so `@deepagents/evals`
and its web runner read it as a normal run: same suite, same idx, input and expected as the
source cases, the original output (re-judge) or the new one (re-run), and one score per
judge. It is created `running`, each case is committed as it completes, and it is finished
`completed` with the package's summary, or `failed` when the job is stopped. Starting the
same job again resumes that run: cases already saved are skipped. Nothing of the source run
is ever changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from evaltui.config import Config, Profile
from evaltui.jobs import BatchSubmitted, CaseResult, Job, JobEvent, JobTotals, RunnerOptions
from evaltui.judges.base import Judge, JudgeInput, Usage
from evaltui.models import Case, Run
from evaltui.store import RunStore, StoreError
from evaltui.store.writer import LEASE_STALE_S, JobClaim, NewRun, StoreWriter
from evaltui.tasks import Task

JobKind = Literal["rejudge", "rerun"]
ScoreRow = tuple[str, float, str | None]


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class JobPlan:
    """What to do: which cases of which run, through which judges (and task, to re-run)."""

    kind: JobKind
    source: Run
    case_ids: tuple[str, ...]
    judges: tuple[tuple[Profile, Judge], ...]
    task: tuple[Profile, Task] | None = None
    threshold: float = 0.5

    def described(self) -> dict[str, Any]:
        """What the new run records of the job in `runs.config` (no secrets)."""
        return {
            "job": self.key,
            "kind": self.kind,
            "sourceRunId": self.source.id,
            "caseIds": list(self.case_ids),
            "judges": [profile.describe(judge) for profile, judge in self.judges],
            "task": self.task[0].describe(self.task[1]) if self.task else None,
        }

    @property
    def key(self) -> str:
        """Same source, cases, judges and task: the same job (so it can be resumed)."""
        payload = {
            "kind": self.kind,
            "source": self.source.id,
            "cases": list(self.case_ids),
            "judges": [profile.describe(judge) for profile, judge in self.judges],
            "task": self.task[0].describe(self.task[1]) if self.task else None,
        }
        text = json.dumps(payload, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    @property
    def model(self) -> str:
        if self.task is None:
            return self.source.model
        described = self.task[0].describe(self.task[1])
        return str(described.get("model") or self.task[0].name)

    @property
    def scorer_names(self) -> list[str]:
        return [profile.name for profile, _ in self.judges]

    def run_name(self) -> str:
        verb = (
            "rejudge"
            if self.kind == "rejudge"
            else f"rerun {self.task[0].name}"
            if self.task
            else "rerun"
        )
        suite = self.source.suite_name or "suite"
        return f"{suite} [{self.model}] {verb}: {', '.join(self.scorer_names)}"

    def config(self) -> str:
        """`runs.config`: the web runner's keys it shows, plus evaltui's job record."""
        return json.dumps(
            {
                "model": self.model,
                "scorers": self.scorer_names,
                "threshold": self.threshold,
                "evaltui": self.described(),
            },
            ensure_ascii=False,
        )


ESTIMATE_SAMPLE = 50
PROMPT_OVERHEAD_TOKENS = 400  # the rubric or prompt template around a case
OUTPUT_TOKENS = 150  # a verdict (score, reason) or a short answer


async def estimate_cost(plan: JobPlan, store: RunStore, config: Config) -> float | None:
    """A rough cost before starting: tokens from a sample of the cases' text (4 characters a
    token) priced with the user's table. 0 when nothing calls a model; None when a model
    has no price (never a guess)."""
    models = [
        str(profile.describe(built).get("model"))
        for profile, built in [*plan.judges, *([plan.task] if plan.task else [])]
        if profile.describe(built).get("model")
    ]
    if not models:
        return 0.0
    sample = await store.get_cases(plan.case_ids[:ESTIMATE_SAMPLE])
    chars = [
        len(case.input.raw or "") + len(case.output or "") + len(case.expected.raw or "")
        for case in sample
    ]
    per_case = (sum(chars) / len(chars) / 4 if chars else 0) + PROMPT_OVERHEAD_TOKENS
    total = 0.0
    for model in models:
        price = config.prices.get(model)
        if price is None:
            return None
        usage = Usage(input_tokens=int(per_case), output_tokens=OUTPUT_TOKENS)
        total += price.cost(usage) * len(plan.case_ids)
    return total


@dataclass
class JobOutcome:
    run_id: str
    status: str
    resumed: int
    """Cases that an earlier, interrupted attempt had already saved."""
    totals: JobTotals


def case_error(name: str, message: str) -> str:
    return json.dumps({"name": name, "message": message}, ensure_ascii=False)


def engine_failure(case: Case) -> tuple[str, str]:
    """(name, message) of a stored task error, as the engine's reasons quote it."""
    value = case.error.value if case.error.is_json else None
    if isinstance(value, dict):
        return str(value.get("name") or "Error"), str(value.get("message", ""))
    return "Error", case.error.raw or ""


class JobRecorder:
    """Turns results into rows of the new run through the writer (one transaction a case)."""

    def __init__(self, plan: JobPlan, writer: StoreWriter, run_id: str) -> None:
        self.plan = plan
        self.writer = writer
        self.run_id = run_id

    def _save(
        self,
        case: Case,
        output: str | None,
        error: str | None,
        scores: Sequence[ScoreRow],
        latency: int | None,
        tokens: tuple[int | None, int | None],
    ) -> None:
        self.writer.save_case(
            run_id=self.run_id,
            idx=case.idx,
            input=case.input.raw or "",
            output=output,
            expected=case.expected.raw,
            latency_ms=latency,
            tokens_in=tokens[0],
            tokens_out=tokens[1],
            error=error,
            scores=scores,
        )

    def save_task_failure(self, case: Case) -> None:
        """A source case whose task errored: as the engine, every scorer gets 0 with
        `Task failed: …` (re-judging an output that never came would be meaningless)."""
        name, message = engine_failure(case)
        reason = f"Task failed: {name}: {message}"
        scores = [(scorer, 0.0, reason) for scorer in self.plan.scorer_names]
        self._save(
            case, None, case.error.raw, scores, case.latency_ms, (case.tokens_in, case.tokens_out)
        )

    def save(self, case: Case, result: CaseResult) -> None:
        scores: list[ScoreRow] = []
        errors: list[str] = []
        task = result.task
        if task is not None and task.error is not None:
            reason = task.error.engine_reason
            scores = [(scorer, 0.0, reason) for scorer in self.plan.scorer_names]
            self._save(
                case,
                None,
                task.error.to_json(),
                scores,
                task.latency_ms,
                (task.usage.input_tokens, task.usage.output_tokens),
            )
            return
        for (profile, _), verdict in zip(self.plan.judges, result.verdicts, strict=False):
            if verdict.score is not None:
                scores.append((profile.name, verdict.score, verdict.reason))
            else:
                errors.append(f"{profile.name}: {verdict.error}")
        # A judge that failed leaves no score (never a 0 in disguise) and says why in `error`.
        error = case_error("JudgeError", "; ".join(errors)) if errors else None
        if task is not None:
            self._save(
                case,
                result.output,
                error,
                scores,
                task.latency_ms,
                (task.usage.input_tokens, task.usage.output_tokens),
            )
        else:
            self._save(
                case, case.output, error, scores, case.latency_ms, (case.tokens_in, case.tokens_out)
            )


async def open_job_run(
    plan: JobPlan, writer: StoreWriter, *, stale_after_s: float = LEASE_STALE_S
) -> JobClaim:
    """Claim the job (one job, one writer): the run of an interrupted attempt of the same job
    (and its saved idx), or a new one, with the job's lease, all in one write transaction.
    Raises `JobBusyError` when another live process is writing the same job."""
    await asyncio.to_thread(writer.ensure_schema)  # evaltui's job tables beside the package's

    def new_run() -> NewRun:
        if plan.source.suite_id is None:
            raise StoreError(
                f"run {plan.source.id[:8]} has no suite: its results have nowhere to go"
            )
        return NewRun(
            suite_id=plan.source.suite_id,
            name=plan.run_name(),
            model=plan.model,
            config=plan.config(),
            started=now_ms(),
        )

    claiming = asyncio.ensure_future(
        asyncio.to_thread(writer.claim_job, plan.key, new_run, stale_after_s=stale_after_s)
    )
    try:
        claim = await asyncio.shield(claiming)
    except asyncio.CancelledError:  # cancelled while claiming: give the job up again
        with contextlib.suppress(Exception):
            await asyncio.to_thread((await claiming).lease.release)
        raise
    claim.lease.start()
    return claim


async def execute(
    plan: JobPlan,
    store: RunStore,
    writer: StoreWriter,
    options: RunnerOptions | None = None,
    *,
    on_result: Callable[[CaseResult | None, Case, JobTotals], None] | None = None,
    on_event: Callable[[JobEvent], None] | None = None,
    stale_after_s: float = LEASE_STALE_S,
) -> JobOutcome:
    """Run the job to its end, saving each case as it completes. Cancelling it (Ctrl-C, the
    UI's cancel) marks the run `failed`; starting the same job again resumes it. While it
    runs it holds the job's lease: the same job started elsewhere refuses (`JobBusyError`)."""
    claim = await open_job_run(plan, writer, stale_after_s=stale_after_s)
    try:
        return await _execute_claimed(
            plan, store, writer, claim, options, on_result=on_result, on_event=on_event
        )
    finally:
        await asyncio.shield(asyncio.to_thread(claim.lease.release))


async def _execute_claimed(
    plan: JobPlan,
    store: RunStore,
    writer: StoreWriter,
    claim: JobClaim,
    options: RunnerOptions | None = None,
    *,
    on_result: Callable[[CaseResult | None, Case, JobTotals], None] | None = None,
    on_event: Callable[[JobEvent], None] | None = None,
) -> JobOutcome:
    run_id, saved = claim.run_id, claim.saved
    batches = await asyncio.to_thread(writer.recorded_batches, run_id)
    recorder = JobRecorder(plan, writer, run_id)

    def event(item: JobEvent) -> None:
        if isinstance(item, BatchSubmitted):
            writer.record_batch(run_id, item.batch_id)  # one small transaction
        if on_event is not None:
            on_event(item)

    cases = [case for case in await store.get_cases(plan.case_ids) if case.idx not in saved]
    by_id = {case.id: case for case in cases}
    totals = JobTotals(total=len(cases))
    job: Job | None = None
    try:
        items: list[JudgeInput] = []
        for case in cases:
            if plan.kind == "rejudge" and case.error.raw is not None:
                await asyncio.to_thread(recorder.save_task_failure, case)
                totals.done += 1
                if on_result is not None:
                    on_result(None, case, totals)
            else:
                items.append(JudgeInput.from_case(case))
        judges = [judge for _, judge in plan.judges]
        task = plan.task[1] if plan.task else None
        job = Job(items, judges, task, options=options, resume_batches=batches, on_event=event)
        async with job:
            async for result in job:
                case = by_id[result.case_id]
                await asyncio.to_thread(recorder.save, case, result)
                totals.add(result)
                if on_result is not None:
                    on_result(result, case, totals)
    except BaseException:
        await asyncio.shield(
            asyncio.to_thread(writer.finish_run, run_id, "failed", plan.threshold, now_ms())
        )
        raise
    await asyncio.to_thread(writer.finish_run, run_id, "completed", plan.threshold, now_ms())
    return JobOutcome(run_id=run_id, status="completed", resumed=len(saved), totals=totals)
