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
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from evaltui.backends.base import Judge, JudgeInput, Usage
from evaltui.backends.errors import AccessDenied
from evaltui.backends.pricing import BATCH_FACTOR
from evaltui.backends.tasks import Task
from evaltui.core.models import Case, Run, RunSpend
from evaltui.core.secrets import Redactor
from evaltui.jobs import CallRetrying, CaseResult, Job, JobEvent, JobTotals, RunnerOptions
from evaltui.jobs.batch import BatchRecord, batching_judge
from evaltui.services.config import Config, Profile
from evaltui.store import RunStore, StoreError
from evaltui.store.writer import LEASE_STALE_S, JobClaim, JudgementRow, NewRun, StoreWriter

JobKind = Literal["rejudge", "rerun"]
ScoreRow = tuple[str, float, str | None]
PROMPT_KEYS = ("taskMode", "promptId", "promptName", "promptVersion")
# Keys of a source run's config that describe its judging, which a re-judge replaces.
JUDGING_KEYS = frozenset({"model", "scorers", "scorerModel", "threshold", "evaltui"})


def now_ms() -> int:
    return int(time.time() * 1000)


class PlanError(ValueError):
    """A job that cannot be recorded as asked (nothing is written): one line, exit 2."""


class BadThreshold(PlanError):
    """A threshold that is not a finite number within 0..1 (nothing is written with it)."""


def check_threshold(value: float, what: str = "threshold") -> float:
    """`value` when it is a finite number within 0..1, else `BadThreshold` (NaN, inf, -1, 5
    would write JSON the package cannot read, or a pass mark that means nothing)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadThreshold(f"{what} must be a number within 0..1, got {value!r}")
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise BadThreshold(f"{what} must be a finite number within 0..1, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class JobPlan:
    """What to do: which cases of which run, through which judges (and task, to re-run)."""

    kind: JobKind
    source: Run
    case_ids: tuple[str, ...]
    judges: tuple[tuple[Profile, Judge], ...]
    task: tuple[Profile, Task] | None = None
    threshold: float = 0.5
    redactor: Redactor = field(default_factory=Redactor, compare=False)
    """The secrets the judges and task resolved (`Config.secrets`): hidden from all that
    the job stores and reports."""

    def _profiles(self) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """Every option of the judges and task; secrets only as their `${VAR}` references
        (and, should a plugin's `describe()` hold a resolved value, redacted)."""
        judges = [profile.describe(judge) for profile, judge in self.judges]
        task = self.task[0].describe(self.task[1]) if self.task else None
        return self.redactor.redact_data(judges), self.redactor.redact_data(task)

    def __post_init__(self) -> None:
        check_threshold(self.threshold)

    def described(self) -> dict[str, Any]:
        """What the new run records of the job in `runs.config` (no secrets)."""
        judges, task = self._profiles()
        return {
            "job": self.key,
            "kind": self.kind,
            "sourceRunId": self.source.id,
            "caseIds": list(self.case_ids),
            "judges": judges,
            "task": task,
        }

    @property
    def key(self) -> str:
        """Same source, cases, judges and task with the same options: the same job (so it
        can be resumed). A changed option is a new job; a changed secret value is not."""
        judges, task = self._profiles()
        payload = {
            "kind": self.kind,
            "source": self.source.id,
            "cases": list(self.case_ids),
            "judges": judges,
            "task": task,
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
        try:
            return self._config_json()
        except ValueError:
            raise PlanError(
                "an option of the job is NaN or infinite, which JSON cannot hold: nothing written"
            ) from None

    def inherited(self) -> dict[str, Any]:
        """The source run's `runs.config` keys that still describe the new run: all but the
        judging keys for a re-judge (its outputs came from the same prompt, dataset and
        settings), only the dataset for a re-run (its task says the rest)."""
        value = self.source.config.value if self.source.config.is_json else None
        if not isinstance(value, dict):
            return {}
        if self.kind == "rerun":
            return {key: value[key] for key in ("dataset",) if key in value}
        return {key: item for key, item in value.items() if key not in JUDGING_KEYS}

    def _config_json(self) -> str:
        task = self._profiles()[1] or {}
        prompt = {key: task[key] for key in PROMPT_KEYS if task.get(key) is not None}
        return json.dumps(
            {
                **self.inherited(),
                "model": self.model,
                **prompt,  # a prompt-mode re-run names its prompt where the web runner does
                "scorers": self.scorer_names,
                "threshold": self.threshold,
                "evaltui": self.described(),
            },
            ensure_ascii=False,
            allow_nan=False,  # NaN/Infinity are not JSON: the package's JSON.parse rejects them
        )


ESTIMATE_SAMPLE = 50
PROMPT_OVERHEAD_TOKENS = 400  # the rubric or prompt template around a case
OUTPUT_TOKENS = 150  # a verdict (score, reason) or a short answer


async def estimate_cost(plan: JobPlan, store: RunStore, config: Config) -> float | None:
    """A rough cost before starting: tokens from a sample of the cases' text (4 characters a
    token) priced with the user's table, at the batch price for a judge the job will run
    through its batch API. 0 when nothing calls a model; None when a model has no price
    (never a guess)."""
    batching = batching_judge(
        [judge for _, judge in plan.judges], plan.task[1] if plan.task else None, len(plan.case_ids)
    )
    models = [
        (str(profile.describe(built).get("model")), built is batching)
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
    for model, batched in models:
        price = config.prices.get(model)
        if price is None:
            return None
        usage = Usage(input_tokens=int(per_case), output_tokens=OUTPUT_TOKENS)
        cost = price.cost(usage) * len(plan.case_ids)
        total += cost * BATCH_FACTOR if batched else cost
    return total


@dataclass(frozen=True)
class CaseCounts:
    """How the cases of a job's run ended, read back from the store (resumed ones too)."""

    cases: int = 0
    judge_errors: int = 0
    task_errors: int = 0
    """Tasks that failed (for a re-judge: the source's task had failed)."""

    @property
    def judged(self) -> int:
        return self.cases - self.judge_errors - self.task_errors

    @property
    def errors(self) -> int:
        return self.judge_errors + self.task_errors

    def describe(self) -> str:
        return (
            f"{self.judged} judged, {self.judge_errors} judge errors,"
            f" {self.task_errors} task errors"
        )


async def count_cases(writer: StoreWriter, run_id: str) -> CaseCounts:
    cases, judge_errors, task_errors = await asyncio.to_thread(writer.case_counts, run_id)
    return CaseCounts(cases, judge_errors, task_errors)


def final_status(counts: CaseCounts) -> str:
    """`completed`, unless judges were called and not one case got a judge's score (the 0s of
    failed tasks do not count): `failed`, so that `SUITE@latest` never picks a run that judged
    nothing. Task errors alone do not fail a run (the engine's rule)."""
    return "failed" if counts.judge_errors and not counts.judged else "completed"


@dataclass
class JobOutcome:
    run_id: str
    status: str
    resumed: int
    """Cases that an earlier, interrupted attempt had already saved."""
    totals: JobTotals
    """This attempt's running totals."""
    spend: RunSpend = field(default_factory=RunSpend)
    """What the new run's judgements cost, as stored (every attempt of the job)."""
    counts: CaseCounts = CaseCounts()


RAW_LIMIT = 20_000
"""Characters of a raw verdict (or task answer) kept in `evaltui_judgements.raw`."""


def raw_text(raw: Any) -> str | None:
    """A raw verdict as stored: text as is, data as JSON, bounded."""
    if raw is None:
        return None
    text = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False, default=str)
    return text if len(text) <= RAW_LIMIT else text[:RAW_LIMIT] + "\u2026"


def redact_result(result: CaseResult, redactor: Redactor) -> CaseResult:
    """The result with every secret value hidden in what it says (output, reasons, errors,
    raw answers), before it is stored or shown."""
    if not redactor:
        return result
    text, data = redactor.redact_optional, redactor.redact_data
    verdicts = tuple(
        verdict.model_copy(
            update={
                "reason": text(verdict.reason),
                "error": text(verdict.error),
                "raw": data(verdict.raw),
            }
        )
        for verdict in result.verdicts
    )
    task = result.task
    if task is not None:
        error = task.error
        if error is not None:
            error = error.model_copy(
                update={
                    "name": redactor.redact(error.name),
                    "message": redactor.redact(error.message),
                }
            )
        task = task.model_copy(
            update={"output": text(task.output), "error": error, "raw": data(task.raw)}
        )
    item = result.item.model_copy(update={"output": text(result.item.output)})
    return result.model_copy(update={"item": item, "task": task, "verdicts": verdicts})


class JobStopped(Exception):
    """The job stopped on an error that every further call would repeat (a 401/403): its
    run is marked `failed`; fix the cause and start the same job again to resume it."""

    def __init__(self, run_id: str, reason: str) -> None:
        super().__init__(reason)
        self.run_id = run_id
        self.reason = reason


def job_record(run: Run) -> dict[str, Any] | None:
    """The `evaltui` job record of a run evaltui created (a derived run), else None."""
    value = run.config.value if run.config.is_json else None
    record = value.get("evaltui") if isinstance(value, dict) else None
    return record if isinstance(record, dict) and record.get("job") else None


def task_failed(case: Case, run: Run) -> bool:
    """The stored case's task failed (the engine scores it 0). A case of a derived run whose
    *judging* failed (`JudgeError`) has a good output: it is judged again, never scored 0."""
    if case.error.raw is None:
        return False
    return not (job_record(run) is not None and engine_failure(case)[0] == "JudgeError")


def case_error(name: str, message: str) -> str:
    return json.dumps({"name": name, "message": message}, ensure_ascii=False)


def engine_failure(case: Case) -> tuple[str, str]:
    """(name, message) of a stored task error, as the engine's reasons quote it."""
    value = case.error.value if case.error.is_json else None
    if isinstance(value, dict):
        return str(value.get("name") or "Error"), str(value.get("message", ""))
    return "Error", case.error.raw or ""


def judgement_rows(
    result: CaseResult, judge_profiles: Sequence[str], task_profile: str | None = None
) -> list[JudgementRow]:
    """What each call of the case cost and answered: the task's, then each judge's
    (`judge_profiles`: the profile of each verdict, in order)."""
    rows: list[JudgementRow] = []
    task = result.task
    if task is not None:
        rows.append(
            JudgementRow(
                step="task",
                profile=task_profile or task.task,
                scorer=None,
                model=task.model,
                input_tokens=task.usage.input_tokens,
                output_tokens=task.usage.output_tokens,
                cache_read_tokens=task.usage.cache_read_input_tokens,
                cache_write_tokens=task.usage.cache_creation_input_tokens,
                cost_usd=task.cost_usd,
                latency_ms=task.latency_ms,
                retries=task.retries,
                raw=raw_text(task.raw),
                error=task.error.to_json() if task.error is not None else None,
            )
        )
    for profile, verdict in zip(judge_profiles, result.verdicts, strict=False):
        usage = verdict.usage
        rows.append(
            JudgementRow(
                step="judge",
                profile=profile,
                scorer=verdict.judge,
                model=verdict.model,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                cache_read_tokens=usage.cache_read_input_tokens,
                cache_write_tokens=usage.cache_creation_input_tokens,
                cost_usd=verdict.cost_usd,
                latency_ms=round(verdict.latency_s * 1000),
                retries=verdict.retries,
                raw=raw_text(verdict.raw),
                error=verdict.error,
                batch_id=verdict.batch_id,
            )
        )
    return rows


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
        judgements: Sequence[JudgementRow] = (),
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
            judgements=judgements,
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

    def judgements(self, result: CaseResult) -> list[JudgementRow]:
        task = self.plan.task[0].name if self.plan.task else None
        return judgement_rows(result, [profile.name for profile, _ in self.plan.judges], task)

    def save(self, case: Case, result: CaseResult) -> None:
        scores: list[ScoreRow] = []
        errors: list[str] = []
        judgements = self.judgements(result)
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
                judgements,
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
                judgements,
            )
        else:
            self._save(
                case,
                case.output,
                error,
                scores,
                case.latency_ms,
                (case.tokens_in, case.tokens_out),
                judgements,
            )


class StoreBatchLedger:
    """The job's Message Batches in `evaltui_batches`, beside its run: each change is one
    short transaction, run off the event loop."""

    def __init__(self, writer: StoreWriter, run_id: str) -> None:
        self.writer = writer
        self.run_id = run_id

    async def records(self, judge: str) -> list[BatchRecord]:
        rows = await asyncio.to_thread(self.writer.job_batches, self.run_id)
        return [
            BatchRecord(
                key=int(key),
                judge=str(name),
                tag=str(tag),
                custom_ids=tuple(str(i) for i in json.loads(custom_ids)),
                requested_at=int(requested_at) / 1000,
                state=str(state),
                batch_id=None if batch_id is None else str(batch_id),
                expires_at=None if expires_at is None else int(expires_at) / 1000,
            )
            for key, name, state, tag, batch_id, custom_ids, requested_at, expires_at in rows
            if name == judge
        ]

    async def add(
        self, judge: str, tag: str, custom_ids: Sequence[str], requested_at: float
    ) -> BatchRecord:
        ids = list(custom_ids)
        at_ms = int(requested_at * 1000)
        key = await asyncio.to_thread(
            self.writer.add_batch_intent, self.run_id, judge, tag, ids, at_ms
        )
        return BatchRecord(key, judge, tag, tuple(ids), at_ms / 1000)

    async def update(self, record: BatchRecord) -> None:
        expires = None if record.expires_at is None else int(record.expires_at * 1000)
        await asyncio.to_thread(
            self.writer.update_batch, record.key, record.state, record.batch_id, expires
        )


async def fail_run(writer: StoreWriter, run_id: str, threshold: float) -> None:
    """Mark a job's run `failed` (shielded: it runs even while the job is being cancelled)."""
    finishing = asyncio.to_thread(writer.finish_run, run_id, "failed", threshold, now_ms())
    await asyncio.shield(finishing)


async def finish_job(
    writer: StoreWriter, run_id: str, threshold: float, totals: JobTotals, resumed: int
) -> JobOutcome:
    """Finish a job's run as its stored cases say (completed, or failed when nothing got a
    score) and read back what it cost."""
    counts = await count_cases(writer, run_id)
    status = final_status(counts)
    await asyncio.to_thread(writer.finish_run, run_id, status, threshold, now_ms())
    spend = await asyncio.to_thread(writer.run_spend, run_id)
    return JobOutcome(
        run_id=run_id, status=status, resumed=resumed, totals=totals, spend=spend, counts=counts
    )


async def open_job_run(
    plan: JobPlan, writer: StoreWriter, *, stale_after_s: float = LEASE_STALE_S
) -> JobClaim:
    """Claim the job (one job, one writer): the run of an interrupted attempt of the same job
    (and its saved idx), or a new one, with the job's lease, all in one write transaction.
    Raises `JobBusyError` when another live process is writing the same job."""
    config = plan.config()  # PlanError before anything is written
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
            config=config,
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
    legacy_batches = await asyncio.to_thread(writer.recorded_batches, run_id)  # older versions
    ledger = StoreBatchLedger(writer, run_id)
    recorder = JobRecorder(plan, writer, run_id)

    def event(item: JobEvent) -> None:
        if isinstance(item, CallRetrying) and plan.redactor:
            item = replace(item, reason=plan.redactor.redact(item.reason))
        if on_event is not None:
            on_event(item)

    every = await store.get_cases(plan.case_ids)
    cases = [case for case in every if case.idx not in saved]
    by_id = {case.id: case for case in cases}
    resumed = len(every) - len(cases)  # done and total both count them: a resume ends at 100 %
    totals = JobTotals(total=len(every), done=resumed, resumed=resumed)
    job: Job | None = None
    try:
        items: list[JudgeInput] = []
        for case in cases:
            if plan.kind == "rejudge" and task_failed(case, plan.source):
                await asyncio.to_thread(recorder.save_task_failure, case)
                totals.done += 1
                totals.task_errors += 1
                if on_result is not None:
                    on_result(None, case, totals)
            else:
                items.append(JudgeInput.from_case(case))
        judges = [judge for _, judge in plan.judges]
        task = plan.task[1] if plan.task else None
        job = Job(
            items,
            judges,
            task,
            options=options,
            resume_batches=legacy_batches,
            batch_ledger=ledger,
            on_event=event,
        )
        async with job:
            async for result in job:
                result = redact_result(result, plan.redactor)
                case = by_id[result.case_id]
                await asyncio.to_thread(recorder.save, case, result)
                totals.add(result)
                if on_result is not None:
                    on_result(result, case, totals)
    except AccessDenied as denied:
        await fail_run(writer, run_id, plan.threshold)
        raise JobStopped(run_id, str(denied)) from denied
    except BaseException:
        await fail_run(writer, run_id, plan.threshold)
        raise
    return await finish_job(writer, run_id, plan.threshold, totals, len(saved))
