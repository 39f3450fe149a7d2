"""Judging through a batch API (Anthropic Message Batches): submit, poll, read, resume.

A batch is paid for once. Before its create request is sent, the batch is recorded in a
`BatchLedger` as an *intent* (the judge, a tag unique to the batch and the custom ids of its
requests); the batch id is added when the API answers. A create that timed out (or a process
that died between create and record) leaves an intent without a batch id: it is reconciled
with the API's list of batches (same request count, created after the intent; the custom ids
of the results when several match) and the batch found is adopted, never created again.

Polling rides out outages: a status call that fails is retried with backoff until the batch's
own expiry; only then do its cases go back to the one-call-per-case path (`leftovers`), as do
requests the batch could not run (errored, expired, canceled). Resuming reads the open
batches of the ledger (and the bare ids `resume` of runs recorded by older versions) first;
only the cases they did not cover are submitted again.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeVar

from evaltui.backends.base import JudgeError, JudgeInput, Verdict
from evaltui.backends.errors import TransientError
from evaltui.backends.judges.anthropic import custom_id_for
from evaltui.backends.judges.batching import BatchInfo
from evaltui.jobs.calls import Caller, Failure
from evaltui.jobs.models import BatchPolled, BatchSubmitted, CallRetrying, CaseResult

T = TypeVar("T")
BATCH_METHODS = ("create_batch", "batch_info", "list_batches", "batch_results")
OPEN_STATES = ("intent", "submitted", "ended")
"""Ledger states of a batch whose results are still to be read (then `collected`, or
`abandoned`: refused, unknown to the API, or expired while it could not be reached)."""
DAY_S = 86_400.0
"""A batch expires 24 h after its creation (used when the API has not told us yet)."""
CLOCK_SKEW_S = 300.0
"""How far the API's clock may be behind ours when matching a batch to an intent."""
SETTLE_S = 30.0
"""Wait after a create that got no answer before looking for its batch in the list."""
MAX_BACKOFF_S = 600.0
RESULTS_PATIENCE_S = 3600.0
"""How long to keep trying to download the results of an ended batch."""


@dataclass(frozen=True)
class BatchRecord:
    """One batch of a job as the ledger keeps it (times are epoch seconds)."""

    key: int
    judge: str
    tag: str
    custom_ids: tuple[str, ...]
    requested_at: float
    state: str = "intent"
    batch_id: str | None = None
    expires_at: float | None = None


class BatchLedger(Protocol):
    """Where a job records its batches (the job's run in the store, or memory)."""

    async def records(self, judge: str) -> list[BatchRecord]: ...

    async def add(
        self, judge: str, tag: str, custom_ids: Sequence[str], requested_at: float
    ) -> BatchRecord:
        """Record an intent, durably, before its create request is sent."""
        ...

    async def update(self, record: BatchRecord) -> None: ...


class MemoryLedger:
    """A ledger that lives as long as the job (nothing to resume from)."""

    def __init__(self, records: Sequence[BatchRecord] = ()) -> None:
        self.saved = {record.key: record for record in records}

    async def records(self, judge: str) -> list[BatchRecord]:
        return [record for record in self.saved.values() if record.judge == judge]

    async def add(
        self, judge: str, tag: str, custom_ids: Sequence[str], requested_at: float
    ) -> BatchRecord:
        key = max(self.saved, default=0) + 1
        self.saved[key] = BatchRecord(key, judge, tag, tuple(custom_ids), requested_at)
        return self.saved[key]

    async def update(self, record: BatchRecord) -> None:
        self.saved[record.key] = record


def batch_capable(judge: Any) -> bool:
    return all(callable(getattr(judge, name, None)) for name in BATCH_METHODS) and hasattr(
        judge, "batch_min_cases"
    )


def batching_judge(
    judges: Sequence[Any],
    task: Any,
    count: int,
    use_batches: bool = True,
    *,
    resuming: bool = False,
) -> Any:
    """The judge that will go through its batch API for a job of `count` cases, or None."""
    if task is not None or len(judges) != 1 or not use_batches:
        return None
    judge = judges[0]
    if not batch_capable(judge):
        return None
    minimum = judge.batch_min_cases
    if resuming or (minimum is not None and count >= minimum):
        return judge
    return None


def billed(verdict: Verdict) -> bool:
    """The request ran (and was paid for), even if its verdict is unusable."""
    return bool(verdict.usage.total_input_tokens or verdict.usage.output_tokens)


class _GaveUp(Exception):
    """Waiting for a batch stopped: `expired` (unreachable until its expiry) or unknown."""

    def __init__(self, message: str, *, expired: bool) -> None:
        super().__init__(message)
        self.expired = expired


class BatchRunner:
    """Drives one batch-capable judge over a list of cases."""

    def __init__(
        self,
        judge: Any,
        caller: Caller,
        resume: Sequence[str] = (),
        *,
        ledger: BatchLedger | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.judge = judge
        self.caller = caller
        self.resume = list(resume)
        self.ledger: BatchLedger = ledger if ledger is not None else MemoryLedger()
        self.clock = clock
        self.leftovers: list[JudgeInput] = []
        options = getattr(judge, "options", None)
        self.poll_s: float = getattr(options, "batch_poll_s", 30.0)
        self.chunk: int = getattr(options, "batch_chunk", 10_000)
        self._claimed: set[str] = set()

    @property
    def _key(self) -> str:
        return f"batch:{self.judge.name}"

    async def run(self, items: Sequence[JudgeInput]) -> AsyncGenerator[CaseResult]:
        remaining = {item.case_id: item for item in items}
        records = await self.ledger.records(self.judge.name)
        self._claimed = {r.batch_id for r in records if r.batch_id} | set(self.resume)
        known = {r.batch_id for r in records}
        legacy = [  # ids recorded by older versions: no tag, custom ids unknown
            BatchRecord(0, self.judge.name, "", (), 0.0, "submitted", batch_id)
            for batch_id in self.resume
            if batch_id not in known
        ]
        for record in [*legacy, *records]:
            if record.state in OPEN_STATES:
                async for result in self._resume(record, remaining):
                    yield result
        ids = list(remaining)
        submitted: list[BatchRecord] = []
        for start in range(0, len(ids), self.chunk):
            group = [remaining[case_id] for case_id in ids[start : start + self.chunk]]
            made = await self._submit(group)
            if made is None:
                self.leftovers.extend(group)
                for item in group:
                    remaining.pop(item.case_id, None)
                continue
            submitted.append(made)
        for made in submitted:
            async for result in self._collect(made, remaining):
                yield result
        self.leftovers.extend(remaining.values())

    # -- recording ------------------------------------------------------------------------

    async def _save(self, record: BatchRecord, **changes: Any) -> BatchRecord:
        record = replace(record, **changes)
        if record.key:  # 0: a legacy id, not in the ledger
            await self.ledger.update(record)
        return record

    async def _adopt(
        self, record: BatchRecord, info: BatchInfo, case_ids: Sequence[str], adopted: bool
    ) -> BatchRecord:
        self._claimed.add(info.id)
        expires = info.expires_at or record.requested_at + DAY_S
        record = await self._save(record, state="submitted", batch_id=info.id, expires_at=expires)
        self.caller.emit(BatchSubmitted(self.judge.name, info.id, list(case_ids), adopted))
        return record

    @staticmethod
    def _ours(record: BatchRecord, remaining: dict[str, JudgeInput]) -> dict[str, str]:
        """custom_id -> case_id of the record's requests whose cases are still to do."""
        mapping = {custom_id_for(case_id, record.tag): case_id for case_id in remaining}
        if not record.custom_ids:
            return mapping
        return {cid: mapping[cid] for cid in record.custom_ids if cid in mapping}

    # -- submitting and reconciling -------------------------------------------------------

    async def _resume(
        self, record: BatchRecord, remaining: dict[str, JudgeInput]
    ) -> AsyncGenerator[CaseResult]:
        ours = self._ours(record, remaining)
        if not ours:
            await self._save(record, state="collected" if record.batch_id else "abandoned")
            return
        if record.batch_id is None:  # the create's answer never got recorded
            try:
                found = await self._find(record)
            except JudgeError:
                # cannot tell whether it exists: judge its cases one by one rather than risk
                # a second batch; the intent stays, for a later attempt to reconcile
                for case_id in ours.values():
                    self.leftovers.append(remaining.pop(case_id))
                return
            if found is None:
                await self._save(record, state="abandoned")  # never created: submit again
                return
            record = await self._adopt(record, found, list(ours.values()), adopted=True)
        async for result in self._collect(record, remaining):
            yield result

    async def _submit(self, group: Sequence[JudgeInput]) -> BatchRecord | None:
        """Record the intent, then create the batch; a create whose outcome is unknown is
        looked for in the API's list before it is tried again. None: no batch was made."""
        tag = secrets.token_hex(4)
        custom_ids = [custom_id_for(item.case_id, tag) for item in group]
        record = await self.ledger.add(self.judge.name, tag, custom_ids, self.clock())
        case_ids = [item.case_id for item in group]
        retry = self.caller.retry
        for attempt in range(retry.max_retries + 1):
            try:
                async with asyncio.timeout(self.caller.timeout_s):
                    info: BatchInfo = await self.judge.create_batch(group, tag=tag)
                return await self._adopt(record, info, case_ids, adopted=False)
            except (TransientError, TimeoutError, JudgeError) as error:
                refused = isinstance(error, JudgeError)
                reason = str(error) or f"no answer within {self.caller.timeout_s:g} s"
                asked = error.retry_after if isinstance(error, TransientError) else None
                unanswered = getattr(error, "status", None) is None  # timeout, dropped link
            if not refused:
                delay = retry.delay(attempt, asked)
                if unanswered:  # the server may still be making it: give it time to show up
                    delay = max(delay, SETTLE_S)
                self.caller.emit(
                    CallRetrying(
                        "",
                        "submit",
                        attempt + 1,
                        delay,
                        time.time() + delay,
                        f"{reason}; looking for the batch before creating another",
                    )
                )
                await self.caller.sleep(delay)
            try:
                found = await self._find(record)
            except JudgeError:
                return None  # unknown: the intent stays for a later attempt to reconcile
            if found is not None:
                return await self._adopt(record, found, case_ids, adopted=True)
            if refused:  # the API said no and made nothing
                await self._save(record, state="abandoned")
                return None
        return None

    async def _find(self, record: BatchRecord) -> BatchInfo | None:
        """The batch the API made for `record`'s intent, if any (`JudgeError`: cannot tell)."""
        since = record.requested_at - CLOCK_SKEW_S
        listed = await self._call("list", lambda: self.judge.list_batches(since))
        candidates = sorted(
            (
                info
                for info in listed
                if info.id not in self._claimed
                and info.requests == len(record.custom_ids)
                and info.created_at >= since
            ),
            key=lambda info: info.created_at,
        )
        if len(candidates) <= 1:
            return candidates[0] if candidates else None
        wanted = set(record.custom_ids)  # several alike: the one whose results are ours
        for info in candidates:
            try:
                await self._wait(info.id, info.expires_at)
            except _GaveUp:
                continue
            pairs = await self._results(info.id)
            if {custom_id for custom_id, _ in pairs} == wanted:
                found: BatchInfo = info
                return found
        return None

    # -- polling and reading --------------------------------------------------------------

    async def _call(self, step: str, fn: Callable[[], Awaitable[T]]) -> T:
        """A call retried by the job's retry policy; `JudgeError` when it still fails."""
        value, _ = await self.caller.call(self._key, "", step, fn)
        if isinstance(value, Failure):
            raise JudgeError(value.message)
        return value

    async def _wait(self, batch_id: str, expires_at: float | None) -> BatchInfo:
        """Poll until the batch ends. An API that cannot answer is asked again with backoff
        until the batch's expiry; `_GaveUp` then, or at once if the batch is unknown."""
        deadline = expires_at if expires_at is not None else self.clock() + DAY_S
        failures = 0
        while True:
            try:
                async with asyncio.timeout(self.caller.timeout_s):
                    info: BatchInfo = await self.judge.batch_info(batch_id)
            except JudgeError as error:
                self._polled(batch_id, "unknown", problem=str(error))
                raise _GaveUp(str(error), expired=False) from error
            except (TransientError, TimeoutError) as error:
                failures += 1
                now = self.clock()
                reason = str(error) or f"no answer within {self.caller.timeout_s:g} s"
                if now >= deadline:
                    self._polled(batch_id, "unreachable", problem=f"{reason}; batch expired")
                    raise _GaveUp(reason, expired=True) from error
                asked = getattr(error, "retry_after", None) or 0.0
                backoff = max(asked, self.poll_s * 2.0 ** min(failures, 20))
                delay = min(backoff, MAX_BACKOFF_S, deadline - now)
                self._polled(batch_id, "unreachable", next_poll_s=delay, problem=reason)
                await self.caller.sleep(delay)
                continue
            failures = 0
            if info.expires_at is not None:
                deadline = info.expires_at
            if info.status == "ended":
                self._polled(batch_id, info.status, info.ended, info.requests)
                return info
            if self.clock() >= deadline + DAY_S:  # past its expiry and still not ended
                self._polled(batch_id, info.status, problem="still not ended a day after expiry")
                raise _GaveUp("the batch never ended", expired=True)
            self._polled(batch_id, info.status, info.ended, info.requests, self.poll_s)
            await self.caller.sleep(self.poll_s)

    def _polled(
        self,
        batch_id: str,
        status: str,
        ended: int = 0,
        requests: int = 0,
        next_poll_s: float | None = None,
        problem: str | None = None,
    ) -> None:
        self.caller.emit(
            BatchPolled(self.judge.name, batch_id, status, ended, requests, next_poll_s, problem)
        )

    async def _results(self, batch_id: str) -> list[tuple[str, Verdict]]:
        """All results of an ended batch, retried with backoff for `RESULTS_PATIENCE_S`."""
        deadline = self.clock() + RESULTS_PATIENCE_S
        failures = 0
        while True:
            try:
                return await self._call("results", lambda: _collect_all(self.judge, batch_id))
            except JudgeError as error:
                failures += 1
                now = self.clock()
                if now >= deadline:
                    raise
                delay = min(self.poll_s * 2.0 ** min(failures, 20), MAX_BACKOFF_S, deadline - now)
                self._polled(batch_id, "ended", next_poll_s=delay, problem=str(error))
                await self.caller.sleep(delay)

    async def _collect(
        self, record: BatchRecord, remaining: dict[str, JudgeInput]
    ) -> AsyncGenerator[CaseResult]:
        """Wait for the record's batch to end, then yield a result per case of ours it ran."""
        batch_id = record.batch_id
        assert batch_id is not None
        ours = self._ours(record, remaining)
        if not ours:
            await self._save(record, state="collected")
            return
        try:
            await self._wait(batch_id, record.expires_at)
        except _GaveUp as stop:
            await self._save(record, state="abandoned")
            if stop.expired:  # judged one by one now; an unknown batch is submitted again
                for case_id in ours.values():
                    self.leftovers.append(remaining.pop(case_id))
            return
        record = await self._save(record, state="ended")
        try:
            results = await self._results(batch_id)
        except JudgeError:
            return  # unreadable: its cases are judged one by one (the record stays `ended`)
        for custom_id, verdict in results:
            mine = ours.get(custom_id)
            if mine is None or mine not in remaining:
                continue  # not ours, or already saved
            if verdict.error is not None and not billed(verdict):
                continue  # the batch could not run it: left for the one-by-one path
            yield CaseResult(item=remaining.pop(mine), verdicts=(verdict,))
        await self._save(record, state="collected")


async def _collect_all(judge: Any, batch_id: str) -> list[tuple[str, Verdict]]:
    return [pair async for pair in judge.batch_results(batch_id)]
