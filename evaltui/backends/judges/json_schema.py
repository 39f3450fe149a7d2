"""`json_schema`: 1 when the output is JSON valid against a schema, else 0 with the first error.

The engine is the `jsonschema` package (every draft it knows; 2020-12 when the schema names
none). References must be local (`#...`): a schema is never fetched from the network.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any, ClassVar

import jsonschema
from jsonschema import validators
from referencing import Registry
from referencing.exceptions import NoSuchResource, Unresolvable

from evaltui.backends.base import JudgeError, JudgeInput, Verdict
from evaltui.backends.context import BuildContext
from evaltui.backends.judges.options import JsonSchemaOptions


def _reject(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _no_retrieval(uri: str) -> Any:
    raise NoSuchResource(ref=uri)  # type: ignore[call-arg]


_LOCAL_ONLY: Registry[Any] = Registry(retrieve=_no_retrieval)  # type: ignore[call-arg]


def _remote_refs(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key in ("$ref", "$dynamicRef") and isinstance(value, str):
                if not value.startswith("#"):
                    yield value
            elif key not in ("enum", "const", "examples", "default"):
                yield from _remote_refs(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from _remote_refs(item)


class Validator:
    """A checked schema; `first_error` names the first failing path and why."""

    def __init__(self, schema: Any) -> None:
        if not isinstance(schema, dict | bool):
            raise JudgeError("invalid schema: a schema is a JSON object or a boolean")
        remote = next(_remote_refs(schema), None)
        if remote is not None:
            raise JudgeError(f"invalid schema: only local references (#...) are taken: {remote}")
        cls = validators.validator_for(schema, default=validators.Draft202012Validator)
        try:
            cls.check_schema(schema)  # type: ignore[arg-type]  # a bool is a schema too
        except jsonschema.SchemaError as error:
            raise JudgeError(f"invalid schema: {error.message}") from None
        self._validator = cls(schema, registry=_LOCAL_ONLY)

    def first_error(self, instance: Any) -> str | None:
        try:
            errors = sorted(self._validator.iter_errors(instance), key=lambda e: list(e.path))
        except Unresolvable as error:  # a local $ref to nowhere: the schema is wrong
            raise JudgeError(f"invalid schema: cannot resolve {error}") from None
        if not errors:
            return None
        first = errors[0]
        where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first.path)
        return f"{where}: {first.message}"


def build_validator(schema: Any) -> tuple[Validator, str]:
    """(validator, its description) for `schema`; raises `JudgeError` on a bad schema."""
    return Validator(schema), f"jsonschema {version('jsonschema')}"


class JsonSchemaJudge:
    """Scores 1 when the output parses as JSON and validates against the schema."""

    Options: ClassVar[type[JsonSchemaOptions]] = JsonSchemaOptions

    def __init__(self, name: str, schema: Any) -> None:
        self.name = name
        self.schema = schema
        self._validator, self.validator_name = build_validator(schema)

    @classmethod
    def from_options(cls, name: str, options: Any, context: BuildContext) -> JsonSchemaJudge:
        assert isinstance(options, JsonSchemaOptions)
        schema = options.json_schema
        if options.schema_file is not None:
            try:
                schema = json.loads(Path(options.schema_file).read_text(encoding="utf-8"))
            except (OSError, ValueError) as error:
                raise JudgeError(
                    f"{name}: cannot read schema {options.schema_file}: {error}"
                ) from None
        return cls(name, schema)

    def describe(self) -> dict[str, Any]:
        return {"schema": self.schema, "validator": self.validator_name}

    async def evaluate(self, case: JudgeInput) -> Verdict:
        start = time.perf_counter()
        score, reason = self.score(case.output_text)
        return Verdict(
            judge=self.name,
            score=score,
            reason=reason,
            cost_usd=0.0,
            latency_s=time.perf_counter() - start,
        )

    def score(self, output: str) -> tuple[float, str | None]:
        try:
            instance = json.loads(output, parse_constant=_reject)
        except (ValueError, RecursionError):
            return 0.0, "Failed to parse JSON"
        error = self._validator.first_error(instance)
        if error is None:
            return 1.0, None
        return 0.0, f"Output does not match the schema: {error}"
