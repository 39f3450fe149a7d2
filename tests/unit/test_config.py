"""TOML config: layering, strict validation with file and line, secrets by reference only."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from evaltui.backends.judges import JudgeError, JudgeInput, Usage
from evaltui.backends.judges.anthropic import AnthropicJudge
from evaltui.services.config import ConfigError, line_of, load_config


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    """A fake XDG config home, a working folder and an environment pointing at them."""
    xdg = tmp_path / "xdg"
    (xdg / "evaltui").mkdir(parents=True)
    work = tmp_path / "work"
    work.mkdir()
    return xdg, work, {"XDG_CONFIG_HOME": str(xdg), "HOME": str(tmp_path)}


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


async def test_no_file_needed_for_builtin_names(dirs: tuple[Path, Path, dict[str, str]]) -> None:
    _, work, env = dirs
    config = load_config(cwd=work, env=env)
    assert config.sources == []
    judge = config.build_judge("exact", env={})
    verdict = await judge.evaluate(JudgeInput(case_id="c", output="4", expected="4"))
    assert verdict.score == 1.0 and judge.name == "exact"
    assert config.judge_profile("exactMatch").type == "exact"  # the web runner's name
    assert config.judge_profile("anthropic").describe()["model"] == "claude-sonnet-4-5"
    with pytest.raises(ConfigError, match="pattern"):
        config.judge_profile("regex")  # needs options: no defaults to fall back on


def test_layers_xdg_then_local_then_explicit(
    dirs: tuple[Path, Path, dict[str, str]], tmp_path: Path
) -> None:
    xdg, work, env = dirs
    write(
        xdg / "evaltui" / "config.toml",
        """
        [runner]
        concurrency = 3
        max_retries = 7
        [judges.strict]
        type = "anthropic"
        model = "claude-a"
        [prices.claude-a]
        input = 1.0
        output = 2.0
        """,
    )
    write(
        work / "evaltui.toml",
        """
        [runner]
        concurrency = 5
        [judges.strict]
        type = "anthropic"
        model = "claude-b"
        """,
    )
    explicit = write(
        tmp_path / "explicit.toml",
        """
        [prices."claude-b"]
        input = 3.0
        output = 15.0
        """,
    )
    config = load_config(explicit, cwd=work, env=env)
    assert config.sources == [xdg / "evaltui" / "config.toml", work / "evaltui.toml", explicit]
    assert (config.runner.concurrency, config.runner.max_retries) == (5, 7)
    assert config.judge_profile("strict").options.model == "claude-b"
    assert config.prices.cost("claude-a", Usage(input_tokens=1_000_000)) == 1.0
    assert config.prices.cost("claude-b", Usage(output_tokens=1_000_000)) == 15.0
    assert config.prices.cost("claude-z", Usage(output_tokens=1)) is None


def test_unknown_key_names_the_file_and_line(dirs: tuple[Path, Path, dict[str, str]]) -> None:
    _, work, env = dirs
    path = write(
        work / "evaltui.toml",
        """
        # judges
        [judges.strict]
        type = "anthropic"
        modle = "claude-x"
        """,
    )
    with pytest.raises(ConfigError) as caught:
        load_config(cwd=work, env=env)
    message = str(caught.value)
    assert message.startswith(f"{path}, line 5: judges.strict.modle: unknown key (allowed: ")
    assert "model" in message


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("[runner]\nconcurency = 2\n", "line 2: runner.concurency: unknown key"),
        ('[judgez.x]\ntype = "exact"\n', "line 1: judgez: unknown key"),
        ('[judges.x]\ntype = "antropic"\n', "line 2: judges.x.type: unknown judge type 'antropic'"),
        ('[judges.x]\ntype = "regex"\nflags = "i"\n', "line 1: judges.x.pattern: Field required"),
        (
            '[tasks.t]\ntype = "http"\nurl = "http://x"\ntimeout_s = -1\n',
            "line 4: tasks.t.timeout_s",
        ),
        ("[prices.m]\ninput = 1\n", "line 1: prices.m.output: Field required"),
        ("[judges.x\n", "invalid TOML: "),
        (
            'judges.inline = { type = "exact", nope = 1 }\n',
            "line 1: judges.inline.nope: unknown key",
        ),
    ],
)
def test_invalid_configs(dirs: tuple[Path, Path, dict[str, str]], text: str, where: str) -> None:
    _, work, env = dirs
    write(work / "evaltui.toml", text)
    with pytest.raises(ConfigError) as caught:
        load_config(cwd=work, env=env)
    assert where in str(caught.value)


def test_a_literal_key_is_rejected_without_echoing_it(
    dirs: tuple[Path, Path, dict[str, str]],
) -> None:
    _, work, env = dirs
    write(work / "evaltui.toml", '[judges.j]\ntype = "anthropic"\napi_key = "sk-live-123"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(cwd=work, env=env)
    assert "line 3: judges.j.api_key: must be an environment reference" in str(caught.value)
    assert "sk-live" not in str(caught.value)
    write(
        work / "evaltui.toml",
        '[judges.j]\ntype = "openai-compatible"\nbase_url = "http://x/v1"\nmodel = "m"\n'
        '[judges.j.headers]\nX-Api-Key = "abc"\n',
    )
    with pytest.raises(ConfigError) as caught:
        load_config(cwd=work, env=env)
    assert "line 6: judges.j.headers.X-Api-Key: secrets must be" in str(caught.value)


def test_secrets_resolve_at_build_time_and_never_appear_in_descriptions(
    dirs: tuple[Path, Path, dict[str, str]],
) -> None:
    _, work, env = dirs
    write(
        work / "evaltui.toml",
        """
        [judges.local]
        type = "openai-compatible"
        base_url = "http://127.0.0.1:9/v1"
        model = "qwen"
        api_key = "${LOCAL_KEY}"
        concurrency = 2
        [judges.local.headers]
        Authorization-Extra = "Bearer ${GATEWAY_TOKEN}"
        [judges.claude]
        type = "anthropic"
        api_key = "${ANTHROPIC_API_KEY}"
        rubric = "Is it polite?"
        """,
    )
    config = load_config(cwd=work, env=env)
    profile = config.judge_profile("local")
    with pytest.raises(JudgeError, match="LOCAL_KEY is not set"):
        config.build_judge(profile, env={"GATEWAY_TOKEN": "x"})
    secrets = {
        "LOCAL_KEY": "s3cret-1",
        "GATEWAY_TOKEN": "s3cret-2",
        "ANTHROPIC_API_KEY": "s3cret-3",
    }
    local = config.build_judge(profile, env=secrets)
    claude = config.build_judge("claude", env=secrets)
    assert isinstance(claude, AnthropicJudge) and claude._api_key == "s3cret-3"
    for described in (profile.describe(local), config.judge_profile("claude").describe(claude)):
        assert "s3cret" not in repr(described)
    described = profile.describe(local)
    assert described["headers_names"] == ["Authorization-Extra"]
    assert described["headers_env"] == ["GATEWAY_TOKEN"]
    assert described["api_key"] == "${LOCAL_KEY}" and described["concurrency"] == 2
    claude_described = config.judge_profile("claude").describe(claude)
    assert (
        claude_described["rubric"] == "Is it polite?"
        and len(claude_described["rubric_sha256"]) == 64
    )


def test_runner_options_take_each_backends_concurrency(
    dirs: tuple[Path, Path, dict[str, str]],
) -> None:
    _, work, env = dirs
    write(
        work / "evaltui.toml",
        """
        [runner]
        concurrency = 6
        timeout_s = 30
        max_retry_delay_s = 10
        [judges.a]
        type = "anthropic"
        concurrency = 16
        [judges.b]
        type = "anthropic"
        rubric = "other"
        concurrency = 4
        """,
    )
    config = load_config(cwd=work, env=env)
    pairs = [(config.judge_profile(n), config.build_judge(n, env={})) for n in ("a", "b", "exact")]
    options = config.runner_options(pairs)
    key = pairs[0][1].backend_key  # type: ignore[attr-defined]
    assert options.limits[key] == 4  # both profiles share one backend: the smaller limit
    assert (
        options.default_limit == 6 and options.timeout_s == 30 and options.retry.max_delay_s == 10
    )


async def test_task_profiles_and_prompts(dirs: tuple[Path, Path, dict[str, str]]) -> None:
    from evaltui.core.models import Prompt

    _, work, env = dirs
    write(
        work / "evaltui.toml",
        """
        [tasks.qa-v2]
        type = "anthropic"
        model = "claude-haiku"
        prompt = "qa-system"
        prompt_version = 2
        """,
    )
    config = load_config(cwd=work, env=env)
    prompts = [
        Prompt(id="p2", name="qa-system", version=2, content="Only the answer.", created_at=1)
    ]
    task = config.build_task("qa-v2", env={}, prompts=prompts)
    described = config.task_profile("qa-v2").describe(task)
    assert described["promptId"] == "p2" and described["model"] == "claude-haiku"
    with pytest.raises(JudgeError, match="no prompt named"):
        config.build_task("qa-v2", env={}, prompts=[])


def test_explicit_path_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "missing.toml", cwd=tmp_path, env={"HOME": str(tmp_path)})


def test_line_of_understands_quoted_and_dotted_keys() -> None:
    text = (
        '[prices."claude.x"]\ninput = 1\n\n[judges]\nstrict.model = "m"\n'
        's = """\n[fake]\n"""\nz = 1\n'
    )
    assert line_of(text, ["prices", "claude.x", "input"]) == 2
    assert line_of(text, ["judges", "strict", "model"]) == 5
    assert line_of(text, ["judges", "z"]) == 9
    assert line_of(text, ["fake"]) is None
