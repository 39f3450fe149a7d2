"""What a job streams out: one `CaseResult` per case, progress events, running totals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict

from evaltui.backends.base import JudgeInput, Usage, Verdict
from evaltui.backends.tasks.base import TaskResult


class CaseResult(BaseModel):
    """One case done: the judged item (its output is the new one after a re-run), the task
    result (re-runs only) and one verdict per judge, in the judges' order."""

    model_config = ConfigDict(frozen=True)

    item: JudgeInput
    task: TaskResult | None = None
    verdicts: tuple[Verdict, ...] = ()

    @property
    def case_id(self) -> str:
        return self.item.case_id

    @property
    def idx(self) -> int:
        return self.item.idx

    @property
    def output(self) -> str | None:
        return self.item.output

    @property
    def task_failed(self) -> bool:
        return self.task is not None and self.task.error is not None

    @property
    def has_error(self) -> bool:
        """The task failed or some judge errored."""
        return self.task_failed or any(not verdict.ok for verdict in self.verdicts)

    def verdict(self, judge: str) -> Verdict | None:
        return next((v for v in self.verdicts if v.judge == judge), None)

    def calls(self) -> list[tuple[Usage, float | None]]:
        """(usage, cost) of every model call made for this case."""
        calls = [(verdict.usage, verdict.cost_usd) for verdict in self.verdicts]
        if self.task is not None:
            calls.append((self.task.usage, self.task.cost_usd))
        return calls


@dataclass
class JobTotals:
    """Running totals of a job. Cost sums known prices; `unpriced_calls` counts calls that
    used tokens on a model with no price (their cost is unknown, not zero)."""

    total: int = 0
    """Every case of the job, those saved by an earlier attempt (`resumed`) included."""
    done: int = 0
    """Cases saved so far, `resumed` included (so `done == total` at the end)."""
    errored: int = 0
    judge_errors: int = 0
    """Cases of this attempt where some judge errored (and the task, if any, did not)."""
    task_errors: int = 0
    """Cases of this attempt whose task failed (a re-judge: the source's task had failed)."""
    resumed: int = 0
    retries: int = 0
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0
    unpriced_calls: int = 0

    @property
    def cost_known(self) -> bool:
        return self.unpriced_calls == 0

    def add(self, result: CaseResult) -> None:
        self.done += 1
        self.errored += result.has_error
        if result.task_failed:
            self.task_errors += 1
        elif result.has_error:
            self.judge_errors += 1
        self.retries += sum(v.retries for v in result.verdicts)
        if result.task is not None:
            self.retries += result.task.retries
        for usage, cost in result.calls():
            self.usage = self.usage + usage
            if cost is not None:
                self.cost_usd += cost
            elif usage.total_input_tokens or usage.output_tokens:
                self.unpriced_calls += 1


@dataclass(frozen=True)
class CaseStarted:
    case_id: str


@dataclass(frozen=True)
class CallRetrying:
    """A call failed transiently and will be retried after `delay_s` (at `retry_at`, epoch s)."""

    case_id: str
    step: str
    retry: int
    delay_s: float
    retry_at: float
    reason: str


@dataclass(frozen=True)
class BatchSubmitted:
    """A Message Batch was created, or found again (`adopted`: a create that timed out, or a
    batch an earlier attempt of the job had submitted); the job will poll it."""

    judge: str
    batch_id: str
    case_ids: Sequence[str]
    adopted: bool = False


@dataclass(frozen=True)
class BatchPolled:
    """A poll of a batch: its status and counts, or `problem` (the API could not answer and
    the poll is retried); `next_poll_s` is the wait before the next poll (None: no more)."""

    judge: str
    batch_id: str
    status: str
    ended: int = 0
    requests: int = 0
    next_poll_s: float | None = None
    problem: str | None = None


JobEvent = CaseStarted | CallRetrying | BatchSubmitted | BatchPolled
