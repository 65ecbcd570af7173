"""Gemini's OpenAPI-3.0 ``Schema`` (``parameters``, ``responseSchema``) → JSON Schema.

Canonical tool parameters and response schemas are JSON Schema. Gemini's older ``Schema`` dialect
differs: upper-case ``type`` enum values (``"OBJECT"``, what the SDK sends), ``nullable``,
``example``, ``propertyOrdering``, int64 counts as strings, snake_case keys. Encoders never convert
back: a JSON Schema goes to Gemini as ``parametersJsonSchema`` / ``responseJsonSchema``, which
keep every keyword (protocols.md §4.2; ``parameters`` rejects ``additionalProperties``, ``$ref``,
``oneOf``…: musistudio/claude-code-router #187, theopenco/llmgateway #1763).
"""

from __future__ import annotations

from typing import Any

from bytespike.protocols.gemini.casing import camel_keys

_COUNTS = ("maxItems", "minItems", "maxLength", "minLength", "maxProperties", "minProperties")
_GEMINI_ONLY = ("propertyOrdering",)


def openapi_to_json_schema(schema: Any) -> Any:
    """The JSON Schema equivalent of a Gemini ``Schema`` object (other values unchanged)."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    nullable = False
    for key, value in camel_keys(schema).items():
        if key == "type" and isinstance(value, str):
            out["type"] = value.lower()
        elif key == "nullable":
            nullable = value is True
        elif key == "example":
            out["examples"] = [value]
        elif key in _GEMINI_ONLY:
            continue
        elif key in _COUNTS and isinstance(value, str) and value.isdigit():
            # int64 fields are strings in proto JSON.
            out[key] = int(value)
        elif key == "properties" and isinstance(value, dict):
            out[key] = {name: openapi_to_json_schema(sub) for name, sub in value.items()}
        elif key == "items":
            out[key] = openapi_to_json_schema(value)
        elif key == "anyOf" and isinstance(value, list):
            out[key] = [openapi_to_json_schema(sub) for sub in value]
        else:
            out[key] = value
    if nullable:
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
        else:
            out["nullable"] = True
    return out
