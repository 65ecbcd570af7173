"""Responses objects: golden round trips, decoding, and encoding other protocols' answers."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from bytespike.canonical.parts import (
    MediaPart,
    OpaquePart,
    ProviderData,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolResultPart,
)
from bytespike.canonical.response import FinishReason, Response
from bytespike.canonical.usage import Usage
from bytespike.errors import GatewayError
from bytespike.protocols.openai_responses import NAME
from bytespike.protocols.openai_responses.responses import (
    FINISH_REASON_TO_OPENAI_RESPONSES,
    decode_finish,
    decode_response,
    encode_finish,
    encode_response,
)
from tests.protocols.openai_responses.support import client_for, fixtures, load, validate_response


@pytest.mark.parametrize("name", fixtures("response_"))
def test_golden_fixture_round_trips_exactly(name: str) -> None:
    body = load(name)
    validate_response(body)
    assert encode_response(decode_response(body), model=body["model"], request_id="req_1") == body


def test_tool_call_turn_decodes_to_parts() -> None:
    resp = decode_response(load("response_tool_calls.json"))
    thinking, text, paris, rome = resp.parts
    assert thinking == ThinkingPart(
        "Two cities, two calls.",
        "gAAAAABxyz==",
        NAME,
        provider_data=ProviderData(NAME, {"item": {"id": "rs_77b2"}}),
    )
    assert text == TextPart("Checking both.", provider_data=ProviderData(NAME, {"item": {"id": "msg_77b2"}}))
    assert (paris.id, paris.name, paris.arguments) == ("call_paris", "get_weather", {"city": "Paris"})  # type: ignore[union-attr]
    assert rome.arguments == {"city": "Rome"}  # type: ignore[union-attr]
    assert resp.finish_reason == "tool_use"
    assert resp.usage == Usage(80, 140, 0, 0, 96)
    assert (resp.id, resp.model) == ("resp_77b2", "gpt-5-5")


def test_other_fixtures_decode() -> None:
    incomplete = decode_response(load("response_incomplete.json"))
    assert incomplete.finish_reason == "length" and incomplete.parts[0].text == "Once upon a"  # type: ignore[union-attr]
    hosted = decode_response(load("response_hosted.json"))
    search, text, refusal = hosted.parts
    assert isinstance(search, OpaquePart) and search.data["item"]["type"] == "web_search_call"
    assert text.provider_data.data["part"]["annotations"][0]["type"] == "url_citation"  # type: ignore[union-attr]
    assert refusal.text == "I cannot share pricing." and refusal.provider_data.data["refusal"]  # type: ignore[union-attr]
    assert hosted.finish_reason == "stop"
    assert hosted.usage.cache_write_tokens == 64


@pytest.mark.parametrize(
    ("status", "details", "has_call", "finish"),
    [
        ("completed", None, False, "stop"),
        ("completed", None, True, "tool_use"),
        ("incomplete", {"reason": "max_output_tokens"}, False, "length"),
        ("incomplete", {"reason": "max_messages"}, False, "length"),
        ("incomplete", {"reason": "content_filter"}, False, "content_filter"),
        ("incomplete", {"reason": "steered"}, False, "stop"),
        ("incomplete", {"reason": None}, False, "pause"),
        ("incomplete", None, False, "pause"),
        ("incomplete", {"reason": "novel"}, False, "length"),
        ("failed", None, False, "error"),
        ("cancelled", None, False, "error"),
        ("in_progress", None, False, None),
        ("queued", None, False, None),
    ],
)
def test_finish_reason_from_status(status: str, details: Any, has_call: bool, finish: str | None) -> None:
    assert decode_finish(status, details, has_tool_call=has_call) == finish


@pytest.mark.parametrize("finish", [*FINISH_REASON_TO_OPENAI_RESPONSES, None])
def test_every_finish_reason_has_a_status_that_decodes_back_compatibly(finish: FinishReason | None) -> None:
    status, details = encode_finish(finish)
    back = decode_finish(status, details, has_tool_call=finish == "tool_use")
    expected = {"stop_sequence": "stop", "refusal": "content_filter", None: "stop"}.get(finish, finish)  # type: ignore[arg-type]
    assert back == expected


def anthropic_answer(finish: FinishReason = "tool_use") -> Response:
    return Response(
        id="msg_01XFDUDYJgAACzvnptvVoYEL",
        model="claude-sonnet-4-6",
        parts=(
            ThinkingPart("Let me think.", "EqQBCkYIBxgC", "anthropic_messages"),
            TextPart("Calling tools."),
            TextPart("Second block."),
            ToolCallPart("toolu_01A", "get_weather", {"city": "Paris"}),
            ToolCallPart("toolu_01B", "get_weather", {"city": "Rome"}),
            ToolResultPart("x"),
            OpaquePart("anthropic_messages", {"type": "server_tool_use"}),
            MediaPart("document", "application/pdf", data="JVBE"),
        ),
        finish_reason=finish,
        usage=Usage(input_tokens=2100, output_tokens=50, cache_read_tokens=2000, reasoning_tokens=10),
    )


def test_encode_another_protocols_answer() -> None:
    request = {
        "model": "claude",
        "input": "hi",
        "instructions": "Be nice.",
        "tools": [{"type": "function", "name": "get_weather", "parameters": {}}],
        "temperature": None,
    }
    body = encode_response(
        anthropic_answer(), model="claude-sonnet-4-6", request_id="req_9f8e", request=request
    )
    parsed = validate_response(body)
    assert body["id"] == "resp_9f8e" and body["object"] == "response" and body["model"] == "claude-sonnet-4-6"
    assert body["status"] == "completed" and body["incomplete_details"] is None and body["error"] is None
    assert body["output"] == [
        {
            "id": "rs_9f8e_0",
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": "Let me think."}],
        },
        {
            "id": "msg_9f8e_1",
            "type": "message",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Calling tools.", "annotations": [], "logprobs": []}],
        },
        {
            "id": "msg_9f8e_2",
            "type": "message",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Second block.", "annotations": [], "logprobs": []}],
        },
        {
            "id": "fc_9f8e_3",
            "status": "completed",
            "type": "function_call",
            "call_id": "toolu_01A",
            "name": "get_weather",
            "arguments": '{"city":"Paris"}',
        },
        {
            "id": "fc_9f8e_4",
            "status": "completed",
            "type": "function_call",
            "call_id": "toolu_01B",
            "name": "get_weather",
            "arguments": '{"city":"Rome"}',
        },
    ]
    # The Anthropic signature is never handed out as OpenAI encrypted_content (protocols.md §5.7).
    assert "EqQBCkYIBxgC" not in orjson.dumps(body).decode()
    assert body["usage"] == {
        "input_tokens": 2100,
        "input_tokens_details": {"cached_tokens": 2000, "cache_write_tokens": 0},
        "output_tokens": 50,
        "output_tokens_details": {"reasoning_tokens": 10},
        "total_tokens": 2150,
    }
    assert body["instructions"] == "Be nice." and body["temperature"] is None
    assert body["tools"] == [{"type": "function", "name": "get_weather", "parameters": {}, "strict": True}]
    assert parsed.output_text == "Calling tools.Second block."


@pytest.mark.parametrize(
    ("finish", "status", "details"),
    [
        ("length", "incomplete", {"reason": "max_output_tokens"}),
        ("refusal", "incomplete", {"reason": "content_filter"}),
        ("content_filter", "incomplete", {"reason": "content_filter"}),
        ("pause", "incomplete", {"reason": None}),
        ("stop_sequence", "completed", None),
        (None, "completed", None),
    ],
)
def test_finish_reasons_map_by_table(finish: FinishReason | None, status: str, details: Any) -> None:
    body = encode_response(anthropic_answer(finish), model="m", request_id="req_1")  # type: ignore[arg-type]
    validate_response(body)
    assert (body["status"], body["incomplete_details"]) == (status, details)
    messages = [i for i in body["output"] if i["type"] == "message"]
    assert {m["status"] for m in messages} == {"incomplete" if status == "incomplete" else "completed"}


def test_failed_turn_carries_an_error() -> None:
    body = encode_response(anthropic_answer("error"), model="m", request_id="req_1")
    validate_response(body)
    assert body["status"] == "failed" and body["error"]["code"] == "server_error"


def test_own_reasoning_and_items_are_echoed_and_images_become_image_calls() -> None:
    resp = Response(
        "resp_up",
        "gpt",
        (
            ThinkingPart("s", "enc", NAME),
            OpaquePart(
                NAME,
                {
                    "item": {
                        "id": "ws_1",
                        "type": "web_search_call",
                        "status": "completed",
                        "action": {"type": "search", "query": "q"},
                    }
                },
            ),
            MediaPart("image", "image/png", data="iVBOR"),
        ),
        "stop",
        Usage(),
    )
    body = encode_response(resp, model="gpt", request_id="req_2")
    validate_response(body)
    assert body["id"] == "resp_up"
    assert body["output"][0] == {
        "id": "rs_2_0",
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": "s"}],
        "encrypted_content": "enc",
    }
    assert body["output"][1]["type"] == "web_search_call"
    assert body["output"][2] == {
        "id": "ig_2_2",
        "type": "image_generation_call",
        "status": "completed",
        "result": "iVBOR",
    }


def test_text_parts_of_one_upstream_message_stay_one_item() -> None:
    item = {"id": "msg_up"}
    resp = Response(
        "resp_up",
        "gpt",
        (
            TextPart("a", provider_data=ProviderData(NAME, {"item": item})),
            TextPart("b", provider_data=ProviderData(NAME, {"item": item, "refusal": True})),
            TextPart("c"),
        ),
        "stop",
        Usage(),
    )
    output = encode_response(resp, model="gpt", request_id="req_3")["output"]
    assert [[c["type"] for c in m["content"]] for m in output] == [
        ["output_text", "refusal"],
        ["output_text"],
    ]
    assert [m["id"] for m in output] == ["msg_up", "msg_3_1"]


def test_stale_status_in_provider_data_yields_to_the_finish_reason() -> None:
    resp = decode_response(load("response_incomplete.json"))
    body = encode_response(
        Response(resp.id, resp.model, resp.parts, "stop", resp.usage, provider_data=resp.provider_data),
        model="m",
        request_id="r",
    )
    assert body["status"] == "completed" and body["incomplete_details"] is None


def test_tool_names_are_mapped_back() -> None:
    body = load("response_tool_calls.json")
    resp = decode_response(body, tool_names={"get_weather": "weather.get"})
    assert {p.name for p in resp.parts if isinstance(p, ToolCallPart)} == {"weather.get"}


@pytest.mark.parametrize(
    "body",
    [
        "nope",
        {"object": "response"},
        {"id": "resp_1", "output": ["x"]},
        {"id": "resp_1", "output": [{"type": "function_call", "name": "f"}]},
        {"id": "resp_1", "output": [{"type": "message", "content": [{"type": "output_text"}]}]},
    ],
)
def test_malformed_upstream_responses_are_502(body: Any) -> None:
    with pytest.raises(GatewayError) as info:
        decode_response(body)
    assert info.value.status == 502 and info.value.code == "upstream_error"


def test_the_sdk_parses_an_encoded_response() -> None:
    body = encode_response(anthropic_answer(), model="claude", request_id="req_x")
    client = client_for(orjson.dumps(body), content_type="application/json")
    parsed = client.responses.create(model="claude", input="hi")
    assert parsed.id == "resp_x"
    assert [o.type for o in parsed.output] == [
        "reasoning",
        "message",
        "message",
        "function_call",
        "function_call",
    ]
    assert parsed.usage is not None and parsed.usage.input_tokens_details.cached_tokens == 2000


def test_hosted_tools_are_echoed_unchanged() -> None:
    body = encode_response(
        anthropic_answer("stop"), model="m", request_id="r", request={"tools": [{"type": "web_search"}]}
    )
    assert body["tools"] == [{"type": "web_search"}]
    validate_response(body)
