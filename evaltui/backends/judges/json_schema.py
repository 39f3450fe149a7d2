"""`json_schema`: 1 when the output is JSON valid against a schema, else 0 with the first error.

Uses the `jsonschema` package when it is installed (full JSON Schema), otherwise the small
built-in subset validator (which refuses schemas it cannot fully check).
"""

from __future__ import annotations

import importlib
import json
import time
from pathlib import Path
from typing import Any, ClassVar

from evaltui.backends.base import JudgeError, JudgeInput, Verdict
from evaltui.backends.context import BuildContext
from evaltui.backends.judges.options import JsonSchemaOptions
from evaltui.backends.judges.schema_subset import SchemaError, SubsetValidator


def _reject(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class _FullValidator:
    """The `jsonschema` package behind the same `first_error` interface."""

    def __init__(self, module: Any, schema: Any) -> None:
        cls = module.validators.validator_for(schema)
        try:
            cls.check_schema(schema)
        except module.SchemaError as error:
            raise SchemaError(str(error.message)) from None
        self._validator = cls(schema)

    def first_error(self, instance: Any) -> str | None:
        errors = sorted(self._validator.iter_errors(instance), key=lambda e: list(e.path))
        if not errors:
            return None
        error = errors[0]
        where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.path)
        return f"{where}: {error.message}"


def build_validator(schema: Any, *, prefer_full: bool = True) -> tuple[Any, str]:
    """(validator, its description) for `schema`; raises `JudgeError` on a bad schema."""
    try:
        if prefer_full:
            try:
                module = importlib.import_module("jsonschema")
            except ImportError:
                pass
            else:
                version = getattr(module, "__version__", "?")
                return _FullValidator(module, schema), f"jsonschema {version}"
        return SubsetValidator(schema), "evaltui subset"
    except SchemaError as error:
        raise JudgeError(f"invalid schema: {error}") from None


class JsonSchemaJudge:
    """Scores 1 when the output parses as JSON and validates against the schema."""

    Options: ClassVar[type[JsonSchemaOptions]] = JsonSchemaOptions

    def __init__(self, name: str, schema: Any, *, prefer_full: bool = True) -> None:
        self.name = name
        self.schema = schema
        self._validator, self.validator_name = build_validator(schema, prefer_full=prefer_full)

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
