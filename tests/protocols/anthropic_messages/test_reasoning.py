"""Canonical reasoning and response format → ``thinking`` / ``output_config`` for Anthropic."""

from __future__ import annotations

import pytest

from bytespike.canonical.parts import ThinkingPart, ToolCallPart, ToolResultPart
from bytespike.canonical.request import Reasoning, ResponseFormat, ToolChoice, ToolDefinition
from tests.protocols.anthropic_messages.canonical import assistant, encode, request, user


@pytest.mark.parametrize(
    ("reasoning", "thinking", "effort", "dropped"),
    [
        (Reasoning(effort="high"), None, "high", []),
        (Reasoning(enabled=True, effort="medium"), {"type": "adaptive"}, "medium", []),
        (
            Reasoning(enabled=True, include_thoughts=True),
            {"type": "adaptive", "display": "summarized"},
            None,
            [],
        ),
        (Reasoning(enabled=False), {"type": "disabled"}, None, []),
        (Reasoning(enabled=False, include_thoughts=True), {"type": "disabled"}, None, []),
        (Reasoning(effort="none"), {"type": "disabled"}, None, []),
        (Reasoning(effort="minimal"), None, "low", ["output_config.effort"]),
        (Reasoning(effort="turbo"), None, None, ["output_config.effort"]),
        (Reasoning(budget_tokens=0), {"type": "disabled"}, None, []),
        (
            Reasoning(budget_tokens=2048, include_thoughts=False),
            {"type": "enabled", "budget_tokens": 2048, "display": "omitted"},
            None,
            [],
        ),
        (
            Reasoning(budget_tokens=500),
            {"type": "enabled", "budget_tokens": 1024},
            None,
            ["thinking.budget_tokens"],
        ),
        (
            Reasoning(budget_tokens=9000),
            {"type": "enabled", "budget_tokens": 7999},
            None,
            ["thinking.budget_tokens"],
        ),
    ],
)
def test_reasoning(
    reasoning: Reasoning, thinking: dict | None, effort: str | None, dropped: list[str]
) -> None:
    body, deg = encode(request(reasoning=reasoning, max_tokens=8000))
    assert body.get("thinking") == thinking
    assert body.get("output_config", {}).get("effort") == effort
    assert list(deg) == dropped


def test_budget_without_max_tokens_gets_room_to_answer() -> None:
    body, _ = encode(request(reasoning=Reasoning(budget_tokens=10000)))
    assert body["max_tokens"] == 10000 + 4096 and body["thinking"]["budget_tokens"] == 10000
    plain, _ = encode(request())
    assert plain["max_tokens"] == 4096


def test_budget_with_a_tiny_max_tokens_becomes_adaptive() -> None:
    body, dropped = encode(
        request(reasoning=Reasoning(enabled=True, budget_tokens=4000, include_thoughts=True), max_tokens=800)
    )
    assert body["thinking"] == {"type": "adaptive", "display": "summarized"} and body["max_tokens"] == 800
    assert list(dropped) == ["thinking.budget_tokens"]


def test_enabled_thinking_is_dropped_when_the_tool_turn_has_no_anthropic_thinking() -> None:
    history = (
        user("q"),
        assistant(
            ThinkingPart("gpt thoughts", signature="x", signature_protocol="openai_responses"),
            ToolCallPart("c", "f"),
        ),
        user(ToolResultPart("c")),
    )
    body, dropped = encode(request(*history, reasoning=Reasoning(budget_tokens=2000), max_tokens=4000))
    assert "thinking" not in body
    assert set(dropped) == {"messages[1].content[0].thinking", "thinking"}
    adaptive, _ = encode(request(*history, reasoning=Reasoning(enabled=True), max_tokens=4000))
    assert adaptive["thinking"] == {"type": "adaptive"}


def test_thinking_restricts_sampling_and_forced_tools() -> None:
    req = request(
        reasoning=Reasoning(enabled=True),
        temperature=0.2,
        top_p=0.5,
        top_k=10,
        tools=(ToolDefinition("f"),),
        tool_choice=ToolChoice("tool", "f"),
    )
    body, dropped = encode(req)
    assert not {"temperature", "top_p", "top_k"} & set(body)
    assert body["tool_choice"] == {"type": "auto"}
    assert set(dropped) == {"temperature", "top_p", "top_k", "tool_choice"}
    ok, dropped_ok = encode(request(reasoning=Reasoning(enabled=True), temperature=1, top_p=0.95))
    assert (ok["temperature"], ok["top_p"], dropped_ok) == (1, 0.95, {})


def test_response_formats() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    body, dropped = encode(
        request(response_format=ResponseFormat("json_schema", schema, name="out", strict=True))
    )
    assert body["output_config"] == {"format": {"type": "json_schema", "schema": schema}} and not dropped
    body, dropped = encode(request(response_format=ResponseFormat("json_object")))
    assert "output_config" not in body and list(dropped) == ["response_format"]
    body, dropped = encode(request(response_format=ResponseFormat("text")))
    assert "output_config" not in body and not dropped
