"""The OpenAI-compatible, command and json_schema judges (fake server on 127.0.0.1)."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from evaltui.backends.judges import BuildContext, JudgeError, JudgeInput, Verdict, create_judge
from evaltui.backends.judges.openai_compat import OpenAICompatJudge
from evaltui.backends.judges.prompting import MalformedVerdict, parse_verdict
from evaltui.jobs import Job, RunnerOptions
from tests.fakes.anthropic import error
from tests.fakes.openai import FakeOpenAI, too_many

CASE = JudgeInput(case_id="c1", input={"input": "capital?"}, output="It is Paris", expected="Paris")
JUDGES: list[Any] = []


@pytest.fixture
async def close_judges() -> AsyncIterator[None]:
    yield
    while JUDGES:
        await JUDGES.pop().aclose()


@pytest.fixture
def fake(close_judges: None) -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


def openai(
    fake: FakeOpenAI, env: dict[str, str] | None = None, **options: Any
) -> OpenAICompatJudge:
    params = {"base_url": f"{fake.url}/v1", "model": "local-judge", **options}
    judge = create_judge("openai-compatible", "local", params, BuildContext(env=env or {}))
    assert isinstance(judge, OpenAICompatJudge)
    JUDGES.append(judge)
    return judge


async def test_json_schema_response_format(fake: FakeOpenAI) -> None:
    judge = openai(fake)
    verdict = await judge.evaluate(CASE)
    assert (verdict.score, verdict.reason) == (1.0, "matches the expected answer")
    assert verdict.usage.input_tokens == 125 and verdict.model == "local-judge"
    assert fake.formats_seen == ["json_schema"]
    body = fake.server.requests[0].json()
    assert body["temperature"] == 0.0
    assert body["response_format"]["json_schema"]["schema"]["required"] == ["reason", "score"]


async def test_falls_back_to_json_object_then_none_and_remembers(fake: FakeOpenAI) -> None:
    fake.reject = {"json_schema", "json_object"}
    judge = openai(fake)
    assert (await judge.evaluate(CASE)).score == 1.0
    assert (await judge.evaluate(CASE)).score == 1.0
    assert fake.formats_seen == ["json_schema", "json_object", "none", "none"]
    assert judge.mode == "none"


async def test_fixed_mode_does_not_fall_back(fake: FakeOpenAI) -> None:
    fake.reject = {"json_schema"}
    verdict = await openai(fake, response_format="json_schema").evaluate(CASE)
    assert (
        verdict.score is None and verdict.error is not None and verdict.error.startswith("HTTP 400")
    )


async def test_tolerant_parsing_of_fenced_json(fake: FakeOpenAI) -> None:
    fake.style = "fenced"
    assert (await openai(fake).evaluate(CASE)).score == 1.0


async def test_prose_without_a_verdict_is_an_error(fake: FakeOpenAI) -> None:
    fake.style = "prose"
    verdict = await openai(fake).evaluate(CASE)
    assert verdict.score is None and verdict.error is not None and "malformed" in verdict.error
    assert verdict.raw == "I think it deserves 1.0."


async def test_api_key_from_environment_reference(fake: FakeOpenAI) -> None:
    judge = openai(fake, env={"LOCAL_KEY": "s3cret"}, api_key="${LOCAL_KEY}")
    await judge.evaluate(CASE)
    assert fake.server.requests[0].headers["authorization"] == "Bearer s3cret"
    assert "s3cret" not in repr(judge.describe())
    with pytest.raises(JudgeError, match="LOCAL_KEY is not set"):
        openai(fake, env={}, api_key="${LOCAL_KEY}")


async def test_rate_limits_and_server_errors_are_retried(fake: FakeOpenAI) -> None:
    fake.faults = [too_many("10"), error(500)]
    [result] = [r async for r in Job([CASE], [openai(fake)], options=RunnerOptions())]
    assert result.verdicts[0].score == 1.0 and result.verdicts[0].retries == 2


async def test_refused_connection_is_retried_then_an_error(close_judges: None) -> None:
    with FakeOpenAI() as gone:
        url = gone.url
    judge = create_judge("openai-compatible", "x", {"base_url": url + "/v1", "model": "m"})
    JUDGES.append(judge)

    async def no_wait(_: float) -> None:
        return None

    options = RunnerOptions(sleep=no_wait)
    [result] = [r async for r in Job([CASE], [judge], options=options)]
    verdict = result.verdicts[0]
    assert verdict.score is None and verdict.retries == 4 and "ConnectError" in str(verdict.error)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"score": 0.5, "reason": "ok"}, (0.5, "ok")),
        ({"score": "0.25"}, (0.25, None)),
        ({"passed": True, "explanation": "fine"}, (1.0, "fine")),
        ({"grade": "P"}, (0.5, None)),
        ({"verdict": "fail", "reasons": ["a", " b "]}, (0.0, "a | b")),
        ({"score": "80%"}, (0.8, None)),
        ('prefix {"score": 1, "reason": "r"} suffix', (1.0, "r")),
        ("The output is right.\nGRADE: C", (1.0, "The output is right.\nGRADE: C")),
    ],
)
def test_parse_verdict_is_tolerant(raw: Any, expected: tuple[float, str | None]) -> None:
    parsed = parse_verdict(raw)
    assert (parsed.score, parsed.reason) == expected


def test_parse_verdict_scales_and_rejects() -> None:
    assert parse_verdict({"score": 7}, (0, 10)).score == 0.7
    for bad in ({"score": 1.5}, {"score": "high"}, {"reason": "no score"}, "nothing here", [1]):
        with pytest.raises(MalformedVerdict):
            parse_verdict(bad)


# -- command judge ---------------------------------------------------------------------------


def script(tmp_path: Path, body: str) -> list[str]:
    path = tmp_path / "judge.py"
    path.write_text(textwrap.dedent(body))
    return [sys.executable, str(path)]


async def command(tmp_path: Path, body: str, **options: Any) -> Verdict:
    judge = create_judge("command", "cmd", {"argv": script(tmp_path, body), **options})
    return await judge.evaluate(CASE)


async def test_command_judge_reads_the_case_on_stdin(tmp_path: Path) -> None:
    verdict = await command(
        tmp_path,
        """
        import json, sys
        case = json.load(sys.stdin)
        hit = case["expected"] in case["output"]
        print(json.dumps({"score": 1 if hit else 0, "reason": case["input"]["input"]}))
        """,
    )
    assert (verdict.score, verdict.reason, verdict.error) == (1.0, "capital?", None)


async def test_command_judge_failures_are_errors(tmp_path: Path) -> None:
    crashed = await command(tmp_path, "import sys; sys.stderr.write('boom'); sys.exit(3)")
    assert crashed.score is None and crashed.error == "exit status 3: boom"
    garbled = await command(tmp_path, "print('not json')")
    assert garbled.error is not None and "malformed" in garbled.error
    reported = await command(tmp_path, 'print(\'{"error": "no judge today"}\')')
    assert reported.error == "no judge today"
    slow = await command(tmp_path, "import time; time.sleep(30)", timeout_s=0.5)
    assert slow.error is not None and "timed out after 0.5 s" in slow.error
    missing = await create_judge("command", "x", {"argv": ["/nonexistent/judge"]}).evaluate(CASE)
    assert missing.error is not None and missing.error.startswith("cannot run")


# -- json_schema judge -----------------------------------------------------------------------

SCHEMA = {
    "type": "object",
    "properties": {
        "intent": {"enum": ["refund", "shipping"]},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "tags": {"type": "array", "items": {"$ref": "#/$defs/tag"}, "uniqueItems": True},
    },
    "required": ["intent"],
    "additionalProperties": False,
    "$defs": {"tag": {"type": "string", "pattern": "^[a-z]+$"}},
}


@pytest.mark.parametrize(
    ("output", "score", "reason"),
    [
        ('{"intent": "refund", "confidence": 0.9, "tags": ["a", "b"]}', 1.0, None),
        ('{"intent": "refund", "extra": 1}', 0.0, "('extra' was unexpected)"),
        ('{"confidence": 0.5}', 0.0, "$: 'intent' is a required property"),
        ('{"intent": "other"}', 0.0, "$.intent: 'other' is not one of"),
        ('{"intent": "refund", "tags": ["A"]}', 0.0, "$.tags[0]: 'A' does not match"),
        ('{"intent": "refund", "tags": ["a", "a"]}', 0.0, "non-unique elements"),
        ("not json", 0.0, "Failed to parse JSON"),
    ],
)
async def test_json_schema_judge(output: str, score: float, reason: str | None) -> None:
    judge = create_judge("json_schema", options={"schema": SCHEMA})
    verdict = await judge.evaluate(JudgeInput(case_id="c", output=output))
    assert verdict.score == score
    if reason is None:
        assert verdict.reason is None
    else:
        assert verdict.reason is not None and reason in verdict.reason


async def test_json_schema_takes_full_json_schema_but_no_remote_reference() -> None:
    judge = create_judge("json_schema", options={"schema": {"unevaluatedProperties": False}})
    verdict = await judge.evaluate(JudgeInput(case_id="c", output='{"a": 1}'))
    assert verdict.score == 0.0 and verdict.reason and "'a' was unexpected" in verdict.reason
    with pytest.raises(JudgeError, match=r"invalid schema: "):
        create_judge("json_schema", options={"schema": {"type": "nonsense"}})
    with pytest.raises(JudgeError, match="only local references"):
        create_judge("json_schema", options={"schema": {"$ref": "https://example.com/s.json"}})
    with pytest.raises(JudgeError, match="exactly one"):
        create_judge("json_schema", options={})
