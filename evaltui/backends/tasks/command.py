"""Re-run by a user program: the dataset item as JSON on stdin, the output on stdout."""

from __future__ import annotations

import time
from typing import Any, ClassVar

from evaltui.backends.base import JudgeInput, Usage
from evaltui.backends.judges.command import CommandFailed, ProgramBackend, run_program, tail
from evaltui.backends.judges.prompting import MalformedVerdict, extract_json
from evaltui.backends.tasks.base import TIMEOUT, TaskResult, js_stringify
from evaltui.backends.tasks.options import CommandTaskOptions


def engine_usage(value: Any) -> Usage:
    """`{"inputTokens", "outputTokens"}` (the engine's TaskResult usage) as `Usage`."""
    if not isinstance(value, dict):
        return Usage()

    def count(key: str) -> int:
        number = value.get(key)
        return number if isinstance(number, int) and not isinstance(number, bool) else 0

    return Usage(input_tokens=count("inputTokens"), output_tokens=count("outputTokens"))


class CommandTask(ProgramBackend):
    """Runs `argv` once per case (no shell), killing it after `timeout_s`."""

    Options: ClassVar[type[CommandTaskOptions]] = CommandTaskOptions
    options: CommandTaskOptions

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "stdout": self.options.stdout}

    async def generate(self, case: JudgeInput) -> TaskResult:
        options = self.options
        start = time.perf_counter()
        try:
            done = await run_program(
                options.argv,
                js_stringify(case.input),
                timeout_s=options.timeout_s,
                cwd=options.cwd,
                env=self._env,
            )
        except CommandFailed as error:
            latency = round((time.perf_counter() - start) * 1000)
            if error.timed_out:
                return TaskResult(task=self.name, error=TIMEOUT, latency_ms=latency)
            return TaskResult.failed(self.name, str(error), latency_ms=latency)
        latency = round((time.perf_counter() - start) * 1000)
        if done.returncode != 0:
            detail = tail(done.stderr) or "no output"
            return TaskResult.failed(
                self.name, f"exit status {done.returncode}: {detail}", latency_ms=latency
            )
        if options.stdout == "text":
            return TaskResult(task=self.name, output=done.stdout.rstrip("\r\n"), latency_ms=latency)
        try:
            data = extract_json(done.stdout)
        except MalformedVerdict:
            data = {}
        output = data.get("output")
        if not isinstance(output, str):
            return TaskResult.failed(
                self.name, 'The command did not print a string "output"', latency_ms=latency
            )
        return TaskResult(
            task=self.name,
            output=output,
            usage=engine_usage(data.get("usage")),
            latency_ms=latency,
        )
