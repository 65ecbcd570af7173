"""Gemini's OpenAPI Schema dialect → JSON Schema."""

from __future__ import annotations

from bytespike.protocols.gemini.schema import openapi_to_json_schema


def test_openapi_schema_becomes_json_schema() -> None:
    schema = {
        "type": "OBJECT",
        "properties": {
            "max_items": {"type": "ARRAY", "items": {"type": "NUMBER"}, "max_items": "4", "min_items": 1},
            "choice": {"any_of": [{"type": "STRING"}, {"type": "INTEGER", "nullable": True}]},
            "loose": {"nullable": True, "description": "no type"},
            "sample": {"type": "STRING", "example": "x", "format": "date"},
        },
        "property_ordering": ["max_items", "choice"],
        "required": ["choice"],
    }
    assert openapi_to_json_schema(schema) == {
        "type": "object",
        "properties": {
            "max_items": {"type": "array", "items": {"type": "number"}, "maxItems": 4, "minItems": 1},
            "choice": {"anyOf": [{"type": "string"}, {"type": ["integer", "null"]}]},
            "loose": {"description": "no type", "nullable": True},
            "sample": {"type": "string", "examples": ["x"], "format": "date"},
        },
        "required": ["choice"],
    }
    assert openapi_to_json_schema(None) is None
