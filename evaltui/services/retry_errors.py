"""`evaltui rejudge RUN --errors`: retry, in place, the judge errors of a run evaltui made.

Only a derived run (one `rejudge` or `rerun` created: its `runs.config` holds an `evaltui`
job record) is touched, never a source run. Its cases whose judging errored are judged
again by the judges the run records (rebuilt from the profiles of the same names, which
must still describe the same judges), each only by the judges that left it without a score.
The run goes back to `running`; each retried case gets its new score rows and its error
cleared (or updated) in one transaction; the run is finished again with a recomputed
summary. Stopped half way, it is marked `failed`: the same command retries what is left.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from evaltui.backends.base import Judge, JudgeInput
from evaltui.backends.errors import AccessDenied
from evaltui.core.models import Case, Run
from evaltui.core.secrets import Redactor
from evaltui.jobs import CaseResult, Job, JobTotals, RunnerOptions
from evaltui.services.config import Config, Profile
from evaltui.services.rework import (
    JobOutcome,
    JobStopped,
    PlanError,
    ScoreRow,
    case_error,
    fail_run,
    finish_job,
    job_record,
    judgement_rows,
    redact_result,
)
from evaltui.store import RunStore
from evaltui.store.writer import NewRun, StoreWriter


@dataclass(frozen=True)
class ErrorsPlan:
    """Which derived run, and its judges rebuilt from the config."""

    run: Run
    judges: tuple[tuple[Profile, Judge], ...]
    redactor: Redactor = field(default_factory=Redactor, compare=False)
    """The secrets the judges resolved: hidden from what the retry stores and reports."""

    @property
    def threshold(self) -> float:
        return self.run.threshold

    @property
    def job_key(self) -> str:
        """The key of the job that made the run: its lease is the retry's too."""
        record = job_record(self.run) or {}
        return str(record.get("job"))


def _same(recorded: Any, fresh: dict[str, Any]) -> bool:
    return bool(recorded == json.loads(json.dumps(fresh, default=str)))


def plan_errors(run: Run, config: Config) -> ErrorsPlan:
    """The judges of `run`'s job record, or `PlanError` (a run evaltui did not make, a judge
    whose profile is gone or now describes another judge). `ConfigError`/`JudgeError` from
    building a judge propagate."""
    record = job_record(run)
    if record is None:
        raise PlanError(
            f"run {run.id[:8]} was not made by `evaltui rejudge` or `rerun`: --errors only"
            " retries the judge errors of such a run; re-judge this one with --judge"
        )
    recorded = record.get("judges")
    if not isinstance(recorded, list) or not recorded:
        raise PlanError(f"run {run.id[:8]} records no judges: nothing to retry them with")
    judges: list[tuple[Profile, Judge]] = []
    for described in recorded:
        name = described.get("name") if isinstance(described, dict) else None
        if not isinstance(name, str):
            raise PlanError(f"run {run.id[:8]} records a judge without a name")
        profile = _profile(config, name)
        judge = config.build_judge(profile)
        if not _same(described, profile.describe(judge)):
            raise PlanError(
                f"judge {name!r} is not configured as when run {run.id[:8]} was made:"
                " retrying would mix two judges in one run; re-judge into a new run instead"
            )
        judges.append((profile, judge))
    return ErrorsPlan(run, tuple(judges), redactor=config.secrets)


def _profile(config: Config, name: str) -> Profile:
    return config.judge_profile(name)


def missing_judges(case: Case, plan: ErrorsPlan) -> tuple[str, ...]:
    """The run's judges that left `case` without a score."""
    scored = {score.scorer_name for score in case.scores}
    return tuple(profile.name for profile, _ in plan.judges if profile.name not in scored)


def retried_rows(result: CaseResult, names: Sequence[str]) -> tuple[list[ScoreRow], str | None]:
    """The new score rows of a retried case (`names`: the scorer of each verdict, in order)
    and its error (None: every judge answered)."""
    scores: list[ScoreRow] = []
    errors: list[str] = []
    for name, verdict in zip(names, result.verdicts, strict=False):
        if verdict.score is not None:
            scores.append((name, verdict.score, verdict.reason))
        else:
            errors.append(f"{name}: {verdict.error}")
    return scores, case_error("JudgeError", "; ".join(errors)) if errors else None


async def execute_errors(
    plan: ErrorsPlan,
    store: RunStore,
    writer: StoreWriter,
    options: RunnerOptions | None = None,
    *,
    on_result: Callable[[CaseResult | None, Case, JobTotals], None] | None = None,
) -> JobOutcome | None:
    """Retry the run's judge errors in place; None when it has none (nothing is written).
    One call per case (no batch): what is retried is small, and a crash pays nothing twice."""
    run_id = plan.run.id
    await asyncio.to_thread(writer.ensure_schema)
    case_ids = await asyncio.to_thread(writer.judge_error_cases, run_id)
    if not case_ids:
        return None
    cases = await store.get_cases(case_ids)
    groups: dict[tuple[str, ...], list[Case]] = {}
    for case in cases:
        groups.setdefault(missing_judges(case, plan), []).append(case)
    by_id = {case.id: case for case in cases}
    runner = dataclasses.replace(options or RunnerOptions(), use_batches=False)
    totals = JobTotals(total=len(cases))
    claim = await asyncio.to_thread(
        functools.partial(writer.claim_job, plan.job_key, _never_new, run_id=run_id)
    )
    claim.lease.start()  # one job, one writer: a second `--errors` of the run refuses
    try:
        return await _retry_claimed(plan, writer, groups, by_id, runner, totals, on_result)
    finally:
        await asyncio.shield(asyncio.to_thread(claim.lease.release))


def _never_new() -> NewRun:
    raise AssertionError("--errors retries in an existing run")  # claim_job got its run id


async def _retry_claimed(
    plan: ErrorsPlan,
    writer: StoreWriter,
    groups: dict[tuple[str, ...], list[Case]],
    by_id: dict[str, Case],
    runner: RunnerOptions,
    totals: JobTotals,
    on_result: Callable[[CaseResult | None, Case, JobTotals], None] | None,
) -> JobOutcome:
    run_id = plan.run.id
    await asyncio.to_thread(writer.reopen_run, run_id)
    try:
        for names, group in groups.items():
            chosen = [(profile, judge) for profile, judge in plan.judges if profile.name in names]
            scorers = [profile.name for profile, _ in chosen]
            judges = [judge for _, judge in chosen]
            items = [JudgeInput.from_case(case) for case in group]
            async with Job(items, judges, options=runner) as job:
                async for found in job:
                    result = redact_result(found, plan.redactor)
                    case = by_id[result.case_id]
                    scores, error = retried_rows(result, scorers)
                    rows = judgement_rows(result, scorers)
                    save = functools.partial(writer.complete_case, idx=case.idx, judgements=rows)
                    await asyncio.to_thread(save, run_id, case.id, scores, error)
                    totals.add(result)
                    if on_result is not None:
                        on_result(result, case, totals)
    except AccessDenied as denied:
        await fail_run(writer, run_id, plan.threshold)
        raise JobStopped(run_id, str(denied)) from denied
    except BaseException:
        await fail_run(writer, run_id, plan.threshold)
        raise
    return await finish_job(writer, run_id, plan.threshold, totals, 0)
