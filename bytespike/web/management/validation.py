"""A small JSON Schema checker for request bodies, driven by the same schemas the OpenAPI
document publishes, so what the document promises and what the server accepts cannot drift.

Supports the subset the management API uses: ``type`` (one or a list), ``properties``,
``required``, ``additionalProperties`` (false, or a schema for every other member), ``maxProperties``, ``enum``, ``minimum``/``maximum``,
``exclusiveMinimum``, ``minLength``/``maxLength``, ``pattern``, ``items``, ``minItems``/``maxItems``. Errors are 400
``invalid_param`` with ``param`` naming the path of the bad field (``ip_whitelist[2]``).
Strings may not contain NUL characters (PostgreSQL cannot store them).
"""

from __future__ import annotations

import re
from typing import Any

from bytespike.errors import GatewayError

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def _fail(path: str, message: str) -> GatewayError:
    return GatewayError(400, "invalid_param", f"{path or 'body'}: {message}", path or None)


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def validate(value: Any, schema: dict[str, Any], path: str = "") -> None:
    """Raise a 400 naming the first place where ``value`` does not match ``schema``."""
    types = schema.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else list(types)
        if not any(_TYPES[t](value) for t in names):
            raise _fail(path, f"must be of type {' or '.join(names)}")
    if "enum" in schema and value not in schema["enum"]:
        raise _fail(path, f"must be one of {', '.join(map(str, schema['enum']))}")
    if isinstance(value, str):
        if "\x00" in value:
            raise _fail(path, "must not contain NUL characters")
        if len(value) < schema.get("minLength", 0):
            raise _fail(path, f"must be at least {schema['minLength']} characters")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            raise _fail(path, f"must be at most {schema['maxLength']} characters")
        if "pattern" in schema and re.search(schema["pattern"], value) is None:
            raise _fail(path, f"must match {schema['pattern']}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value != value or value in (float("inf"), float("-inf")):
            raise _fail(path, "must be a finite number")
        if "minimum" in schema and value < schema["minimum"]:
            raise _fail(path, f"must be at least {schema['minimum']}")
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            raise _fail(path, f"must be more than {schema['exclusiveMinimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            raise _fail(path, f"must be at most {schema['maximum']}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            raise _fail(path, f"must hold at least {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            raise _fail(path, f"must hold at most {schema['maxItems']} items")
        if "items" in schema:
            for i, item in enumerate(value):
                validate(item, schema["items"], _join(path, i))
    if isinstance(value, dict):
        props: dict[str, Any] = schema.get("properties", {})
        for name in schema.get("required", ()):
            if name not in value:
                raise _fail(_join(path, name), "is required")
        extra = schema.get("additionalProperties")
        if extra is False:
            unknown = sorted(set(value) - set(props))
            if unknown:
                raise _fail(_join(path, unknown[0]), f"unknown field (allowed: {', '.join(sorted(props))})")
        if "maxProperties" in schema and len(value) > schema["maxProperties"]:
            raise _fail(path, f"must hold at most {schema['maxProperties']} entries")
        for name, item in value.items():
            if name in props:
                validate(item, props[name], _join(path, name))
            elif isinstance(extra, dict):
                validate(item, extra, _join(path, name))
