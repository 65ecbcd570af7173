from __future__ import annotations

from bytespike.simulator.schema_example import example_for_schema, example_object


def test_only_required_properties_get_values_of_their_type() -> None:
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "days": {"type": "integer", "minimum": 3},
            "ratio": {"type": "number"},
            "metric": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "where": {"type": "object", "properties": {"lat": {"type": "number"}}, "required": ["lat"]},
            "optional": {"type": "string"},
        },
        "required": ["city", "days", "ratio", "metric", "tags", "unit", "where"],
    }
    assert example_object(schema) == {
        "city": "city-example",
        "days": 3,
        "ratio": 1.5,
        "metric": True,
        "tags": ["tags-example"],
        "unit": "celsius",
        "where": {"lat": 1.5},
    }


def test_gemini_upper_case_types_and_nullable_unions_are_understood() -> None:
    schema = {
        "type": "OBJECT",
        "properties": {"n": {"type": "INTEGER"}, "s": {"type": ["null", "string"]}},
        "required": ["n", "s"],
    }
    assert example_object(schema) == {"n": 1, "s": "s-example"}


def test_const_default_and_combinators_are_honoured() -> None:
    assert example_for_schema({"const": "fixed"}) == "fixed"
    assert example_for_schema({"type": "integer", "default": 42}) == 42
    assert example_for_schema({"anyOf": [{"type": "boolean"}, {"type": "string"}]}) is True


def test_schema_without_required_gives_an_empty_object() -> None:
    assert example_object({"type": "object", "properties": {"a": {"type": "string"}}}) == {}
    assert example_object({}) == {}
