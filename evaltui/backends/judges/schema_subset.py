"""A small JSON Schema (2020-12) validator for the keywords structured outputs use.

Used when the `jsonschema` package is not installed. A schema with a keyword outside the
subset is rejected when the judge is built, never silently half-checked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

APPLICATORS = {"allOf", "anyOf", "oneOf"}
SUBSCHEMA = {
    "not",
    "if",
    "then",
    "else",
    "items",
    "additionalProperties",
    "contains",
    "propertyNames",
}
SCHEMA_MAPS = {"properties", "patternProperties", "$defs", "definitions"}
VALUES = {
    "type",
    "enum",
    "const",
    "required",
    "minProperties",
    "maxProperties",
    "dependentRequired",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minContains",
    "maxContains",
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "$ref",
    "prefixItems",
}
ANNOTATIONS = {
    "$schema",
    "$id",
    "$anchor",
    "$comment",
    "title",
    "description",
    "default",
    "examples",
    "format",
    "deprecated",
    "readOnly",
    "writeOnly",
    "contentMediaType",
    "contentEncoding",
}
SUPPORTED = APPLICATORS | SUBSCHEMA | SCHEMA_MAPS | VALUES | ANNOTATIONS
MAX_DEPTH = 200


class SchemaError(ValueError):
    """The schema uses something this validator does not support, or is malformed."""


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: 1 == 1.0, but true != 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and bool(a == b)


def _is_type(value: Any, name: str) -> bool:
    if name == "null":
        return value is None
    if name == "boolean":
        return isinstance(value, bool)
    if name == "integer":
        return (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and float(value).is_integer()
        )
    if name == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if name == "string":
        return isinstance(value, str)
    if name == "array":
        return isinstance(value, list)
    if name == "object":
        return isinstance(value, dict)
    raise SchemaError(f"unknown type {name!r}")


class SubsetValidator:
    """Validates instances against one schema; `errors(instance)` yields messages."""

    def __init__(self, schema: Any) -> None:
        self.root = schema
        self._patterns: dict[str, re.Pattern[str]] = {}
        self._check(schema, "#")

    # -- schema checking ------------------------------------------------------------------

    def _check(self, schema: Any, at: str) -> None:
        if isinstance(schema, bool):
            return
        if not isinstance(schema, dict):
            raise SchemaError(f"{at}: a schema must be an object or a boolean")
        unknown = sorted(set(schema) - SUPPORTED)
        if unknown:
            raise SchemaError(
                f"{at}: keyword {unknown[0]!r} is not supported by the built-in validator "
                "(install `jsonschema` for full JSON Schema)"
            )
        for key, value in schema.items():
            if key in APPLICATORS or key == "prefixItems":
                if not isinstance(value, list):
                    raise SchemaError(f"{at}/{key}: must be an array of schemas")
                for i, sub in enumerate(value):
                    self._check(sub, f"{at}/{key}/{i}")
            elif key in SUBSCHEMA:
                self._check(value, f"{at}/{key}")
            elif key in SCHEMA_MAPS:
                if not isinstance(value, dict):
                    raise SchemaError(f"{at}/{key}: must be an object")
                for name, sub in value.items():
                    self._check(sub, f"{at}/{key}/{name}")
                if key == "patternProperties":
                    for pattern in value:
                        self._pattern(pattern)
            elif key == "pattern":
                self._pattern(value)
            elif key == "$ref":
                self._resolve(value)
            elif key == "type":
                for name in value if isinstance(value, list) else [value]:
                    _is_type(None, name)

    def _pattern(self, pattern: Any) -> re.Pattern[str]:
        if not isinstance(pattern, str):
            raise SchemaError(f"pattern {pattern!r} is not a string")
        compiled = self._patterns.get(pattern)
        if compiled is None:
            try:
                compiled = self._patterns[pattern] = re.compile(pattern)
            except re.error as error:
                raise SchemaError(f"invalid pattern {pattern!r}: {error}") from None
        return compiled

    def _resolve(self, ref: Any) -> Any:
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise SchemaError(f"$ref {ref!r}: only local references (#/...) are supported")
        node = self.root
        for part in [p for p in ref[1:].split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise SchemaError(f"$ref {ref!r} does not resolve")
        return node

    # -- validation -----------------------------------------------------------------------

    def first_error(self, instance: Any) -> str | None:
        return next(self.errors(instance), None)

    def errors(
        self, instance: Any, schema: Any = None, path: str = "$", depth: int = 0
    ) -> Iterator[str]:
        schema = self.root if schema is None and depth == 0 else schema
        if depth > MAX_DEPTH:
            yield f"{path}: schema recursion too deep"
            return
        if schema is True:
            return
        if schema is False:
            yield f"{path}: no value is allowed here"
            return
        for key, value in schema.items():
            yield from self._keyword(key, value, schema, instance, path, depth)

    def _sub(self, instance: Any, schema: Any, path: str, depth: int) -> Iterator[str]:
        return self.errors(instance, schema, path, depth + 1)

    def _valid(self, instance: Any, schema: Any, path: str, depth: int) -> bool:
        return next(self._sub(instance, schema, path, depth), None) is None

    def _keyword(
        self, key: str, value: Any, schema: dict[str, Any], instance: Any, path: str, depth: int
    ) -> Iterator[str]:
        where = path
        if key == "$ref":
            yield from self._sub(instance, self._resolve(value), path, depth)
        elif key == "type":
            names = value if isinstance(value, list) else [value]
            if not any(_is_type(instance, name) for name in names):
                yield f"{where}: expected {' or '.join(names)}"
        elif key == "enum":
            if not any(json_equal(instance, option) for option in value):
                yield f"{where}: not one of {value!r}"
        elif key == "const":
            if not json_equal(instance, value):
                yield f"{where}: expected {value!r}"
        elif key == "allOf":
            for sub in value:
                yield from self._sub(instance, sub, path, depth)
        elif key == "anyOf":
            if not any(self._valid(instance, sub, path, depth) for sub in value):
                yield f"{where}: matches none of anyOf"
        elif key == "oneOf":
            matches = sum(self._valid(instance, sub, path, depth) for sub in value)
            if matches != 1:
                yield f"{where}: matches {matches} of oneOf (exactly 1 required)"
        elif key == "not":
            if self._valid(instance, value, path, depth):
                yield f"{where}: must not match the `not` schema"
        elif key == "if":
            branch = "then" if self._valid(instance, value, path, depth) else "else"
            if branch in schema:
                yield from self._sub(instance, schema[branch], path, depth)
        elif isinstance(instance, dict):
            yield from self._object(key, value, schema, instance, path, depth)
        elif isinstance(instance, list):
            yield from self._array(key, value, schema, instance, path, depth)
        elif isinstance(instance, str):
            yield from self._string(key, value, instance, where)
        elif _is_type(instance, "number"):
            yield from self._number(key, value, instance, where)

    def _object(
        self,
        key: str,
        value: Any,
        schema: dict[str, Any],
        instance: dict[str, Any],
        path: str,
        depth: int,
    ) -> Iterator[str]:
        where = path
        if key == "required":
            for name in value:
                if name not in instance:
                    yield f"{where}: missing required property {name!r}"
        elif key == "properties":
            for name, sub in value.items():
                if name in instance:
                    yield from self._sub(instance[name], sub, f"{path}.{name}", depth)
        elif key == "patternProperties":
            for pattern, sub in value.items():
                for name in instance:
                    if self._pattern(pattern).search(name):
                        yield from self._sub(instance[name], sub, f"{path}.{name}", depth)
        elif key == "additionalProperties":
            known = set(schema.get("properties", {}))
            patterns = [self._pattern(p) for p in schema.get("patternProperties", {})]
            for name in instance:
                if name in known or any(p.search(name) for p in patterns):
                    continue
                if value is False:
                    yield f"{where}: unexpected property {name!r}"
                else:
                    yield from self._sub(instance[name], value, f"{path}.{name}", depth)
        elif key == "propertyNames":
            for name in instance:
                yield from self._sub(name, value, f"{path}.{name}", depth)
        elif key == "minProperties" and len(instance) < value:
            yield f"{where}: fewer than {value} properties"
        elif key == "maxProperties" and len(instance) > value:
            yield f"{where}: more than {value} properties"
        elif key == "dependentRequired":
            for name, needed in value.items():
                if name in instance:
                    for other in needed:
                        if other not in instance:
                            yield f"{where}: {name!r} requires {other!r}"

    def _array(
        self,
        key: str,
        value: Any,
        schema: dict[str, Any],
        instance: list[Any],
        path: str,
        depth: int,
    ) -> Iterator[str]:
        where = path
        if key == "prefixItems":
            for i, (item, sub) in enumerate(zip(instance, value, strict=False)):
                yield from self._sub(item, sub, f"{path}[{i}]", depth)
        elif key == "items":
            start = len(schema.get("prefixItems", []))
            for i in range(start, len(instance)):
                yield from self._sub(instance[i], value, f"{path}[{i}]", depth)
        elif key == "contains":
            found = sum(self._valid(item, value, path, depth) for item in instance)
            low = schema.get("minContains", 1)
            high = schema.get("maxContains")
            if found < low or (high is not None and found > high):
                yield f"{where}: {found} items match `contains`"
        elif key == "minItems" and len(instance) < value:
            yield f"{where}: fewer than {value} items"
        elif key == "maxItems" and len(instance) > value:
            yield f"{where}: more than {value} items"
        elif key == "uniqueItems" and value:
            for i, item in enumerate(instance):
                if any(json_equal(item, other) for other in instance[:i]):
                    yield f"{where}: items are not unique"
                    break

    def _string(self, key: str, value: Any, instance: str, where: str) -> Iterator[str]:
        if key == "minLength" and len(instance) < value:
            yield f"{where}: shorter than {value} characters"
        elif key == "maxLength" and len(instance) > value:
            yield f"{where}: longer than {value} characters"
        elif key == "pattern" and not self._pattern(value).search(instance):
            yield f"{where}: does not match {value!r}"

    def _number(self, key: str, value: Any, instance: float, where: str) -> Iterator[str]:
        if key == "minimum" and instance < value:
            yield f"{where}: less than {value}"
        elif key == "maximum" and instance > value:
            yield f"{where}: greater than {value}"
        elif key == "exclusiveMinimum" and instance <= value:
            yield f"{where}: not greater than {value}"
        elif key == "exclusiveMaximum" and instance >= value:
            yield f"{where}: not less than {value}"
        elif key == "multipleOf":
            quotient = instance / value
            if not float(quotient).is_integer():
                yield f"{where}: not a multiple of {value}"
