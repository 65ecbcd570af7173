"""Encoding canonical requests that other protocols decoded: what OpenAI Responses receives,
what is reported as dropped, what is refused, and the protocols.md §7 bug classes."""

from __future__ import annotations

from typing import Any

import pytest

from bytespike.canonical.degradation import Degradations, StrictModeViolation
from bytespike.canonical.parts import (
    CacheControl,
    MediaPart,
    OpaquePart,
    ProviderData,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolResultPart,
)
from bytespike.canonical.request import (
    Message,
    Reasoning,
    Request,
    ResponseFormat,
    ToolChoice,
    ToolDefinition,
)
from bytespike.errors import GatewayError
from bytespike.protocols.openai_responses import NAME
from bytespike.protocols.openai_responses.requests import (
    check_request,
    decode_request,
    encode_request,
    require_translatable,
)
from bytespike.protocols.openai_responses.tools import tool_name_map, wire_call_id, wire_tool_name
from tests.protocols.openai_responses.support import load, validate_request

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def encode(req: Request, deg: Degradations | None = None) -> dict[str, Any]:
    body = encode_request(req, model="gpt-5-4", deg=deg if deg is not None else Degradations())
    validate_request(body)
    check_request(body)
    return body


def anthropic_like() -> Request:
    """What an Anthropic Messages decoder produces for a Claude Code style turn."""
    return Request(
        model="claude-sonnet-4-6",
        system=(TextPart("You are Claude Code.", cache_control=CacheControl("1h")), TextPart("Be brief.")),
        messages=(
            Message(
                "user",
                (
                    TextPart("Look at these."),
                    MediaPart("image", "image/png", data=PNG),
                    MediaPart("document", "application/pdf", data="JVBERi0=", title="Spec"),
                ),
            ),
            Message(
                "assistant",
                (
                    ThinkingPart(
                        "Two lookups.", signature="EqQBCkYIBxgC", signature_protocol="anthropic_messages"
                    ),
                    TextPart("Checking."),
                    ToolCallPart("toolu_01A", "get_weather", {"city": "Paris"}),
                    ToolCallPart("toolu_01B", "get_weather", {"city": "Rome"}),
                ),
            ),
            Message(
                "user",
                (
                    ToolResultPart("toolu_01A", (TextPart("18C"),)),
                    ToolResultPart("toolu_01B", (TextPart("service down"),), is_error=True),
                    TextPart("And tomorrow?", cache_control=CacheControl()),
                ),
            ),
        ),
        tools=(ToolDefinition("get_weather", "Weather", SCHEMA, cache_control=CacheControl()),),
        tool_choice=ToolChoice("auto", parallel=False),
        max_tokens=4096,
        temperature=0.5,
        top_k=40,
        stop=("\n\nHuman:",),
        reasoning=Reasoning(enabled=True, budget_tokens=10000),
        user_id="u-1",
        stream=True,
    )


def test_anthropic_turn_snapshot() -> None:
    deg = Degradations()
    body = encode(anthropic_like(), deg)
    assert body == {
        "model": "gpt-5-4",
        "instructions": "You are Claude Code.\n\nBe brief.",
        "input": [
            {
                "type": "message",
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "Look at these."},
                    {"type": "input_image", "detail": "auto", "image_url": f"data:image/png;base64,{PNG}"},
                    {
                        "type": "input_file",
                        "file_data": "data:application/pdf;base64,JVBERi0=",
                        "filename": "document.pdf",
                    },
                ],
            },
            {"type": "message", "role": "assistant", "content": "Checking."},
            {
                "type": "function_call",
                "call_id": "toolu_01A",
                "name": "get_weather",
                "arguments": '{"city":"Paris"}',
            },
            {
                "type": "function_call",
                "call_id": "toolu_01B",
                "name": "get_weather",
                "arguments": '{"city":"Rome"}',
            },
            {"type": "function_call_output", "call_id": "toolu_01A", "output": "18C"},
            {"type": "function_call_output", "call_id": "toolu_01B", "output": "Error: service down"},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "And tomorrow?"}]},
        ],
        "tools": [
            {
                "type": "function",
                "name": "get_weather",
                "description": "Weather",
                "parameters": SCHEMA,
                "strict": False,
            }
        ],
        "parallel_tool_calls": False,
        "tool_choice": "auto",
        "max_output_tokens": 4096,
        "temperature": 0.5,
        "stream": True,
        "reasoning": {"effort": "medium"},
        "user": "u-1",
    }
    assert [f for f, _ in deg.dropped] == [
        "system[0].cache_control",
        "messages[0].parts[2].title",
        "messages[1].parts[0]",
        "messages[2].parts[2].cache_control",
        "tools[0].cache_control",
        "top_k",
        "stop",
    ]
    assert deg.header_value() == ", ".join(f for f, _ in deg.dropped)


def test_strict_mode_turns_the_first_drop_into_a_400() -> None:
    with pytest.raises(StrictModeViolation) as info:
        encode_request(anthropic_like(), model="gpt-5-4", deg=Degradations(strict=True))
    assert info.value.field == "system[0].cache_control"


# --- protocols.md §7 regressions -------------------------------------------------------------


def test_foreign_thinking_signatures_never_reach_openai() -> None:
    # QuantumNous/new-api #2660, ding113/claude-code-hub #518, NousResearch/hermes-agent #24401,
    # openclaw/openclaw #91205: a signature issued by one vendor replayed to another.
    deg = Degradations()
    body = encode(anthropic_like(), deg)
    assert "EqQBCkYIBxgC" not in str(body) and "reasoning" not in [i.get("type") for i in body["input"]]
    assert (
        "messages[1].parts[0]",
        "reasoning from anthropic_messages cannot be replayed to OpenAI",
    ) in deg.dropped
    gemini = ThinkingPart("t", provider_data=ProviderData("gemini", {"thoughtSignature": "abc"}))
    unsigned = ThinkingPart("deepseek reasoning")
    req = Request("m", (Message("assistant", (gemini, unsigned, ThinkingPart(), TextPart("x"))),))
    deg = Degradations()
    assert encode(req, deg)["input"] == [{"type": "message", "role": "assistant", "content": "x"}]
    assert [f for f, _ in deg.dropped] == ["messages[0].parts[0]", "messages[0].parts[1]"]


def test_openai_reasoning_is_replayed_to_openai() -> None:
    own = ThinkingPart("sum", "enc", NAME, provider_data=ProviderData(NAME, {"item": {"id": "rs_1"}}))
    signed_only = ThinkingPart("", "enc2", NAME)  # ResponseReasoningItemParam requires the id
    no_id = ThinkingPart("x", provider_data=ProviderData(NAME, {"summary": []}))
    deg = Degradations()
    body = encode(Request("m", (Message("assistant", (own, signed_only, no_id)),)), deg)
    assert body["input"] == [
        {
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": "sum"}],
            "encrypted_content": "enc",
            "id": "rs_1",
        },
    ]
    assert [f for f, _ in deg.dropped] == ["messages[0].parts[1]", "messages[0].parts[2]"]


def test_every_tool_result_survives_with_its_call_id() -> None:
    # openai/codex #7051: a call whose result went missing makes the upstream refuse the turn.
    body = encode(anthropic_like())
    calls = [i["call_id"] for i in body["input"] if i["type"] == "function_call"]
    outputs = [i["call_id"] for i in body["input"] if i["type"] == "function_call_output"]
    assert calls == outputs == ["toolu_01A", "toolu_01B"]


def test_foreign_ids_are_sanitized_the_same_way_for_call_and_result() -> None:
    # maximhq/bifrost #5097: ids outside the target's alphabet; Gemini-style names with "." and ":"
    # (home-assistant/core #147760, anthropics/claude-code #96152).
    odd_id, odd_name, long_name = "call.1/x=", "mcp.files:read", "t" * 100
    req = Request(
        "m",
        (
            Message("assistant", (ToolCallPart(odd_id, odd_name, {}), ToolCallPart("ok_id", long_name, {}))),
            Message("user", (ToolResultPart(odd_id, (TextPart("r"),), name=odd_name),)),
        ),
        tools=(ToolDefinition(odd_name, parameters=SCHEMA), ToolDefinition(long_name)),
        tool_choice=ToolChoice("tool", odd_name),
    )
    body = encode(req)
    call, call2, result = body["input"]
    assert call["call_id"] == result["call_id"] == wire_call_id(odd_id) != odd_id
    assert call2["call_id"] == "ok_id"
    assert call["name"] == result["name"] == body["tools"][0]["name"] == body["tool_choice"]["name"]
    assert len(call2["name"]) <= 64 and call2["name"] == wire_tool_name(long_name)
    assert wire_tool_name("get_weather") == "get_weather"
    assert tool_name_map(req) == {wire_tool_name(odd_name): odd_name, wire_tool_name(long_name): long_name}


def test_tool_schema_is_passed_verbatim() -> None:
    # BerriAI/litellm #30557: a tool's own "type" overwrote parameters.type.
    schema = {"type": "object", "properties": {"type": {"type": "string"}}}
    body = encode(Request("m", (), tools=(ToolDefinition("f", parameters=schema, strict=True),)))
    assert body["tools"] == [{"type": "function", "name": "f", "parameters": schema, "strict": True}]


def test_inline_system_messages_keep_their_place() -> None:
    # fuergaosi233/claude-code-proxy #83, nyroway/nyro PR #217 …: Claude Code ≥2.1.154 sends
    # role "system" inside messages.
    req = Request(
        "m",
        (
            Message("user", (TextPart("a"),)),
            Message("system", (TextPart("rule"),)),
            Message("user", (TextPart("b"),)),
        ),
    )
    assert [i["role"] for i in encode(req)["input"]] == ["user", "system", "user"]


def test_codex_web_search_tool_stays_hosted() -> None:
    # anomalyco/opencode PR #40210: Codex always sends web_search; turning it into a nameless
    # function broke the upstream.
    body = load("request_stateful.json")
    req = decode_request(body)
    assert all(t.name for t in req.tools) and req.tools == ()
    assert encode_request(req, model="x", deg=Degradations(strict=True))["tools"] == [{"type": "web_search"}]


# --- parameters -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reasoning", "expected", "dropped"),
    [
        (Reasoning(enabled=False), {"effort": "none"}, []),
        (Reasoning(effort="xhigh"), {"effort": "xhigh"}, []),
        (Reasoning(effort="ultra"), {}, ["reasoning.effort"]),
        (Reasoning(enabled=True, budget_tokens=1024), {"effort": "low"}, []),
        (Reasoning(enabled=True, budget_tokens=16384), {"effort": "medium"}, []),
        (
            Reasoning(enabled=True, budget_tokens=31999, include_thoughts=True),
            {"effort": "high", "summary": "auto"},
            [],
        ),
        (Reasoning(enabled=True), {}, []),
    ],
)
def test_reasoning_mapping(reasoning: Reasoning, expected: dict[str, Any], dropped: list[str]) -> None:
    deg = Degradations()
    assert encode(Request("m", (), reasoning=reasoning), deg)["reasoning"] == expected
    assert [f for f, _ in deg.dropped] == dropped


def test_response_formats_and_small_max_tokens() -> None:
    deg = Degradations()
    body = encode(
        Request(
            "m", (), response_format=ResponseFormat("json_schema"), max_tokens=1, cache_control=CacheControl()
        ),
        deg,
    )
    assert body["text"] == {
        "format": {"type": "json_schema", "name": "response", "schema": {"type": "object"}}
    }
    assert body["max_output_tokens"] == 16
    assert [f for f, _ in deg.dropped] == ["max_tokens", "cache_control"]
    assert encode(Request("m", (), response_format=ResponseFormat("json_object")))["text"] == {
        "format": {"type": "json_object"}
    }


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        (ToolChoice("required"), "required"),
        (ToolChoice("none"), "none"),
        (ToolChoice("tool"), "required"),
        (ToolChoice("tool", "f"), {"type": "function", "name": "f"}),
    ],
)
def test_tool_choice(choice: ToolChoice, wire: Any) -> None:
    body = encode(Request("m", (), tools=(ToolDefinition("f", parameters=SCHEMA),), tool_choice=choice))
    assert body["tool_choice"] == wire and "parallel_tool_calls" not in body


# --- content --------------------------------------------------------------------------------


def test_media_forms() -> None:
    parts = (
        MediaPart("image", None, data="/9j/4AAQ"),
        MediaPart("image", url="https://x/y.png", cache_control=CacheControl()),
        MediaPart("image", file_id="file-123"),
        MediaPart("document", url="https://x/a.pdf", filename="a.pdf"),
        MediaPart("document", "text/plain", data="aGk="),
        MediaPart("document", file_id="file-9"),
    )
    deg = Degradations()
    content = encode(Request("m", (Message("user", parts),)), deg)["input"][0]["content"]
    assert content == [
        {"type": "input_image", "detail": "auto", "image_url": "data:image/jpeg;base64,/9j/4AAQ"},
        {"type": "input_image", "detail": "auto", "image_url": "https://x/y.png"},
        {"type": "input_image", "detail": "auto", "file_id": "file-123"},
        {"type": "input_file", "file_url": "https://x/a.pdf", "filename": "a.pdf"},
        {"type": "input_file", "file_data": "data:text/plain;base64,aGk=", "filename": "document.txt"},
        {"type": "input_file", "file_id": "file-9"},
    ]
    assert [f for f, _ in deg.dropped] == ["messages[0].parts[1].cache_control"]


@pytest.mark.parametrize(
    ("part", "param"),
    [
        (MediaPart("image", "image/png", file_id="file_011Anthropic"), "messages[0].parts[0]"),
        (MediaPart("document", file_id="files/gemini-abc"), "messages[0].parts[0]"),
        (MediaPart("image"), "messages[0].parts[0]"),
        (MediaPart("audio", "audio/wav", data="UklGR"), "messages[0].parts[0]"),
        (MediaPart("video", "video/mp4", url="https://v"), "messages[0].parts[0]"),
    ],
)
def test_content_that_would_be_lost_is_a_400(part: MediaPart, param: str) -> None:
    with pytest.raises(GatewayError) as info:
        encode_request(Request("m", (Message("user", (part,)),)), model="m", deg=Degradations())
    assert (info.value.status, info.value.param) == (400, param)


def test_tool_result_shapes() -> None:
    results = (
        ToolResultPart("a", ()),
        ToolResultPart("b", (), is_error=True),
        ToolResultPart("c", (TextPart("see"), MediaPart("image", "image/png", data=PNG)), is_error=True),
        ToolResultPart("d", (TextPart("x", cache_control=CacheControl()),), cache_control=CacheControl()),
    )
    deg = Degradations()
    items = encode(Request("m", (Message("user", results),)), deg)["input"]
    assert [i["output"] for i in items] == [
        "",
        "Error:",
        [
            {"type": "input_text", "text": "Error:"},
            {"type": "input_text", "text": "see"},
            {"type": "input_image", "detail": "auto", "image_url": f"data:image/png;base64,{PNG}"},
        ],
        "x",
    ]
    assert [f for f, _ in deg.dropped] == [
        "messages[0].parts[3].cache_control",
        "messages[0].parts[3].content[0].cache_control",
    ]


def test_what_an_assistant_turn_cannot_hold_is_dropped() -> None:
    parts = (
        TextPart(
            "a",
            provider_data=ProviderData(
                NAME, {"refusal": True, "item": {"id": "msg_1", "status": "completed"}}
            ),
        ),
        MediaPart("image", "image/png", data=PNG),
        OpaquePart("anthropic_messages", {"type": "server_tool_use"}),
        OpaquePart("gemini", {"executableCode": {}}),
        ToolCallPart("c", "f", {}, cache_control=CacheControl()),
    )
    deg = Degradations()
    items = encode(Request("m", (Message("assistant", parts), Message("user", ()))), deg)["input"]
    assert items == [
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "refusal", "refusal": "a"}],
            "id": "msg_1",
            "status": "completed",
        },
        {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"},
    ]
    assert [f for f, _ in deg.dropped] == [
        "messages[0].parts[1]",
        "messages[0].parts[2]",
        "messages[0].parts[3]",
        "messages[0].parts[4].cache_control",
    ]


def test_foreign_opaque_content_in_a_user_turn_is_dropped() -> None:
    deg = Degradations()
    part = OpaquePart("anthropic_messages", {"type": "search_result"})
    assert encode(Request("m", (Message("user", (part, TextPart("q"))),)), deg)["input"][0]["content"] == [
        {"type": "input_text", "text": "q"}
    ]
    assert [f for f, _ in deg.dropped] == ["messages[0].parts[0]"]


def test_empty_system_text_is_not_sent() -> None:
    assert "instructions" not in encode(Request("m", (), system=(TextPart(""),)))


# --- translation guard ------------------------------------------------------------------------


def test_require_translatable_reports_hints_and_drops_web_search() -> None:
    body = {
        "model": "m",
        "input": "hi",
        "tools": [{"type": "web_search"}],
        "store": False,
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "k",
        "previous_response_id": "resp_1",
        "top_logprobs": 2,
        "text": {"verbosity": "low"},
    }
    deg = Degradations()
    require_translatable(decode_request(body), deg)
    # store and previous_response_id are the gateway's own (its response store); the others
    # ask for what no other vendor does (encrypted reasoning, OpenAI's prompt-cache routing).
    assert [f for f, _ in deg.dropped] == [
        "tools[0]",
        "include",
        "prompt_cache_key",
        "top_logprobs",
        "text.verbosity",
    ]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"tools": [{"type": "file_search", "vector_store_ids": ["vs"]}]}, "tools[0]"),
        ({"tool_choice": {"type": "web_search"}}, "tool_choice"),
        ({"tool_choice": {"type": "allowed_tools", "mode": "required", "tools": []}}, "tool_choice"),
        ({"conversation": "conv_1"}, "conversation"),
        ({"background": True}, "background"),
        ({"input": [{"type": "item_reference", "id": "msg_1"}]}, "input[0]"),
        (
            {"input": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]},
            "input[0].content[0]",
        ),
    ],
)
def test_require_translatable_refuses_openai_only_features(body: dict[str, Any], param: str) -> None:
    req = decode_request({"model": "m", **body})
    with pytest.raises(GatewayError) as info:
        require_translatable(req, Degradations())
    assert (info.value.status, info.value.param) == (400, param)


def test_require_translatable_passes_plain_requests_and_background_false() -> None:
    deg = Degradations()
    require_translatable(
        decode_request({"model": "m", "input": "x", "background": False, "store": True}), deg
    )
    require_translatable(anthropic_like(), deg)
    assert deg.dropped == []


def test_a_message_whose_content_is_all_dropped_is_not_sent() -> None:
    deg = Degradations()
    req = Request(
        "m", (Message("user", (OpaquePart("gemini", {"x": 1}),)), Message("user", (TextPart("q"),)))
    )
    assert encode(req, deg)["input"] == [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "q"}]}
    ]
    assert [f for f, _ in deg.dropped] == ["messages[0].parts[0]"]
