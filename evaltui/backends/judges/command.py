"""A judge that runs a user program: the case as JSON on stdin, `{"score", "reason"}` on stdout.

No shell: `argv` is executed as given, in a process group of its own. A non-zero exit, a
timeout or unreadable output is an errored verdict, except that a verdict printed (and
flushed) before the program hung is used. On timeout or cancellation the whole group (a
shell script's children too) gets SIGTERM, then SIGKILL after a short grace; what a program
leaves running after it exits is stopped the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, Self

from evaltui.backends.base import JudgeInput, Usage, Verdict
from evaltui.backends.context import BuildContext
from evaltui.backends.judges.options import CommandJudgeOptions
from evaltui.backends.judges.prompting import MalformedVerdict, extract_json, parse_verdict

STDERR_TAIL = 500
KILL_GRACE_S = 0.5
"""Between SIGTERM and SIGKILL to the program's process group."""
DRAIN_S = 0.5
"""How long output pipes may stay open after the program exits (a child it left behind)."""


@dataclass(frozen=True)
class Completed:
    """A finished process: exit code, stdout and stderr (decoded)."""

    returncode: int
    stdout: str
    stderr: str


class CommandFailed(Exception):
    """The program could not be run or did not finish in time (`timed_out`); `stdout` is
    what it printed before that."""

    def __init__(self, message: str, *, timed_out: bool = False, stdout: str = "") -> None:
        super().__init__(message)
        self.timed_out = timed_out
        self.stdout = stdout


class _Collector(asyncio.SubprocessProtocol):
    """Collects stdout and stderr as they come; tells when the program exited and when its
    output pipes closed (a child it left behind can hold them open)."""

    def __init__(self) -> None:
        self.out = bytearray()
        self.err = bytearray()
        self.exited = asyncio.Event()
        self.drained = asyncio.Event()
        self._open = {1, 2}

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        (self.out if fd == 1 else self.err).extend(data)

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        self._open.discard(fd)
        if not self._open:
            self.drained.set()

    def process_exited(self) -> None:
        self.exited.set()

    async def finished(self) -> None:
        await self.exited.wait()
        await self.drained.wait()


def _signal_group(pgid: int, signum: int) -> bool:
    """Send `signum` to the process group; False when the group is gone."""
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        return False
    except PermissionError:  # only a recycled id can be someone else's: not ours to signal
        return False
    return True


async def _wait(awaitable: Any, timeout_s: float) -> bool:
    try:
        async with asyncio.timeout(timeout_s):
            await awaitable
    except TimeoutError:
        return False
    return True


async def _stop(
    pgid: int, transport: asyncio.SubprocessTransport, collector: _Collector, grace_s: float
) -> None:
    """End whatever is left of the program's group (TERM, then KILL after `grace_s`), wait
    for the program to be reaped, and close the transport (no pipe left for the garbage
    collector to close after the loop is gone: the "Event loop is closed" at exit)."""
    try:
        if _signal_group(pgid, signal.SIGTERM):
            # Members that exited may linger as zombies (until init reaps them), so the group
            # is not polled: once the program is reaped and the pipes are closed, or after the
            # grace, whatever is left is killed.
            await _wait(collector.finished(), grace_s)
            _signal_group(pgid, signal.SIGKILL)
            await _wait(collector.finished(), grace_s)
    finally:
        transport.close()


async def _spawn(
    creating: Coroutine[Any, Any, tuple[asyncio.SubprocessTransport, _Collector]],
    grace_s: float,
) -> tuple[asyncio.SubprocessTransport, _Collector]:
    """Start the program; a cancellation while it starts waits for the start, stops the
    program, then propagates.

    Cancelling `subprocess_exec` itself while it connects the pipes hangs for good on
    Python 3.11 (the transport then waits for pipes that never connected to close): a
    Ctrl-C during re-judging froze the job. Starting takes milliseconds, so it is shielded.
    """
    started = asyncio.ensure_future(creating)
    try:
        return await asyncio.shield(started)
    except asyncio.CancelledError:
        while not started.done():  # later cancellations are the same request: wait it out
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(started)
        if not started.cancelled() and started.exception() is None:
            transport, collector = started.result()
            try:
                _signal_group(transport.get_pid(), signal.SIGKILL)
                await _wait(collector.finished(), grace_s)
            finally:
                transport.close()
        raise


async def run_program(
    argv: Sequence[str],
    stdin: str,
    *,
    timeout_s: float,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
    grace_s: float = KILL_GRACE_S,
) -> Completed:
    """Run `argv` with `stdin` in its own process group; on exit, timeout or cancellation,
    what is left of the group is killed and reaped before this returns."""
    loop = asyncio.get_running_loop()
    try:
        transport, collector = await _spawn(
            loop.subprocess_exec(
                _Collector,
                *argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=cwd,
                env=None if env is None else {**os.environ, **env},
                start_new_session=True,
            ),
            grace_s,
        )
    except OSError as error:
        raise CommandFailed(f"cannot run {argv[0]!r}: {error.strerror or error}") from None
    pgid = transport.get_pid()  # the leader of its own session and group
    timed_out = False
    try:
        pipe = transport.get_pipe_transport(0)
        if pipe is not None:
            assert isinstance(pipe, asyncio.WriteTransport)
            pipe.write(stdin.encode())  # flushed by the loop; a program that does not read
            pipe.close()  # it just closes the pipe
        try:
            async with asyncio.timeout(timeout_s):
                await collector.exited.wait()
        except TimeoutError:
            timed_out = True
        else:  # its own output is in the pipes; a child that still holds them gets a moment
            await _wait(collector.drained.wait(), DRAIN_S)
    finally:
        try:
            await _stop(pgid, transport, collector, grace_s)
        except asyncio.CancelledError:  # cancelled again while stopping: no more waiting
            _signal_group(pgid, signal.SIGKILL)
            transport.close()
            raise
    stdout = collector.out.decode("utf-8", "replace")
    if timed_out:
        raise CommandFailed(
            f"{argv[0]!r} timed out after {timeout_s:g} s", timed_out=True, stdout=stdout
        )
    returncode = transport.get_returncode()
    assert returncode is not None
    return Completed(returncode, stdout, collector.err.decode("utf-8", "replace"))


def tail(text: str, limit: int = STDERR_TAIL) -> str:
    text = text.strip()
    return text if len(text) <= limit else "…" + text[-limit:]


def _has_verdict(stdout: str) -> bool:
    """Whether `stdout` holds a complete verdict (a score, or an error the judge reported)."""
    try:
        data = extract_json(stdout)
        if not data.get("error"):
            parse_verdict(data)
    except MalformedVerdict:
        return False
    return True


class ProgramOptions(Protocol):
    argv: list[str]
    timeout_s: float
    cwd: str | None
    env: dict[str, str]


class ProgramBackend:
    """What the command judge and the command task share: a program (argv, no shell), its
    timeout and folder, and an environment whose values may reference `${VAR}`."""

    Options: ClassVar[type[Any]]

    def __init__(self, name: str, options: Any, *, env: Mapping[str, str] | None = None) -> None:
        self.name = name
        self.options = options
        self._env = dict(env) if env else None

    @classmethod
    def from_options(cls, name: str, options: Any, context: BuildContext) -> Self:
        assert isinstance(options, cls.Options)
        env = {
            key: context.resolve(value, what=f"{name}: env {key}")
            for key, value in options.env.items()
        }
        return cls(name, options, env=env)

    @property
    def backend_key(self) -> str:
        return f"command:{self.options.argv[0]}"

    def describe(self) -> dict[str, Any]:
        options: ProgramOptions = self.options
        return {
            "argv": list(options.argv),
            "timeout_s": options.timeout_s,
            "cwd": options.cwd,
            "env_names": sorted(options.env),
        }


class CommandJudge(ProgramBackend):
    """Runs `argv` once per case; stdout must hold one JSON object with score and reason
    (optionally `error`, `model`, `usage`, `cost_usd`)."""

    Options: ClassVar[type[CommandJudgeOptions]] = CommandJudgeOptions
    options: CommandJudgeOptions

    async def evaluate(self, case: JudgeInput) -> Verdict:
        start = time.perf_counter()
        options = self.options
        try:
            done = await run_program(
                options.argv,
                case.to_json(),
                timeout_s=options.timeout_s,
                cwd=options.cwd,
                env=self._env,
            )
        except CommandFailed as error:
            latency = time.perf_counter() - start
            if error.timed_out and _has_verdict(error.stdout):  # printed, then hung
                return self._verdict(error.stdout, latency)
            return Verdict.failed(self.name, str(error), latency_s=latency)
        latency = time.perf_counter() - start
        if done.returncode != 0:
            detail = tail(done.stderr) or tail(done.stdout) or "no output"
            return Verdict.failed(
                self.name, f"exit status {done.returncode}: {detail}", latency_s=latency
            )
        return self._verdict(done.stdout, latency)

    def _verdict(self, stdout: str, latency_s: float) -> Verdict:
        try:
            data = extract_json(stdout)
        except MalformedVerdict as error:
            return Verdict.failed(
                self.name, f"malformed verdict: {error}", latency_s=latency_s, raw=stdout
            )
        extra: dict[str, Any] = {"latency_s": latency_s, "raw": data}
        if isinstance(data.get("model"), str):
            extra["model"] = data["model"]
        usage = data.get("usage")
        if isinstance(usage, dict):
            with contextlib.suppress(ValueError):
                extra["usage"] = Usage.model_validate(usage)
        cost = data.get("cost_usd")
        known = isinstance(cost, int | float) and not isinstance(cost, bool) and cost >= 0
        extra["cost_usd"] = float(cost) if known else None
        if data.get("error"):
            return Verdict.failed(self.name, str(data["error"]), **extra)
        try:
            parsed = parse_verdict(data)
        except MalformedVerdict as error:
            return Verdict.failed(self.name, f"malformed verdict: {error}", **extra)
        return Verdict(judge=self.name, score=parsed.score, reason=parsed.reason, **extra)
