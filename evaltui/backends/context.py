"""What a judge or task needs at build time besides its options: environment and prices."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from evaltui.backends.base import JudgeError
from evaltui.backends.pricing import NO_PRICES, PriceTable
from evaltui.core.models import Prompt
from evaltui.core.secrets import Redactor

ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class BuildContext:
    """The environment (`${VAR}` references resolve against it), the price table, and the
    store's prompts (read by the caller) for tasks that name a prompt. Every value resolved
    is remembered in `secrets`, which redacts it from what evaltui stores and prints."""

    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    prices: PriceTable = NO_PRICES
    prompts: Sequence[Prompt] = ()
    secrets: Redactor = field(default_factory=Redactor)

    def resolve(self, template: str, *, what: str) -> str:
        """Replace every `${VAR}` in `template`; a missing variable is a `JudgeError`
        naming the variable (never its value)."""

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in self.env:
                raise JudgeError(f"{what}: environment variable {name} is not set")
            self.secrets.add(name, self.env[name])
            return self.env[name]

        return ENV_REF.sub(value, template)

    def note_secret(self, name: str) -> None:
        """Treat `$name` as a secret though no reference resolved it (e.g. a key that an SDK
        reads from the environment itself)."""
        if self.env.get(name):
            self.secrets.add(name, self.env[name])


def env_names(template: str) -> list[str]:
    """The variable names a template references (safe to show: names, not values)."""
    return ENV_REF.findall(template)
