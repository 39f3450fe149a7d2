"""`evaltui rejudge` and `evaltui rerun`: the headless twin of the J and R keys."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from typing import Any

from evaltui.backends.base import JudgeError
from evaltui.core.formatting import count
from evaltui.core.jsonutil import dumps_output
from evaltui.core.models import Case, Run
from evaltui.core.textsafe import error_text, one_line
from evaltui.jobs import BatchPolled, BatchSubmitted, CaseResult, JobEvent, JobTotals
from evaltui.services.config import Config, ConfigError, load_config
from evaltui.services.retry_errors import execute_errors, plan_errors
from evaltui.services.rework import (
    JobKind,
    JobOutcome,
    JobPlan,
    JobStopped,
    PlanError,
    check_threshold,
    execute,
)
from evaltui.store import RunStore, StoreError, find_store_path
from evaltui.store.writer import StoreWriter

EXIT_CASE_ERRORS = 1
"""Some case ended in a judge or task error (`--allow-errors` keeps 0)."""
EXIT_BAD_INPUT = 2
"""Bad input, or the job stopped on a 401/403 (its run is marked failed)."""


class JobInputError(StoreError):
    """A bad selection or profile: one line, exit code 2."""


def parse_selection(text: str) -> set[int]:
    """`1,5-9` -> {1, 5, 6, 7, 8, 9} (idx values, as the run table shows them)."""
    picked: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part:
                low, high = (int(x) for x in part.split("-", 1))
                if high < low:
                    raise ValueError
                picked.update(range(low, high + 1))
            else:
                picked.add(int(part))
        except ValueError:
            raise JobInputError(f"--cases: {part!r} is not an idx or a range like 5-9") from None
    return picked


def check_args(args: argparse.Namespace) -> None:
    """Flags that do not go together, or values out of range: one line, nothing written."""
    if getattr(args, "errors", False):
        given = [
            flag
            for flag, value in (
                ("--judge", args.judge),
                ("--scorer", args.scorer),
                ("--limit", args.limit),
                ("--threshold", args.threshold),
            )
            if value is not None
        ]
        if given:
            raise JobInputError(
                f"--errors retries with the run's own judges and threshold: drop {given[0]}"
            )
        return
    if not args.judge:
        hint = " (or --errors to retry a run's judge errors)" if hasattr(args, "errors") else ""
        raise JobInputError(f"give a judge: --judge PROFILE{hint}")
    if args.limit is not None and args.limit < 1:
        raise JobInputError(f"--limit must be 1 or more, got {args.limit}")
    if args.threshold is not None:
        try:
            check_threshold(args.threshold, "--threshold")
        except PlanError as error:
            raise JobInputError(str(error)) from None


def job_threshold(run: Run, args: argparse.Namespace) -> float:
    """--threshold, else the run's (checked: a source run may hold one outside 0..1)."""
    if args.threshold is not None:
        return float(args.threshold)
    try:
        return check_threshold(run.threshold, f"run {run.id[:8]}'s threshold")
    except PlanError as error:
        raise JobInputError(f"{error}: pass --threshold") from None


async def choose_cases(store: RunStore, run: Run, args: argparse.Namespace) -> list[str]:
    chosen = await _chosen_cases(store, run, args)
    return chosen if args.limit is None else chosen[: args.limit]


async def _chosen_cases(store: RunStore, run: Run, args: argparse.Namespace) -> list[str]:
    threshold = job_threshold(run, args)
    if args.failing:
        failing = await store.failing_cases(run.id, threshold)
        if args.scorer:
            failing = [c for c in failing if any(s.scorer_name == args.scorer for s in c.scores)]
        return [case.case_id for case in failing]
    index = await store.run_index(run.id)
    if args.cases:
        wanted = parse_selection(args.cases)
        missing = wanted - set(index.idxs)
        if missing:
            raise JobInputError(f"--cases: run {run.id[:8]} has no idx {sorted(missing)[:5]}")
        return [
            case_id for case_id, idx in zip(index.ids, index.idxs, strict=True) if idx in wanted
        ]
    return list(index.ids)


def build_plan(
    kind: JobKind,
    run: Run,
    case_ids: list[str],
    config: Config,
    args: argparse.Namespace,
    prompts: Any,
) -> JobPlan:
    try:
        judges = []
        for name in args.judge:
            profile = config.judge_profile(name)
            judges.append((profile, config.build_judge(profile)))
        task = None
        if kind == "rerun":
            profile = config.task_profile(args.task)
            task = (profile, config.build_task(profile, prompts=prompts))
    except (ConfigError, JudgeError) as error:
        raise JobInputError(str(error)) from None
    try:
        return JobPlan(
            kind,
            run,
            tuple(case_ids),
            tuple(judges),
            task,
            job_threshold(run, args),
            redactor=config.secrets,
        )
    except PlanError as error:
        raise JobInputError(str(error)) from None


def reporter(as_json: bool) -> Callable[[CaseResult | None, Case, JobTotals], None]:
    def report(result: CaseResult | None, case: Case, totals: JobTotals) -> None:
        if as_json:
            line: dict[str, Any] = {"idx": case.idx, "case_id": case.id}
            if result is None:
                line["skipped"] = "the task had failed: scored 0 as the engine does"
            else:
                line["scores"] = {v.judge: v.score for v in result.verdicts}
                errors = {v.judge: v.error for v in result.verdicts if v.error}
                if result.task is not None and result.task.error is not None:
                    errors["task"] = result.task.error.message
                if errors:
                    line["errors"] = errors
            print(dumps_output(line), flush=True)
        else:
            width = 30
            filled = int(width * totals.done / max(1, totals.total))
            bar = "#" * filled + "-" * (width - filled)
            print(
                f"\r[{bar}] {totals.done}/{totals.total}  errors {totals.errored}",
                end="",
                file=sys.stderr,
                flush=True,
            )

    return report


def batch_reporter(as_json: bool) -> Callable[[JobEvent], None]:
    """Say when a Message Batch is submitted (or found again) and when its state changes:
    a JSON line `{"batch": {...}}`, or a line on stderr."""
    last: dict[str, tuple[str, str | None]] = {}

    def report(event: JobEvent) -> None:
        if isinstance(event, BatchSubmitted):
            fields: dict[str, Any] = {
                "judge": event.judge,
                "batch_id": event.batch_id,
                "cases": len(event.case_ids),
                "state": "adopted" if event.adopted else "submitted",
            }
            text = (
                f"batch {one_line(event.batch_id, 80)} "
                f"{'found again' if event.adopted else 'submitted'} for judge "
                f"{one_line(event.judge, 40)}: {count(len(event.case_ids), 'case')}"
            )
        elif isinstance(event, BatchPolled):
            state = (event.status, event.problem)
            if last.get(event.batch_id) == state:
                return  # one line per change, not per poll
            last[event.batch_id] = state
            fields = {
                "judge": event.judge,
                "batch_id": event.batch_id,
                "state": event.status,
                "ended": event.ended,
                "requests": event.requests,
                "problem": event.problem,
            }
            what = (
                f"unreachable ({one_line(event.problem, 120)}), polling on"
                if event.problem
                else f"{one_line(event.status, 40)} ({event.ended}/{event.requests} ended)"
            )
            text = f"batch {one_line(event.batch_id, 80)}: {what}"
        else:
            return
        if as_json:
            print(dumps_output({"batch": fields}), flush=True)
        else:
            print(f"\n{text}", file=sys.stderr, flush=True)

    return report


def stopped(error: JobStopped) -> int:
    """A 401/403 stopped the job: one line, exit 2."""
    print(
        f"evaltui: error: stopped: {error_text(error.reason, 200)}; run {error.run_id[:8]} is"
        " marked failed; fix the key or its permissions, then run the same command to resume",
        file=sys.stderr,
    )
    return EXIT_BAD_INPUT


def exit_code(outcome: JobOutcome, args: argparse.Namespace) -> int:
    """0 when every case was judged (or --allow-errors), else 1 with the counts on stderr."""
    counts = outcome.counts
    if outcome.status != "completed":
        print(
            f"evaltui: no case got a score ({counts.describe()}): run {outcome.run_id[:8]} is"
            f" marked failed; retry its errors: evaltui rejudge {outcome.run_id[:8]} --errors",
            file=sys.stderr,
        )
    elif counts.errors:
        retry = (
            f"; retry the judge errors: evaltui rejudge {outcome.run_id[:8]} --errors"
            if counts.judge_errors
            else ""
        )
        print(f"evaltui: {counts.describe()}{retry}", file=sys.stderr)
    if counts.errors and not args.allow_errors:
        return EXIT_CASE_ERRORS
    return 0


async def run_errors(args: argparse.Namespace, store: RunStore, config: Config) -> int:
    """`rejudge RUN --errors`: the run's judge errors retried in place."""
    run = await store.resolve_run(args.run)
    try:
        plan = plan_errors(run, config)
    except (PlanError, ConfigError, JudgeError) as error:
        raise JobInputError(str(error)) from None
    as_json = args.json or not sys.stdout.isatty()
    writer = StoreWriter.open(store.path)
    try:
        options = config.runner_options(plan.judges)
        outcome = await execute_errors(plan, store, writer, options, on_result=reporter(as_json))
    except JobStopped as error:
        return stopped(error)
    finally:
        writer.close()
    if outcome is None:
        print(f"run {run.id[:8]} has no judge errors: nothing to retry, nothing was written")
        return 0
    if as_json:
        print(dumps_output({"done": final_line(outcome, run, outcome.totals.total)}))
    else:
        print(file=sys.stderr)
        print(f"run {run.id[:8]}: {outcome.totals.total} judge errors retried in place")
        print(f"spend of the run: {outcome.spend.describe()}")
    return exit_code(outcome, args)


def final_line(outcome: JobOutcome, source: Run, cases: int) -> dict[str, Any]:
    totals, counts = outcome.totals, outcome.counts
    return {
        "run_id": outcome.run_id,
        "status": outcome.status,
        "source_run_id": source.id,
        "cases": cases,
        "resumed": outcome.resumed,
        "judged": counts.judged,
        "judge_errors": counts.judge_errors,
        "task_errors": counts.task_errors,
        "errored": totals.errored,
        "retries": totals.retries,
        "tokens_in": totals.usage.total_input_tokens,
        "tokens_out": totals.usage.output_tokens,
        "cost_usd": totals.cost_usd if totals.cost_known else None,
        "spend": outcome.spend.to_json(),  # as stored for the run (every attempt)
    }


async def run_job(kind: JobKind, args: argparse.Namespace) -> int:
    check_args(args)
    path = find_store_path(args.store)
    store = await RunStore.open(path)
    try:
        config = load_config(args.config)
    except ConfigError as error:
        await store.close()
        raise JobInputError(str(error)) from None
    try:
        if getattr(args, "errors", False):
            return await run_errors(args, store, config)
        run = await store.resolve_run(args.run)
        case_ids = await choose_cases(store, run, args)
        if not case_ids:
            raise JobInputError(f"no case of run {run.id[:8]} to {kind}: nothing was written")
        plan = build_plan(kind, run, case_ids, config, args, await store.list_prompts())
        as_json = args.json or not sys.stdout.isatty()
        writer = StoreWriter.open(path)
        try:
            options = config.runner_options([*plan.judges, *([plan.task] if plan.task else [])])
            outcome = await execute(
                plan,
                store,
                writer,
                options,
                on_result=reporter(as_json),
                on_event=batch_reporter(as_json),
            )
        except JobStopped as error:
            return stopped(error)
        finally:
            writer.close()
    finally:
        await store.close()
    totals = outcome.totals
    final = final_line(outcome, run, len(case_ids))
    if as_json:
        print(dumps_output({"done": final}))
    else:
        print(file=sys.stderr)
        print(
            f"new run {outcome.run_id} ({one_line(plan.run_name(), 80)}): {len(case_ids)} cases,"
            f" {totals.errored} errored; diff it: evaltui diff {run.id[:8]} {outcome.run_id[:8]}"
        )
        print(f"spend of the new run: {outcome.spend.describe()}")
    return exit_code(outcome, args)


def _handler(kind: JobKind) -> Callable[[argparse.Namespace], int]:
    def handle(args: argparse.Namespace) -> int:
        try:
            return asyncio.run(run_job(kind, args))
        except KeyboardInterrupt:
            print(
                "\nstopped: the new run is marked failed; run the same command to resume it",
                file=sys.stderr,
            )
            return 130

    return handle


HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "rejudge": _handler("rejudge"),
    "rerun": _handler("rerun"),
}
