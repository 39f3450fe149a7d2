"""Re-judge and re-run from the run screen: pick a judge (and task), confirm, watch it run."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, OptionList, ProgressBar, RichLog, Static
from textual.widgets.option_list import Option

from evaltui.backends.base import JudgeError
from evaltui.backends.judges.registry import JUDGES
from evaltui.backends.tasks import TASKS
from evaltui.core.models import Case, Run
from evaltui.core.textsafe import safe_line
from evaltui.jobs import CaseResult, JobTotals
from evaltui.jobs.batch import batching_judge
from evaltui.services.config import Config, ConfigError, Profile
from evaltui.services.rework import (
    BadThreshold,
    JobOutcome,
    JobPlan,
    JobStopped,
    PlanError,
    estimate_cost,
    execute,
)
from evaltui.store import RunStore, StoreError
from evaltui.store.writer import StoreWriter
from evaltui.ui.widgets.batch_status import BatchStatus

LOG_LINES = 2000


def describe_cost(cost: float | None) -> str:
    return (
        "unknown (a model has no price: add it under [prices])" if cost is None else f"${cost:,.4f}"
    )


def batch_note(plan: JobPlan) -> str:
    """Said beside the estimate when the judge will go through its batch API."""
    judges = [judge for _, judge in plan.judges]
    task = plan.task[1] if plan.task else None
    if batching_judge(judges, task, len(plan.case_ids)) is None:
        return ""
    return " at the batch price (one Message Batch: half price, results within 24 h)"


class JobSetup(ModalScreen[None]):
    """Choose the task (re-run only) and the judge, then confirm with count and cost."""

    CSS_PATH = "job.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Cancel", id="job.cancel_setup"),
        Binding("enter", "choose", "Choose / start", show=False, priority=True, id="job.choose"),
    ]

    def __init__(
        self,
        store: RunStore,
        run: Run,
        case_ids: list[str],
        kind: str,
        threshold: float,
        config: Config | ConfigError,
    ) -> None:
        """`config`: the settings the app was handed at start (or why they could not load);
        this screen reads no config file."""
        super().__init__()
        self.given_config = config
        self.store = store
        self.eval_run = run
        self.case_ids = case_ids
        self.kind = kind
        self.threshold = threshold
        self.config: Config | None = None
        self.task_profile: Profile | None = None
        self.judge_profile: Profile | None = None
        self.plan: JobPlan | None = None
        self.step = "task" if kind == "rerun" else "judge"

    def compose(self) -> ComposeResult:
        with Vertical(id="job-box"):
            yield Static(id="job-heading")
            yield OptionList(id="job-options")
            yield Static(id="job-summary")

    def on_mount(self) -> None:
        if isinstance(self.given_config, ConfigError):
            self.notify(str(self.given_config), title="Config", severity="error", markup=False)
            self.dismiss()
            return
        self.config = self.given_config
        self._show_step()

    def _show_step(self) -> None:
        assert self.config is not None
        verb = "Re-run" if self.kind == "rerun" else "Re-judge"
        heading = self.query_one("#job-heading", Static)
        options = self.query_one(OptionList)
        options.clear_options()
        if self.step == "task":
            heading.update(Text(f"{verb} {len(self.case_ids)} cases: which task?", style="bold"))
            names = self.config.names("task") or list(TASKS.available())
        else:
            heading.update(Text(f"{verb} {len(self.case_ids)} cases: which judge?", style="bold"))
            names = list(dict.fromkeys([*self.config.names("judge"), *JUDGES.available()]))
        options.add_options([Option(name, id=name) for name in names])
        options.highlighted = 0 if names else None
        options.focus()

    def action_choose(self) -> None:
        if self.step == "confirm":
            self.start()
            return
        options = self.query_one(OptionList)
        if options.highlighted is None:
            return
        name = options.get_option_at_index(options.highlighted).id or ""
        assert self.config is not None
        try:
            if self.step == "task":
                self.task_profile = self.config.task_profile(name)
                self.step = "judge"
                self._show_step()
                return
            self.judge_profile = self.config.judge_profile(name)
        except ConfigError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        self.step = "confirm"
        self.prepare()

    @work(exclusive=True, group="job-prepare")
    async def prepare(self) -> None:
        assert self.config is not None and self.judge_profile is not None
        summary = self.query_one("#job-summary", Static)
        summary.update(Text("estimating\u2026", style="dim"))
        try:
            judge = self.config.build_judge(self.judge_profile)
            task = None
            if self.task_profile is not None:
                prompts = await self.store.list_prompts()
                task = (
                    self.task_profile,
                    self.config.build_task(self.task_profile, prompts=prompts),
                )
            self.plan = JobPlan(
                "rerun" if self.kind == "rerun" else "rejudge",
                self.eval_run,
                tuple(self.case_ids),
                ((self.judge_profile, judge),),
                task,
                self.threshold,
                redactor=self.config.secrets,
            )
            cost = await estimate_cost(self.plan, self.store, self.config)
        except (JudgeError, ConfigError, StoreError, PlanError) as error:
            hint = ": set one with t on the run screen" if isinstance(error, BadThreshold) else ""
            self.notify(f"{error}{hint}", severity="error", markup=False)
            self.step = "judge"
            return
        self.query_one(OptionList).display = False
        what = (
            f"task {self.task_profile.name}, then judge {self.judge_profile.name}"
            if self.task_profile is not None
            else f"judge {self.judge_profile.name}"
        )
        summary.update(
            Text.assemble(
                (f"{len(self.case_ids)} cases", "bold"),
                " of ",
                safe_line(self.eval_run.name, limit=50),
                f"\n{what}\nestimated cost {describe_cost(cost)}{batch_note(self.plan)}\n",
                ("enter: start    esc: cancel", "bold"),
                "\nresults become a new run in the same suite; the source run is not changed",
            )
        )

    def start(self) -> None:
        if self.plan is None or self.config is None:
            return
        plan, config = self.plan, self.config
        self.dismiss()
        self.app.push_screen(JobScreen(self.store, plan, config))


class JobScreen(Screen[None]):
    """A running job: per-case lines, running totals and errors; esc cancels (the run is
    marked failed and the same job resumes later); d opens the diff against the source."""

    CSS_PATH = "job.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel_or_back", "Cancel / back", id="job.cancel"),
        Binding("d", "diff", "Diff vs source", id="job.diff"),
    ]

    def __init__(self, store: RunStore, plan: JobPlan, config: Config) -> None:
        super().__init__()
        self.store = store
        self.plan = plan
        self.config = config
        self.run_id: str | None = None
        self.finished = False
        self._pending: list[Text] = []
        self._totals: JobTotals | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="job-title")
        yield ProgressBar(id="job-progress", total=len(self.plan.case_ids), show_eta=False)
        yield Static(id="job-totals")
        yield BatchStatus(id="job-batch")
        yield RichLog(id="job-log", max_lines=LOG_LINES, markup=False, wrap=False)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        verb = "re-running" if self.plan.kind == "rerun" else "re-judging"
        self.query_one("#job-title", Static).update(
            Text.assemble(
                (f"{verb} {len(self.plan.case_ids)} cases of ", "bold"),
                safe_line(self.plan.source.name, style="bold", limit=50),
                f"  with {', '.join(self.plan.scorer_names)}",
            )
        )
        self.set_interval(0.1, self._flush)
        self.run_job()

    @work(exclusive=True, group="job-run")
    async def run_job(self) -> None:
        log = self.query_one(RichLog)
        try:
            # Opening checks and may migrate the file: off the event loop.
            writer = await asyncio.to_thread(StoreWriter.open, Path(self.store.path))
        except StoreError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        try:
            options = self.config.runner_options([(p, j) for p, j in self.plan.judges])
            outcome = await execute(
                self.plan,
                self.store,
                writer,
                options,
                on_result=self._on_result,
                on_event=self.query_one(BatchStatus).record,
            )
        except StoreError as error:
            log.write(Text(f"stopped: {error}", style="bold red"))
            return
        except JobStopped as stopped:
            self._flush()
            self.finished = True
            self.run_id = stopped.run_id  # d still compares what it saved with the source
            log.write(
                Text.assemble(
                    ("stopped: ", "bold red"),
                    safe_line(stopped.reason, limit=200),
                    f"; run {stopped.run_id[:8]} is marked failed: fix the key, then start the"
                    " same job again to resume it",
                )
            )
            return
        finally:
            writer.close()
        self._flush()
        self.run_id = outcome.run_id
        self.finished = True
        resumed = f" ({outcome.resumed} saved earlier were kept)" if outcome.resumed else ""
        log.write(
            Text(
                f"done: new run {outcome.run_id[:8]}{resumed}. d: diff against the source",
                style="bold green",
            )
        )
        self._show_totals(outcome.totals)
        log.write(Text(f"stored for the new run: {outcome.spend.describe()}", style="bold"))
        self._show_outcome(outcome)

    def _show_outcome(self, outcome: JobOutcome) -> None:
        """How the cases ended: a run where no case got a score is failed, not completed."""
        log, counts = self.query_one(RichLog), outcome.counts
        retry = f"retry them: evaltui rejudge {outcome.run_id[:8]} --errors"
        if outcome.status != "completed":
            log.write(
                Text(
                    f"no case got a score ({counts.describe()}): run marked failed; {retry}",
                    style="bold red",
                )
            )
        elif counts.judge_errors:
            log.write(Text(f"{counts.describe()}; {retry}", style="yellow"))

    def _on_result(self, result: CaseResult | None, case: Case, totals: JobTotals) -> None:
        """Queue the case's line; `_flush` paints queued lines ten times a second, so a fast
        judge does not repaint the screen a thousand times."""
        self._totals = totals
        line = Text(f"#{case.idx:<6}")
        if result is None:
            line.append("task had failed: scored 0 as the engine does", style="yellow")
        else:
            if result.task is not None and result.task.error is not None:
                line.append("task error: ", style="bold red")
                line.append_text(safe_line(result.task.error.message, limit=120))
            for verdict in result.verdicts:
                if verdict.score is None:
                    line.append(f"{verdict.judge}: error ", style="bold red")
                    line.append_text(safe_line(verdict.error or "", limit=120))
                else:
                    passed = verdict.score >= self.plan.threshold
                    line.append(
                        f"{verdict.judge} {verdict.score:.2f} ",
                        style="green" if passed else "bold red",
                    )
                    line.append_text(safe_line(verdict.reason or "", limit=120))
        self._pending.append(line)

    def _flush(self) -> None:
        if self._pending:
            log = self.query_one(RichLog)
            for line in self._pending:
                log.write(line)
            self._pending.clear()
        if self._totals is not None:
            # total and done both count the cases an earlier attempt saved: a resume ends at 100 %
            self.query_one(ProgressBar).update(total=self._totals.total, progress=self._totals.done)
            self._show_totals(self._totals)

    def _show_totals(self, totals: JobTotals) -> None:
        cost = (
            f"${totals.cost_usd:,.4f}"
            if totals.cost_known
            else f"${totals.cost_usd:,.4f} + unknown"
        )
        usage = totals.usage
        self.query_one("#job-totals", Static).update(
            Text(
                f"{totals.done}/{totals.total} done"
                f"{f' ({totals.resumed} saved earlier)' if totals.resumed else ''}"
                f"  {totals.errored} errored"
                f"  {totals.retries} retries"
                f"  tokens {usage.total_input_tokens:,}/{usage.output_tokens:,}  cost {cost}"
            )
        )

    def action_cancel_or_back(self) -> None:
        if self.finished:
            self.dismiss()
            return
        self.workers.cancel_group(self, "job-run")
        self.query_one(RichLog).write(
            Text(
                "cancelled: the new run is marked failed; start the same job again to resume it",
                style="bold yellow",
            )
        )
        self.finished = True

    @work(exclusive=True, group="job-diff")
    async def action_diff(self) -> None:
        from evaltui.ui.messages import OpenDiff

        if self.run_id is None:
            self.notify("The job has not finished yet", timeout=2)
            return
        try:
            candidate = await self.store.get_run(self.run_id)
        except StoreError as error:
            self.notify(str(error), severity="error", markup=False)
            return
        self.app.post_message(OpenDiff(self.plan.source, candidate))
