"""A judge that runs a user program: the case as JSON on stdin, `{"score", "reason"}` on stdout.

No shell: `argv` is executed as given. A non-zero exit, a timeout or unreadable output is an
errored verdict; the process is killed on timeout and on cancellation.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, Self

from evaltui.judges.base import JudgeInput, Usage, Verdict
from evaltui.judges.context import BuildContext
from evaltui.judges.options import CommandJudgeOptions
from evaltui.judges.prompting import MalformedVerdict, extract_json, parse_verdict

STDERR_TAIL = 500


@dataclass(frozen=True)
class Completed:
    """A finished process: exit code, stdout and stderr (decoded)."""

    returncode: int
    stdout: str
    stderr: str


class CommandFailed(Exception):
    """The program could not be run or did not finish in time (`timed_out`)."""

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


async def run_program(
    argv: Sequence[str],
    stdin: str,
    *,
    timeout_s: float,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Completed:
    """Run `argv` with `stdin`, killing it on timeout or cancellation."""
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=cwd,
            env=None if env is None else {**os.environ, **env},
        )
    except OSError as error:
        raise CommandFailed(f"cannot run {argv[0]!r}: {error.strerror or error}") from None
    try:
        async with asyncio.timeout(timeout_s):
            out, err = await process.communicate(stdin.encode())
    except TimeoutError:
        raise CommandFailed(
            f"{argv[0]!r} timed out after {timeout_s:g} s", timed_out=True
        ) from None
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    assert process.returncode is not None
    return Completed(
        process.returncode,
        out.decode("utf-8", "replace"),
        err.decode("utf-8", "replace"),
    )


def tail(text: str, limit: int = STDERR_TAIL) -> str:
    text = text.strip()
    return text if len(text) <= limit else "…" + text[-limit:]


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
            return Verdict.failed(self.name, str(error), latency_s=time.perf_counter() - start)
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
