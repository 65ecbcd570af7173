"""Tool definitions and tool_choice for Anthropic."""

from __future__ import annotations

import pytest

from bytespike.canonical.parts import CacheControl, ToolCallPart, ToolResultPart
from bytespike.canonical.request import ToolChoice, ToolDefinition
from bytespike.errors import GatewayError
from tests.protocols.anthropic_messages.canonical import assistant, encode, request, user


def test_tool_definitions() -> None:
    tools = (
        ToolDefinition(
            "get_weather",
            "Weather",
            {"type": "object", "properties": {"city": {"type": "string"}}},
            True,
            CacheControl(),
        ),
        ToolDefinition("no_args"),
        ToolDefinition("untyped", parameters={"properties": {"x": {"type": "integer"}}}),
    )
    body, dropped = encode(request(tools=tools))
    assert body["tools"] == [
        {
            "name": "get_weather",
            "description": "Weather",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
            "strict": True,
            "cache_control": {"type": "ephemeral"},
        },
        {"name": "no_args", "input_schema": {"type": "object", "properties": {}}},
        {"name": "untyped", "input_schema": {"properties": {"x": {"type": "integer"}}, "type": "object"}},
    ]
    assert not dropped


def test_top_level_combinators_are_merged() -> None:
    # aliargun/mcp-server-gemini #8: Anthropic rejects top-level oneOf/anyOf/allOf.
    params = {
        "anyOf": [
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a", "k"]},
            {"type": "object", "properties": {"b": {"type": "string"}}, "required": ["b", "k"]},
        ],
        "allOf": [{"properties": {"k": {"type": "string"}}, "required": ["k"]}, "junk"],
    }
    body, dropped = encode(request(tools=(ToolDefinition("f", parameters=params),)))
    assert body["tools"][0]["input_schema"] == {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "string"}, "k": {"type": "string"}},
        "required": ["k"],
    }
    assert set(dropped) == {"tools[0].input_schema.anyOf", "tools[0].input_schema.allOf"}


@pytest.mark.parametrize(
    ("tool", "param"),
    [
        (ToolDefinition("mcp.server/search"), "tools[0].name"),
        (ToolDefinition("x" * 129), "tools[0].name"),
        (ToolDefinition(""), "tools[0].name"),  # anomalyco/opencode PR #40210: never a nameless function
        (ToolDefinition("f", parameters={"type": "string"}), "tools[0].parameters"),
        (ToolDefinition("f", parameters={"type": "array", "anyOf": []}), "tools[0].parameters"),
    ],
)
def test_tools_anthropic_cannot_take_are_400s(tool: ToolDefinition, param: str) -> None:
    # home-assistant/core #147760, anthropics/claude-code #96152: name regex and 128-char limit.
    with pytest.raises(GatewayError) as info:
        encode(request(tools=(tool,)))
    assert (info.value.status, info.value.param) == (400, param)


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        (ToolChoice("auto"), {"type": "auto"}),
        (ToolChoice("required", parallel=False), {"type": "any", "disable_parallel_tool_use": True}),
        (
            ToolChoice("tool", "f", parallel=True),
            {"type": "tool", "name": "f", "disable_parallel_tool_use": False},
        ),
        (ToolChoice("none", parallel=False), {"type": "none"}),
    ],
)
def test_tool_choice(choice: ToolChoice, wire: dict) -> None:
    body, dropped = encode(request(tools=(ToolDefinition("f"),), tool_choice=choice))
    assert body["tool_choice"] == wire and not dropped


def test_tool_choice_without_tools() -> None:
    body, dropped = encode(request(tool_choice=ToolChoice("none")))
    assert "tool_choice" not in body and not dropped
    body, dropped = encode(request(tool_choice=ToolChoice("required")))
    assert "tool_choice" not in body and list(dropped) == ["tool_choice"]


def test_forcing_a_nameless_tool_is_a_400() -> None:
    with pytest.raises(GatewayError) as info:
        encode(request(tools=(ToolDefinition("f"),), tool_choice=ToolChoice("tool")))
    assert info.value.param == "tool_choice.name"


def test_foreign_tool_ids_are_sanitized_consistently() -> None:
    # maximhq/bifrost #5097: ids from other vendors break Anthropic's id regex.
    req = request(
        user("q"),
        assistant(
            ToolCallPart("functions.Bash:0", "Bash"),
            ToolCallPart("call_x|y", "Bash"),
            ToolCallPart("toolu_ok", "Bash"),
        ),
        user(ToolResultPart("functions.Bash:0"), ToolResultPart("call_x|y"), ToolResultPart("toolu_ok")),
        tools=(ToolDefinition("Bash"),),
    )
    body, _ = encode(req)
    uses = [b["id"] for b in body["messages"][1]["content"]]
    results = [b["tool_use_id"] for b in body["messages"][2]["content"]]
    assert uses == results
    assert (
        uses[2] == "toolu_ok" and uses[0].startswith("functions_Bash_0_") and uses[1].startswith("call_x_y_")
    )
    again, _ = encode(req)
    assert [b["id"] for b in again["messages"][1]["content"]] == uses
