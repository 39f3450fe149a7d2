"""evaltui's TOML configuration: judge and task profiles, runner settings and prices.

Files, later ones overriding earlier ones (a profile or a price entry is replaced whole):
`$XDG_CONFIG_HOME/evaltui/config.toml` (else `~/.config/evaltui/config.toml`), then
`./evaltui.toml`, then an explicit path. A built-in judge's name is a profile with its defaults,
so no file is needed (`exact`). Keys are never literal: `api_key = "${ANTHROPIC_API_KEY}"` is
resolved when the judge is built, and `Profile.describe()` (what a run records) holds none.

    [runner]
    concurrency = 8            # default per backend; timeout_s, max_retries, max_retry_delay_s
    [judges.strict]
    type = "anthropic"         # optional when the profile is named after its type
    model = "claude-sonnet-4-5"
    rubric = "The answer is correct and cites its source."
    concurrency = 16
    [tasks.qa-v3]
    type = "anthropic"
    prompt = "qa-system"
    prompt_version = 3
    [prices."claude-sonnet-4-5"]
    input = 3.0                # $ per million tokens
    output = 15.0
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evaltui.backends.base import Judge, JudgeError
from evaltui.backends.context import ENV_REF, BuildContext, env_names
from evaltui.backends.judges.options import SECRET_REF_PATTERN
from evaltui.backends.judges.prompting import rubric_hash
from evaltui.backends.judges.registry import JUDGES, create_judge
from evaltui.backends.plugins import Registry
from evaltui.backends.pricing import Price, PriceTable
from evaltui.backends.tasks import TASKS, Task, create_task
from evaltui.core.models import Prompt
from evaltui.core.secrets import Redactor
from evaltui.jobs.calls import backend_key
from evaltui.jobs.retry import RetryPolicy
from evaltui.jobs.runner import RunnerOptions

LOCAL_FILE = "evaltui.toml"
COMMON_KEYS = {"type", "concurrency"}
SECRET_NAME = re.compile(r"key|token|secret|password|passwd|auth|cookie", re.IGNORECASE)
Kind = Literal["judge", "task"]


class ConfigError(Exception):
    """A config file is unreadable or invalid; the message names the file and line."""


class RunnerSettings(BaseModel):
    """`[runner]`: how jobs call backends."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    concurrency: int = Field(default=8, ge=1, le=1024)
    """Concurrent calls per backend unless a profile sets its own."""
    timeout_s: float = Field(default=300.0, gt=0)
    """Per call; past it the case gets an errored verdict."""
    max_retries: int = Field(default=4, ge=0, le=20)
    max_retry_delay_s: float = Field(default=60.0, ge=0)
    """Cap on the retry-after honoured."""


class _FileModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    runner: dict[str, Any] = Field(default_factory=dict)
    judges: dict[str, dict[str, Any]] = Field(default_factory=dict)
    tasks: dict[str, dict[str, Any]] = Field(default_factory=dict)
    prices: dict[str, Price] = Field(default_factory=dict)


# -- where a key is written (tomllib gives values, not positions) -------------------------
# Kept (issue 9): tomllib's own syntax errors say "(at line N, column M)", but validation
# errors (an unknown key, a bad value) need the line of a key, which neither tomllib nor
# tomlkit (which keeps formatting, not positions) gives; this locator is 60 lines.

_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _split_key(text: str) -> list[str] | None:
    """`a."b.c".d` -> ["a", "b.c", "d"]; None when `text` is not a plain dotted key."""
    parts: list[str] = []
    rest = text.strip()
    while rest:
        if rest[0] in "\"'":
            end = rest.find(rest[0], 1)
            if end < 0:
                return None
            parts.append(rest[1:end])
            rest = rest[end + 1 :].lstrip()
        else:
            match = _BARE.match(rest)
            if match is None:
                return None
            parts.append(match.group(0))
            rest = rest[match.end() :].lstrip()
        if rest.startswith("."):
            rest = rest[1:].lstrip()
        elif rest:
            return None
    return parts


def _key_lines(text: str) -> Iterable[tuple[int, list[str]]]:
    """(line, full key path) of every table header and `key = value` line."""
    table: list[str] = []
    open_string = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if open_string:
            open_string = "" if line.count(open_string) % 2 else open_string
            continue
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            path = _split_key(line.strip("[").split("]")[0])
            if path is not None:
                table = path
                yield number, list(table)
            continue
        key, sep, value = line.partition("=")
        path = _split_key(key) if sep else None
        if path is not None:
            yield number, table + path
        open_string = next((d for d in ('"""', "'''") if value.count(d) % 2), "")


def line_of(text: str, loc: Sequence[str | int]) -> int | None:
    """The line defining the key path `loc`, else its deepest defined prefix."""
    wanted = [str(part) for part in loc]
    best: tuple[int, int] | None = None
    for number, path in _key_lines(text):
        depth = min(len(path), len(wanted))
        if path[:depth] == wanted[:depth] and (best is None or depth > best[0]):
            best = (depth, number)
    return None if best is None else best[1]


# -- profiles ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """A config file read: its path and text (to point at lines)."""

    path: Path
    text: str

    def error(self, loc: Sequence[str | int], message: str) -> ConfigError:
        line = line_of(self.text, loc)
        where = f"{self.path}, line {line}" if line else str(self.path)
        dotted = ".".join(str(part) for part in loc)
        return ConfigError(f"{where}: {dotted}: {message}")


def _messages(
    error: ValidationError, model: type[BaseModel] | None
) -> list[tuple[tuple[str | int, ...], str]]:
    """(loc, message) per error, never echoing the input value (it may be a secret)."""
    allowed = ""
    if model is not None:
        names = [info.alias or name for name, info in model.model_fields.items()]
        allowed = f" (allowed: {', '.join(sorted(names))})"
    found = []
    for item in error.errors():
        loc = tuple(item["loc"])
        if item["type"] == "extra_forbidden":
            message = f"unknown key{allowed}"
        elif item.get("ctx", {}).get("pattern") == SECRET_REF_PATTERN:
            message = 'must be an environment reference like "${ANTHROPIC_API_KEY}", not a literal'
        else:
            message = item["msg"]
        found.append((loc, message))
    return found


@dataclass(frozen=True)
class Profile:
    """A named judge or task configuration (validated options, `${VAR}` references unresolved)."""

    kind: Kind
    name: str
    type: str
    options: Any
    """The validated options model (or a dict, for plugins without an options model)."""
    concurrency: int | None = None
    source: Path | None = None

    def describe(self, built: Any = None) -> dict[str, Any]:
        """What a run records about this profile, and the job's identity: type, every option
        (secrets only as their `${VAR}` references), rubric hash. With the built judge or
        task, its own `describe()` (e.g. a resolved prompt) is merged."""
        if isinstance(self.options, BaseModel):
            params = self.options.model_dump(by_alias=True, mode="json")
        else:
            params = dict(self.options)
        described: dict[str, Any] = {"name": self.name, "type": self.type, **_public(params)}
        if hasattr(self.options, "rubric") and hasattr(self.options, "score_range"):
            described["rubric_sha256"] = rubric_hash(self.options)
        if self.concurrency is not None:
            described["concurrency"] = self.concurrency
        describe = getattr(built, "describe", None)
        if callable(describe):
            described.update(_public(describe()))
        return described


def _public(params: Mapping[str, Any]) -> dict[str, Any]:
    """Every option as written: a secret is never a value here, only its `${VAR}` reference
    (options hold references; they are resolved when the judge is built). Header and env
    maps also list their names and the variables they reference."""
    public: dict[str, Any] = {}
    for key, value in params.items():
        if key in ("headers", "env") and isinstance(value, dict):
            public[f"{key}_names"] = sorted(value)
            refs = sorted({n for v in value.values() if isinstance(v, str) for n in env_names(v)})
            public[f"{key}_env"] = refs
        public[key] = value
    return public


def _check_literal_secrets(kind: Kind, name: str, options: Any, source: Source | None) -> None:
    """Header and env values whose names look secret must use `${VAR}` references."""
    for table in ("headers", "env"):
        values = getattr(options, table, None)
        if not isinstance(values, dict):
            continue
        for key, value in values.items():
            if SECRET_NAME.search(key) and not ENV_REF.search(value):
                message = 'secrets must be environment references like "Bearer ${TOKEN}"'
                loc = (f"{kind}s", name, table, key)
                if source is None:
                    raise ConfigError(f"{'.'.join(loc)}: {message}")
                raise source.error(loc, message)


def _validate_profile(
    kind: Kind, name: str, raw: Mapping[str, Any], registry: Registry, source: Source | None
) -> Profile:
    section = f"{kind}s"
    type_name = raw.get("type", name)
    if not isinstance(type_name, str):
        raise _err(source, (section, name, "type"), "must be a string")
    concurrency = raw.get("concurrency")
    if concurrency is not None and (
        not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 1
    ):
        raise _err(source, (section, name, "concurrency"), "must be a positive integer")
    params = {key: value for key, value in raw.items() if key not in COMMON_KEYS}
    try:
        model = registry.options_model(type_name)
    except JudgeError as error:
        where = (section, name, "type") if "type" in raw else (section, name)
        raise _err(source, where, str(error)) from None
    options: Any = params
    if model is not None:
        try:
            options = model.model_validate(params)
        except ValidationError as error:
            loc, message = _messages(error, model)[0]
            raise _err(source, (section, name, *loc), message) from None
    _check_literal_secrets(kind, name, options, source)
    path = source.path if source else None
    return Profile(kind, name, registry.canonical(type_name), options, concurrency, path)


def _err(source: Source | None, loc: Sequence[str | int], message: str) -> ConfigError:
    if source is not None:
        return source.error(loc, message)
    return ConfigError(f"{'.'.join(str(p) for p in loc)}: {message}")


# -- the merged configuration --------------------------------------------------------------


@dataclass
class Config:
    """The merged configuration. Profiles of plugins are validated when first asked for."""

    runner: RunnerSettings = field(default_factory=RunnerSettings)
    prices: PriceTable = field(default_factory=PriceTable)
    sources: list[Path] = field(default_factory=list)
    secrets: Redactor = field(default_factory=Redactor)
    """Every value a judge or task built from this config resolved from `${VAR}`."""
    _raw: dict[Kind, dict[str, tuple[dict[str, Any], Source | None]]] = field(
        default_factory=lambda: {"judge": {}, "task": {}}
    )

    def names(self, kind: Kind) -> list[str]:
        """Profile names written in the files (built-in names work without being listed)."""
        return sorted(self._raw[kind])

    def profile(self, kind: Kind, name: str) -> Profile:
        """The profile `name`; a built-in or plugin type name is a profile of defaults."""
        registry = JUDGES if kind == "judge" else TASKS
        raw, source = self._raw[kind].get(name, ({}, None))
        return _validate_profile(kind, name, raw, registry, source)

    def judge_profile(self, name: str) -> Profile:
        return self.profile("judge", name)

    def task_profile(self, name: str) -> Profile:
        return self.profile("task", name)

    def context(
        self, env: Mapping[str, str] | None = None, prompts: Sequence[Prompt] = ()
    ) -> BuildContext:
        return BuildContext(
            env=dict(os.environ) if env is None else env,
            prices=self.prices,
            prompts=prompts,
            secrets=self.secrets,
        )

    def build_judge(self, profile: Profile | str, *, env: Mapping[str, str] | None = None) -> Judge:
        """Build the judge, resolving `${VAR}` references now (`JudgeError` if one is unset)."""
        profile = self.judge_profile(profile) if isinstance(profile, str) else profile
        return create_judge(profile.type, profile.name, profile.options, self.context(env))

    def build_task(
        self,
        profile: Profile | str,
        *,
        env: Mapping[str, str] | None = None,
        prompts: Sequence[Prompt] = (),
    ) -> Task:
        """Build the task; `prompts` (from `RunStore.list_prompts()`) serve `prompt = "name"`."""
        profile = self.task_profile(profile) if isinstance(profile, str) else profile
        return create_task(profile.type, profile.name, profile.options, self.context(env, prompts))

    def runner_options(
        self, built: Iterable[tuple[Profile, Any]], **overrides: Any
    ) -> RunnerOptions:
        """Runner options for a job over these (profile, judge-or-task) pairs: each backend
        gets the smallest concurrency of the profiles that use it."""
        limits: dict[str, int] = {}
        for profile, obj in built:
            key = backend_key(obj)
            limit = profile.concurrency or self.runner.concurrency
            limits[key] = min(limits.get(key, limit), limit)
        retry = RetryPolicy(
            max_retries=self.runner.max_retries, max_delay_s=self.runner.max_retry_delay_s
        )
        settings: dict[str, Any] = {
            "limits": limits,
            "default_limit": self.runner.concurrency,
            "timeout_s": self.runner.timeout_s,
            "retry": retry,
        }
        return RunnerOptions(**(settings | overrides))

    def merge(self, data: dict[str, Any], source: Source) -> None:
        """Add one parsed file over what is already loaded (validating it)."""
        try:
            parsed = _FileModel.model_validate(data)
        except ValidationError as error:
            loc, message = _messages(error, _FileModel)[0]
            raise source.error(loc, message) from None
        try:
            runner = RunnerSettings.model_validate(parsed.runner)
        except ValidationError as error:
            loc, message = _messages(error, RunnerSettings)[0]
            raise source.error(("runner", *loc), message) from None
        self.runner = self.runner.model_copy(update=runner.model_dump(exclude_unset=True))
        self.prices = self.prices.merged(parsed.prices)
        sections: list[tuple[Kind, dict[str, dict[str, Any]], Registry]] = [
            ("judge", parsed.judges, JUDGES),
            ("task", parsed.tasks, TASKS),
        ]
        for kind, section, registry in sections:
            plugins: set[str] | None = None
            for name, raw in section.items():
                type_name = raw.get("type", name)
                if isinstance(type_name, str) and not registry.is_builtin(type_name):
                    plugins = set(registry.plugins()) if plugins is None else plugins
                    if type_name not in plugins:  # checked without importing any plugin
                        loc = (f"{kind}s", name, "type") if "type" in raw else (f"{kind}s", name)
                        known = ", ".join(registry.available())
                        raise source.error(
                            loc, f"unknown {kind} type {type_name!r}; available: {known}"
                        )
                    continue  # a plugin's options are validated when the profile is used
                _validate_profile(kind, name, raw, registry, source)  # fail at load time
            for name, raw in section.items():
                self._raw[kind][name] = (raw, source)
        self.sources.append(source.path)


def config_paths(
    explicit: Path | None = None, *, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> list[Path]:
    """The files that apply, lowest precedence first (an explicit path must exist)."""
    env = os.environ if env is None else env
    xdg = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME", str(Path.home()))) / ".config")
    paths = [Path(xdg) / "evaltui" / "config.toml", (cwd or Path.cwd()) / LOCAL_FILE]
    found = [path for path in paths if path.is_file()]
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"{explicit}: no such config file")
        found.append(explicit)
    return found


def load_config(
    explicit: Path | None = None, *, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> Config:
    """Read and merge the config files (none is fine: built-in defaults)."""
    config = Config()
    for path in config_paths(explicit, cwd=cwd, env=env):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError(f"{path}: cannot read: {error}") from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{path}: invalid TOML: {error}") from None
        config.merge(data, Source(path, text))
    return config
