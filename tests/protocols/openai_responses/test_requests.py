"""Responses requests: golden round trips, decoding into the canonical model, shape errors."""

from __future__ import annotations

from typing import Any

import pytest

from bytespike.canonical.degradation import Degradations
from bytespike.canonical.parts import (
    CacheControl,
    MediaPart,
    OpaquePart,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolResultPart,
)
from bytespike.canonical.request import Message, Reasoning, ResponseFormat, ToolChoice, ToolDefinition
from bytespike.errors import GatewayError
from bytespike.protocols.openai_responses import NAME
from bytespike.protocols.openai_responses.requests import (
    check_request,
    decode_request,
    encode_request,
    max_output_tokens,
)
from tests.protocols.openai_responses.support import fixtures, load, validate_request


def round_trip(body: dict[str, Any]) -> dict[str, Any]:
    return encode_request(decode_request(body), model=body["model"], deg=Degradations(strict=True))


@pytest.mark.parametrize("name", fixtures("request_"))
def test_golden_fixture_round_trips_exactly(name: str) -> None:
    body = load(name)
    validate_request(body)  # the fixture itself is what the SDK would send
    assert round_trip(body) == body


NORMALIZATIONS = [
    pytest.param(
        {"model": "m", "input": "hi"},
        {
            "model": "m",
            "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}],
        },
        id="string-input",
    ),
    pytest.param(
        {"model": "m", "input": [{"role": "user", "content": "hi"}, {"role": "developer", "content": "x"}]},
        {
            "model": "m",
            "input": [
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
                {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "x"}]},
            ],
        },
        id="easy-messages",
    ),
    pytest.param(
        {
            "model": "m",
            "input": [
                {
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": "a"}, {"type": "output_text", "text": "b"}],
                }
            ],
        },
        {"model": "m", "input": [{"type": "message", "role": "assistant", "content": "ab"}]},
        id="bare-assistant-text",
    ),
    pytest.param(
        {
            "model": "m",
            "input": [{"role": "user", "content": [{"type": "input_image", "image_url": "https://x/y.png"}]}],
        },
        {
            "model": "m",
            "input": [
                {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_image", "image_url": "https://x/y.png", "detail": "auto"}],
                }
            ],
        },
        id="image-detail",
    ),
    pytest.param(
        {
            "model": "m",
            "input": [
                {
                    "role": "user",
                    "content": [{"type": "input_file", "file_data": "JVBERi0=", "filename": "a.pdf"}],
                }
            ],
        },
        {
            "model": "m",
            "input": [
                {
                    "type": "message",
                    "role": "user",
                    "content": [
                        {
                            "type": "input_file",
                            "file_data": "data:application/pdf;base64,JVBERi0=",
                            "filename": "a.pdf",
                        }
                    ],
                }
            ],
        },
        id="bare-file-data",
    ),
    pytest.param(
        {
            "model": "m",
            "input": [
                {
                    "type": "function_call_output",
                    "call_id": "c1",
                    "output": [{"type": "input_text", "text": "ok"}],
                },
                {"type": "function_call_output", "call_id": "c2", "output": []},
            ],
        },
        {
            "model": "m",
            "input": [
                {"type": "function_call_output", "call_id": "c1", "output": "ok"},
                {"type": "function_call_output", "call_id": "c2", "output": ""},
            ],
        },
        id="single-text-output",
    ),
    pytest.param(
        {"model": "m", "input": [], "tools": [{"type": "function", "name": "f"}], "instructions": ""},
        {"model": "m", "input": [], "tools": [{"type": "function", "name": "f", "parameters": None}]},
        id="tool-parameters-null",
    ),
    pytest.param(
        {
            "model": "m",
            "input": [{"role": "user", "content": []}],
            "tools": [],
            "stream": False,
            "temperature": None,
            "max_output_tokens": None,
            "reasoning": {"effort": None},
        },
        {"model": "m", "input": [], "reasoning": {}},
        id="nulls-and-empties",
    ),
]


@pytest.mark.parametrize(("given", "expected"), NORMALIZATIONS)
def test_documented_normalizations(given: dict[str, Any], expected: dict[str, Any]) -> None:
    assert round_trip(given) == expected
    assert round_trip(expected) == expected


def test_text_request_maps_to_canonical_fields() -> None:
    req = decode_request(load("request_text.json"))
    assert req.model == "gpt-5-4"
    assert req.system == (TextPart("You are a terse assistant."),)
    assert req.messages == (Message("user", (TextPart("Say hello."),)),)
    assert (req.max_tokens, req.temperature, req.top_p, req.user_id, req.stream) == (
        256,
        0.2,
        0.9,
        "user-42",
        True,
    )
    assert req.extras == {}


def test_leading_system_and_developer_messages_become_the_system_prompt() -> None:
    req = decode_request(load("request_system_roles.json"))
    assert [p.text for p in req.system] == [
        "Base rules.",
        "Prefer metric units.",
        "Never guess.",
        "Today is Tuesday.",
    ]
    assert req.system[1].provider_data.data == {"role": "developer", "input_item": 0}  # type: ignore[union-attr]
    assert [m.role for m in req.messages] == ["user", "assistant", "system", "user"]
    # A developer message after the first turn keeps its position (protocols.md §5.1).
    assert req.messages[2].parts[0].text == "Answer in French from now on."  # type: ignore[union-attr]


def test_assistant_items_group_into_turns() -> None:
    req = decode_request(load("request_tool_results.json"))
    assert [m.role for m in req.messages] == ["user", "assistant", "user", "user"]
    calls = req.messages[1].parts
    assert [type(p) for p in calls] == [ToolCallPart] * 3
    assert calls[0] == ToolCallPart("call_paris", "get_weather", {"city": "Paris"}, calls[0].provider_data)
    assert calls[0].provider_data.data == {"item": {"id": "fc_001", "status": "completed"}}  # type: ignore[union-attr]
    # Non-compact arguments keep their exact text; truncated JSON is never silently {}.
    assert calls[1].provider_data.data["arguments"] == '{"city": "Rome"}'  # type: ignore[union-attr]
    assert calls[2].arguments == {"_raw": '{"city":"Ro'}  # type: ignore[union-attr]
    results = req.messages[2].parts
    assert results[0] == ToolResultPart("call_paris", (TextPart("18°C, clear"),))
    assert results[2] == ToolResultPart(
        "call_map", (TextPart("Map attached."), MediaPart("image", url="https://example.com/rome.png"))
    )


def test_reasoning_items_become_thinking_signed_by_openai_responses() -> None:
    req = decode_request(load("request_reasoning.json"))
    assert [m.role for m in req.messages] == ["user", "assistant", "user", "assistant", "user"]
    first, second = req.messages[1].parts[0], req.messages[3].parts[0]
    assert isinstance(first, ThinkingPart) and isinstance(second, ThinkingPart)
    assert (first.text, first.signature, first.signature_protocol) == (
        "Multiplying 17 by 23.",
        "gAAAAABencrypted==",
        NAME,
    )
    assert second.text == "Checked.\n\nAnswering." and second.signature is None
    assert req.reasoning == Reasoning(enabled=True, effort="high", include_thoughts=True)
    assert req.extras[NAME]["store"] is False
    assert req.extras[NAME]["include"] == ["reasoning.encrypted_content"]


def test_tools_and_tool_choice() -> None:
    req = decode_request(load("request_tools.json"))
    assert [t.name for t in req.tools] == ["get_weather", "lookup", "now"]
    assert req.tools[0].strict is True and req.tools[1].strict is None
    assert req.tools[0].parameters == load("request_tools.json")["tools"][0]["parameters"]
    assert req.tool_choice == ToolChoice("tool", "get_weather", parallel=False)
    assert req.extras[NAME]["hosted_tools"] == [[1, {"type": "web_search"}]]


def test_text_format_and_reasoning_off() -> None:
    req = decode_request(load("request_json_schema.json"))
    fmt = load("request_json_schema.json")["text"]["format"]
    assert req.response_format == ResponseFormat("json_schema", fmt["schema"], "person", True)
    assert req.reasoning == Reasoning(enabled=False)
    assert decode_request(load("request_json_object.json")).response_format == ResponseFormat("json_object")


def test_prompt_cache_breakpoints_are_cache_control() -> None:
    req = decode_request(load("request_cache.json"))
    text, image, plain = req.messages[0].parts
    # The breakpoint's lifetime is kept, for the encoders to honour or report.
    assert text.cache_control == CacheControl("12h") and image.cache_control == CacheControl()  # type: ignore[union-attr]
    assert plain.cache_control is None  # type: ignore[union-attr]


def test_stateful_fields_stay_in_extras() -> None:
    req = decode_request(load("request_stateful.json"))
    extras = req.extras[NAME]
    assert extras["previous_response_id"] == "resp_prev123"
    assert extras["metadata"] == {"ticket": "T-9"}
    assert req.messages[0].parts == (
        OpaquePart(NAME, {"item": {"type": "item_reference", "id": "msg_earlier"}, "path": "input[0]"}),
    )
    assert req.tool_choice == ToolChoice("auto")


def test_media_parts() -> None:
    req = decode_request(load("request_media.json"))
    parts = req.messages[0].parts
    assert parts[1] == MediaPart("image", "image/png", data=parts[1].data)  # type: ignore[union-attr]
    # detail is canonical ("auto", the default, is None), so other encoders can report it.
    assert parts[2] == MediaPart("image", url="https://example.com/cat.jpg", detail="high")
    assert parts[3] == MediaPart("image", file_id="file-AbC123", detail="low")
    assert parts[4] == MediaPart("document", "application/pdf", data="JVBERi0xLjQK", filename="report.pdf")
    assert parts[5] == MediaPart("document", url="https://example.com/spec.pdf")
    assert parts[6] == MediaPart("document", file_id="file-XyZ789")
    assert "media_options" not in req.extras.get(NAME, {})


def test_parallel_without_tool_choice_round_trips() -> None:
    body = {"model": "m", "input": [], "parallel_tool_calls": False}
    assert decode_request(body).tool_choice == ToolChoice("auto", parallel=False)
    assert round_trip(body) == body


def test_unknown_content_parts_are_kept_verbatim() -> None:
    audio = {"type": "input_audio", "input_audio": {"data": "UklGR", "format": "wav"}}
    body = {"model": "m", "input": [{"type": "message", "role": "user", "content": [audio]}]}
    assert decode_request(body).messages[0].parts[0] == OpaquePart(
        NAME, {"content": audio, "path": "input[0].content[0]"}
    )
    assert round_trip(body) == body


def test_hosted_tool_call_items_are_kept_verbatim() -> None:
    items = [
        {
            "type": "computer_call",
            "id": "cu_1",
            "call_id": "c",
            "action": {"type": "click"},
            "status": "completed",
        },
        {
            "type": "computer_call_output",
            "call_id": "c",
            "output": {"type": "computer_screenshot", "image_url": "https://s"},
        },
    ]
    req = decode_request({"model": "m", "input": items})
    assert [m.role for m in req.messages] == ["assistant", "user"]
    assert round_trip({"model": "m", "input": items}) == {"model": "m", "input": items}


def _error(body: Any) -> GatewayError:
    with pytest.raises(GatewayError) as info:
        decode_request(body)
    assert info.value.status == 400
    return info.value


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ([], None),
        ({"input": "x"}, "model"),
        ({"model": "m", "input": 3}, "input"),
        ({"model": "m", "input": [3]}, "input[0]"),
        ({"model": "m", "input": [{"content": "x"}]}, "input[0].type"),
        ({"model": "m", "input": [{"role": "tool", "content": "x"}]}, "input[0].role"),
        ({"model": "m", "input": [{"role": "user"}]}, "input[0].content"),
        ({"model": "m", "input": [{"role": "user", "content": [5]}]}, "input[0].content[0]"),
        ({"model": "m", "input": [{"role": "user", "content": [{"text": "x"}]}]}, "input[0].content[0].type"),
        (
            {"model": "m", "input": [{"role": "user", "content": [{"type": "input_text"}]}]},
            "input[0].content[0].text",
        ),
        (
            {"model": "m", "input": [{"role": "user", "content": [{"type": "input_image"}]}]},
            "input[0].content[0]",
        ),
        (
            {
                "model": "m",
                "input": [
                    {"role": "user", "content": [{"type": "input_image", "image_url": "data:image/png,abc"}]}
                ],
            },
            "input[0].content[0].image_url",
        ),
        (
            {"model": "m", "input": [{"role": "user", "content": [{"type": "input_file"}]}]},
            "input[0].content[0]",
        ),
        (
            {"model": "m", "input": [{"type": "function_call", "name": "f", "arguments": "{}"}]},
            "input[0].call_id",
        ),
        (
            {"model": "m", "input": [{"type": "function_call", "call_id": "c", "name": "f"}]},
            "input[0].arguments",
        ),
        ({"model": "m", "input": [{"type": "function_call_output", "call_id": "c"}]}, "input[0].output"),
        (
            {
                "model": "m",
                "input": [
                    {"type": "function_call_output", "call_id": "c", "output": [{"type": "input_audio"}]}
                ],
            },
            "input[0].output[0].type",
        ),
        ({"model": "m", "input": [{"type": "reasoning", "summary": "x"}]}, "input[0].summary"),
        (
            {"model": "m", "input": [{"type": "reasoning", "summary": [{"type": "summary_text"}]}]},
            "input[0].summary[0].text",
        ),
        (
            {"model": "m", "input": [{"type": "reasoning", "summary": [], "content": [{}]}]},
            "input[0].content[0].text",
        ),
        ({"model": "m", "max_output_tokens": -1}, "max_output_tokens"),
        ({"model": "m", "max_output_tokens": True}, "max_output_tokens"),
        ({"model": "m", "stream": "yes"}, "stream"),
        ({"model": "m", "temperature": "hot"}, "temperature"),
        ({"model": "m", "instructions": ["x"]}, "instructions"),
        ({"model": "m", "tools": {}}, "tools"),
        ({"model": "m", "tools": [{"name": "f"}]}, "tools[0]"),
        ({"model": "m", "tools": [{"type": "function"}]}, "tools[0].name"),
        (
            {"model": "m", "tools": [{"type": "function", "name": "f", "parameters": []}]},
            "tools[0].parameters",
        ),
        ({"model": "m", "tools": [{"type": "function", "name": "f", "strict": "y"}]}, "tools[0].strict"),
        (
            {"model": "m", "tools": [{"type": "function", "name": "f", "description": 1}]},
            "tools[0].description",
        ),
        ({"model": "m", "tool_choice": "any"}, "tool_choice"),
        ({"model": "m", "tool_choice": {"name": "f"}}, "tool_choice"),
        ({"model": "m", "tool_choice": {"type": "function"}}, "tool_choice.name"),
        ({"model": "m", "parallel_tool_calls": "no"}, "parallel_tool_calls"),
        ({"model": "m", "text": {"format": {"type": "yaml"}}}, "text.format.type"),
        ({"model": "m", "text": {"format": {"type": "json_schema", "schema": {}}}}, "text.format.name"),
        ({"model": "m", "text": {"format": {"type": "json_schema", "name": "n"}}}, "text.format.schema"),
        (
            {
                "model": "m",
                "text": {"format": {"type": "json_schema", "name": "n", "schema": {}, "strict": 1}},
            },
            "text.format.strict",
        ),
        ({"model": "m", "reasoning": {"effort": "extreme"}}, "reasoning.effort"),
        ({"model": "m", "reasoning": "high"}, "reasoning"),
        ({"model": "m", "metadata": []}, "metadata"),
        ({"model": "m", "include": "x"}, "include"),
        ({"model": "m", "previous_response_id": 5}, "previous_response_id"),
        ({"model": "m", "user": 5}, "user"),
    ],
)
def test_malformed_requests_name_the_field(body: Any, param: str | None) -> None:
    err = _error(body)
    assert err.param == param
    if param:
        assert param in err.message


def test_check_request_accepts_the_fixtures_and_max_output_tokens() -> None:
    for name in fixtures("request_"):
        check_request(load(name))
    assert max_output_tokens(load("request_text.json")) == 256
    assert max_output_tokens({"model": "m"}) == 0
    assert max_output_tokens({"model": "m", "max_output_tokens": True}) == 0


def test_decoded_tool_definitions_keep_wire_only_fields() -> None:
    req = decode_request(load("request_tools.json"))
    assert req.tools[2] == ToolDefinition("now", None, None, False)
    assert req.extras[NAME]["tool_fields"] == {"now": {"defer_loading": True}}


def test_arguments_that_are_json_but_not_an_object() -> None:
    body = {
        "model": "m",
        "input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": "[1, 2]"}],
    }
    assert decode_request(body).messages[0].parts[0].arguments == {"_raw": "[1, 2]"}  # type: ignore[union-attr]
    assert round_trip(body) == body


def test_reasoning_with_raw_content_round_trips() -> None:
    item = {
        "type": "reasoning",
        "id": "rs_oss",
        "summary": [],
        "content": [
            {"type": "reasoning_text", "text": "step 1"},
            {"type": "reasoning_text", "text": "step 2"},
        ],
    }
    body = {"model": "gpt-oss", "input": [item]}
    assert decode_request(body).messages[0].parts[0].text == "step 1\n\nstep 2"  # type: ignore[union-attr]
    assert round_trip(body) == body


def test_text_format_extra_fields_round_trip() -> None:
    body = {"model": "m", "input": [], "text": {"format": {"type": "json_object", "x_hint": 1}}}
    assert round_trip(body) == body
