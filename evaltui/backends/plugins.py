"""A by-name registry of built-ins plus entry-point plugins, importing only what is asked for.

A registered object is either a class with an `Options` pydantic model and a
`from_options(name, options, context)` classmethod (the built-ins), or any callable
`factory(name=..., **params)`. Built-in names win over a plugin of the same name.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from importlib import import_module
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from pydantic import BaseModel

from evaltui.backends.base import JudgeError
from evaltui.backends.context import BuildContext

log = logging.getLogger(__name__)
_warned: set[tuple[str, str, str]] = set()
"""(group, name, target) of the shadowing plugins already reported: once a process."""


class Registry:
    """Names -> "module:attr" for one kind of plugin (judges or tasks)."""

    def __init__(
        self,
        kind: str,
        group: str,
        builtins: Mapping[str, str],
        options: Mapping[str, type[BaseModel]],
        aliases: Mapping[str, str] | None = None,
    ) -> None:
        self.kind = kind
        self.group = group
        self.builtins = dict(builtins)
        self.builtin_options = dict(options)
        self.aliases = dict(aliases or {})

    def canonical(self, name: str) -> str:
        return self.aliases.get(name, name)

    def is_builtin(self, name: str) -> bool:
        return self.canonical(name) in self.builtins

    def plugins(self) -> dict[str, EntryPoint]:
        """Entry points of the group (read from installed metadata; nothing imported)."""
        found: dict[str, EntryPoint] = {}
        for point in entry_points(group=self.group):
            if point.name in self.builtins or point.name in self.aliases:
                seen = (self.group, point.name, point.value)
                if seen not in _warned:
                    _warned.add(seen)
                    log.warning(
                        "%s plugin %r (%s) shadows a built-in and is ignored",
                        self.kind,
                        point.name,
                        point.value,
                    )
                continue
            found.setdefault(point.name, point)
        return found

    def available(self) -> dict[str, str]:
        """Every name -> its "module:attr" target."""
        names = dict(self.builtins)
        names.update({name: point.value for name, point in self.plugins().items()})
        return dict(sorted(names.items()))

    def load(self, name: str) -> Any:
        """Import and return the class or factory registered as `name` (only that one)."""
        target = self.builtins.get(self.canonical(name))
        if target is not None:
            module, _, attr = target.partition(":")
            return getattr(import_module(module), attr)
        point = self.plugins().get(name)
        if point is None:
            known = ", ".join(self.available())
            raise JudgeError(f"unknown {self.kind} {name!r}; available: {known}")
        try:
            return point.load()
        except Exception as error:
            raise JudgeError(
                f"{self.kind} plugin {name!r} ({point.value}) failed to load: {error}"
            ) from error

    def options_model(self, name: str) -> type[BaseModel] | None:
        """The options model of `name` (built-ins: without importing their backend)."""
        canonical = self.canonical(name)
        if canonical in self.builtin_options:
            return self.builtin_options[canonical]
        model = getattr(self.load(name), "Options", None)
        return model if isinstance(model, type) and issubclass(model, BaseModel) else None

    def create(
        self,
        type_name: str,
        name: str | None = None,
        params: Mapping[str, Any] | BaseModel | None = None,
        context: BuildContext | None = None,
    ) -> Any:
        """Build one instance called `name` (default: the type name) from its options."""
        factory = self.load(type_name)
        name = name or type_name
        context = context or BuildContext()
        if isinstance(params, BaseModel):
            options: Any = params
        else:
            model = getattr(factory, "Options", None)
            raw = dict(params or {})
            if isinstance(model, type) and issubclass(model, BaseModel):
                try:
                    options = model.model_validate(raw)
                except ValueError as error:
                    raise JudgeError(f"{self.kind} {name!r}: {error}") from None
            else:
                options = raw
        if hasattr(factory, "from_options"):
            return factory.from_options(name, options, context)
        if isinstance(options, BaseModel):
            options = options.model_dump(by_alias=True)
        return factory(name=name, **options)
