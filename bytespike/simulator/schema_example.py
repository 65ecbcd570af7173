"""Deterministic example values that satisfy a tool's JSON schema.

The simulator's tool calls must carry arguments a client can validate, so each call's input is
built from the offered schema: every ``required`` property gets a simple value of its declared
type (first ``enum`` member, ``const``, or ``default`` when given). Accepts JSON Schema and
Gemini's OpenAPI subset (upper-case type names).
"""

from __future__ import annotations

from collections.abc import Mapping

_MAX_DEPTH = 8
"""Recursive schemas ($ref cycles are not followed, but nesting can still be deep)."""


def example_for_schema(schema: object, name: str = "value", depth: int = 0) -> object:
    """Return a JSON value valid for ``schema``; ``name`` seeds string values."""
    if not isinstance(schema, Mapping) or depth > _MAX_DEPTH:
        return f"{name}-example"
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    if "default" in schema:
        return schema["default"]
    for combinator in ("anyOf", "oneOf", "allOf"):
        options = schema.get(combinator)
        if isinstance(options, list) and options:
            return example_for_schema(options[0], name, depth + 1)
    match _schema_type(schema):
        case "object":
            return example_object(schema, depth)
        case "array":
            minimum = schema.get("minItems")
            count = minimum if isinstance(minimum, int) and minimum > 0 else 1
            return [example_for_schema(schema.get("items"), name, depth + 1) for _ in range(count)]
        case "integer":
            return _bounded_number(schema, 1)
        case "number":
            return _bounded_number(schema, 1.5)
        case "boolean":
            return True
        case "null":
            return None
        case _:
            return f"{name}-example"


def example_object(schema: Mapping[str, object], depth: int = 0) -> dict[str, object]:
    """An object holding exactly the schema's ``required`` properties."""
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        properties = {}
    required = schema.get("required")
    if not isinstance(required, list):
        return {}
    return {
        key: example_for_schema(properties.get(key), key, depth + 1)
        for key in required
        if isinstance(key, str)
    }


def _schema_type(schema: Mapping[str, object]) -> str:
    declared = schema.get("type")
    if isinstance(declared, list):
        declared = next((t for t in declared if isinstance(t, str) and t.lower() != "null"), None)
    if isinstance(declared, str):
        return declared.lower()
    if "properties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return "string"


def _bounded_number(schema: Mapping[str, object], fallback: int | float) -> int | float:
    minimum = schema.get("minimum")
    if isinstance(minimum, int | float) and not isinstance(minimum, bool):
        return minimum
    maximum = schema.get("maximum")
    if isinstance(maximum, int | float) and not isinstance(maximum, bool) and maximum < fallback:
        return maximum
    return fallback
