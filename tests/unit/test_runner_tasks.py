"""Re-run tasks: command, http (as the web runner) and Anthropic prompt mode, offline."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from anthropic import AsyncAnthropic

from evaltui.backends.errors import AccessDenied
from evaltui.backends.judges import (
    BuildContext,
    JudgeError,
    JudgeInput,
    Price,
    PriceTable,
    create_judge,
)
from evaltui.backends.tasks import create_task
from evaltui.backends.tasks.anthropic import AnthropicPromptTask, select_prompt
from evaltui.backends.tasks.http import NO_OUTPUT, HttpTask
from evaltui.backends.tasks.options import AnthropicTaskOptions
from evaltui.core.models import Prompt
from evaltui.jobs import Job, RunnerOptions
from tests.fakes.anthropic import FakeAnthropic, error
from tests.fakes.http import FakeServer, Request, Response

ITEM = {"input": "What is 2+2?", "expected": "4", "category": "math"}
CASE = JudgeInput(case_id="c1", idx=0, input=ITEM, output="old", expected="4")
PROMPTS = [
    Prompt(id="p1", name="qa-system", version=1, content="Be concise.", created_at=1),
    Prompt(
        id="p2", name="qa-system", version=2, content="Answer with only the answer.", created_at=2
    ),
]


def script(tmp_path: Path, body: str) -> list[str]:
    path = tmp_path / "task.py"
    path.write_text(textwrap.dedent(body))
    return [sys.executable, str(path)]


async def test_command_task_gets_the_item_and_returns_stdout(tmp_path: Path) -> None:
    argv = script(
        tmp_path, "import json, sys; item = json.load(sys.stdin); print(item['expected'])"
    )
    result = await create_task("command", "cmd", {"argv": argv}).generate(CASE)
    assert (result.output, result.error) == ("4", None)


async def test_command_task_json_mode_and_failures(tmp_path: Path) -> None:
    argv = script(
        tmp_path, 'print(\'{"output": "four", "usage": {"inputTokens": 5, "outputTokens": 1}}\')'
    )
    result = await create_task("command", "cmd", {"argv": argv, "stdout": "json"}).generate(CASE)
    assert result.output == "four" and result.usage.input_tokens == 5
    argv = script(tmp_path, "import sys; sys.stderr.write('nope'); sys.exit(2)")
    failed = await create_task("command", "cmd", {"argv": argv}).generate(CASE)
    assert failed.output is None and failed.error is not None
    assert failed.error.message == "exit status 2: nope"
    argv = script(tmp_path, "import time; time.sleep(30)")
    slow = await create_task("command", "cmd", {"argv": argv, "timeout_s": 0.3}).generate(CASE)
    assert slow.error is not None and slow.error.message == "timeout exceeded"


class Endpoint:
    """An HTTP endpoint like the web runner's: answers `{"output": ...}`."""

    def __init__(self) -> None:
        self.faults: list[Response] = []
        self.bodies: list[Any] = []

    async def __call__(self, request: Request) -> Response:
        self.bodies.append(request.json())
        if self.faults:
            return self.faults.pop(0)
        return Response.json({"output": f"answer to {request.json()['input']}"})


@pytest.fixture
async def endpoint() -> AsyncIterator[tuple[Endpoint, HttpTask]]:
    handler = Endpoint()
    with FakeServer(handler) as server:
        task = create_task("http", "web", {"url": f"{server.url}/run"})
        assert isinstance(task, HttpTask)
        yield handler, task
        await task.aclose()


async def test_http_task_posts_the_item_without_its_expected_answer(
    endpoint: tuple[Endpoint, HttpTask],
) -> None:
    handler, task = endpoint
    result = await task.generate(CASE)
    assert result.output == "answer to What is 2+2?"
    assert handler.bodies == [{"input": "What is 2+2?", "category": "math"}]  # no "expected"


async def test_http_task_errors_read_like_the_web_runner(
    endpoint: tuple[Endpoint, HttpTask],
) -> None:
    handler, task = endpoint
    handler.faults = [Response(404, b"no such route"), Response.json({"answer": 1})]
    missing = await task.generate(CASE)
    assert missing.error is not None and missing.error.message == "HTTP 404: no such route"
    shapeless = await task.generate(CASE)
    assert shapeless.error is not None and shapeless.error.message == NO_OUTPUT


async def test_http_task_5xx_is_retried_by_the_runner(endpoint: tuple[Endpoint, HttpTask]) -> None:
    handler, task = endpoint
    handler.faults = [Response(503, b"busy", {"retry-after": "0"})]
    judge = create_judge("regex", options={"pattern": "^answer to"})
    job = Job([CASE], [judge], task, options=RunnerOptions())
    [result] = [r async for r in job]
    assert result.task is not None and result.task.retries == 1
    assert result.output == "answer to What is 2+2?" and result.verdicts[0].score == 1.0


def test_select_prompt_by_name_and_version() -> None:
    assert select_prompt(PROMPTS, "qa-system").version == 2
    assert select_prompt(PROMPTS, "qa-system", 1).content == "Be concise."
    with pytest.raises(JudgeError, match="no version 3"):
        select_prompt(PROMPTS, "qa-system", 3)
    with pytest.raises(JudgeError, match="no prompt named 'other'"):
        select_prompt(PROMPTS, "other")


async def test_anthropic_prompt_task_uses_the_stored_prompt_and_model() -> None:
    with FakeAnthropic() as fake:
        client = AsyncAnthropic(base_url=fake.url, api_key="test", max_retries=0)
        options = AnthropicTaskOptions(model="claude-other", prompt="qa-system", prompt_version=1)
        context = BuildContext(
            env={}, prompts=PROMPTS, prices=PriceTable({"claude-other": Price(input=1, output=5)})
        )
        task = AnthropicPromptTask.from_options("qa-v1", options, context)
        task._client = client
        result = await task.generate(CASE)
        assert result.output == "answer: What is 2+2?" and result.model == "claude-other"
        assert result.cost_usd == pytest.approx((100 * 1 + 20 * 5) / 1e6)
        sent = fake.server.requests[0].json()
        assert sent["system"] == "Be concise." and sent["model"] == "claude-other"
        assert task.describe()["promptVersion"] == 1
        structured = CASE.model_copy(update={"input": {"question": "x"}})
        await task.generate(structured)
        assert fake.server.requests[1].json()["messages"][0]["content"] == json.dumps(
            {"question": "x"}, separators=(",", ":")
        )
        fake.faults = [error(401)]
        with pytest.raises(AccessDenied, match="HTTP 401"):  # the job stops: see test_outcomes
            await task.generate(CASE)
        await client.close()
