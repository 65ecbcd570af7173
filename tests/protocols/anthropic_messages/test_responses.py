"""Golden response fixtures: decode → encode round trips, canonical values, SDK validation of
what we encode from other vendors' responses."""

from __future__ import annotations

import dataclasses

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
from bytespike.canonical.response import Response
from bytespike.canonical.usage import Usage
from bytespike.errors import GatewayError
from bytespike.protocols.anthropic_messages.responses import (
    FINISH_REASON_FROM_ANTHROPIC,
    FINISH_REASON_TO_ANTHROPIC,
    decode_response,
    encode_response,
)
from tests.protocols.anthropic_messages.fixtures import load, names
from tests.protocols.anthropic_messages.sdk import sdk_message


@pytest.mark.parametrize("name", names("response"))
def test_golden_round_trip(name: str) -> None:
    fx = load(name)
    body = fx["response"]
    resp = decode_response(body)
    assert resp.finish_reason == fx["expected"]["finish_reason"]
    assert dataclasses.asdict(resp.usage) == fx["expected"]["usage"]
    assert resp.stop_sequence == fx["expected"].get("stop_sequence")
    out = encode_response(resp, model=body["model"], request_id="req_1")
    assert out == body
    sdk_message(out)


def test_decoded_parts() -> None:
    resp = decode_response(load("response_thinking")["response"])
    thinking, redacted, text = resp.parts
    assert isinstance(thinking, ThinkingPart) and thinking.signature_protocol == "anthropic_messages"
    assert isinstance(redacted, ThinkingPart) and redacted.redacted
    assert text == TextPart("Yes: there are infinitely many.")
    server = decode_response(load("response_server_tools")["response"])
    assert [type(p) for p in server.parts] == [OpaquePart, OpaquePart, TextPart]
    assert server.parts[2].provider_data is not None


FOREIGN = Response(
    id="chatcmpl-9xYz",
    model="gpt-5-4",
    parts=(
        ThinkingPart("reasoning summary", signature="gAAAA-encrypted", signature_protocol="openai_responses"),
        ThinkingPart("", signature="opaque", signature_protocol="gemini", redacted=True),
        TextPart("Here you go.", provider_data=ProviderData("openai_chat", {"annotations": []})),
        MediaPart("image", media_type="image/png", data="iVBOR"),
        ToolCallPart("call_abc|1", "get_weather", {"city": "Paris"}),
        ToolCallPart("", "get_time", {}),
        OpaquePart("gemini", {"executableCode": {"code": "print(1)"}}),
        ToolResultPart("call_x"),
    ),
    finish_reason="stop",
    usage=Usage(input_tokens=1200, output_tokens=300, cache_read_tokens=1000, reasoning_tokens=200),
)


def test_encode_a_foreign_response_for_the_sdk() -> None:
    out = encode_response(FOREIGN, model="gpt-5-4", request_id="req_7f3a-b2")
    assert out["id"] == "msg_req_7f3ab2"
    assert out["model"] == "gpt-5-4"
    # Gemini said STOP with function calls: Anthropic callers need tool_use (protocols.md §5.13).
    assert out["stop_reason"] == "tool_use"
    assert out["content"] == [
        {"type": "thinking", "thinking": "reasoning summary", "signature": ""},
        {"type": "text", "text": "Here you go."},
        {"type": "tool_use", "id": "call_abc|1", "name": "get_weather", "input": {"city": "Paris"}},
        {"type": "tool_use", "id": "toolu_req_7f3ab2_5", "name": "get_time", "input": {}},
    ]
    # Anthropic semantics: input_tokens excludes cache reads (vllm-project/vllm PR #40912).
    assert out["usage"] == {
        "input_tokens": 200,
        "output_tokens": 300,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 1000,
        "output_tokens_details": {"thinking_tokens": 200},
    }
    message = sdk_message(out)
    assert message.usage.cache_read_input_tokens == 1000
    assert decode_response(out).usage == FOREIGN.usage


@pytest.mark.parametrize(("finish", "stop_reason"), list(FINISH_REASON_TO_ANTHROPIC.items()))
def test_every_canonical_finish_reason_maps_to_an_anthropic_value(
    finish: str | None, stop_reason: str
) -> None:
    resp = Response("msg_1", "m", (TextPart("x"),), finish, Usage(1, 1), stop_sequence="S")  # type: ignore[arg-type]
    out = encode_response(resp, model="m", request_id="r")
    assert out["stop_reason"] == stop_reason
    assert out["stop_sequence"] == ("S" if stop_reason == "stop_sequence" else None)
    sdk_message(out)


def test_unknown_stop_reason_reads_as_stop_and_is_never_echoed() -> None:
    body = load("response_text")["response"] | {"stop_reason": "brand_new_reason"}
    resp = decode_response(body)
    assert resp.finish_reason == "stop"
    assert encode_response(resp, model="m", request_id="r")["stop_reason"] == "end_turn"
    assert set(FINISH_REASON_FROM_ANTHROPIC) >= {"end_turn", "refusal", "pause_turn"}


def test_null_stop_reason_round_trips() -> None:
    body = load("response_text")["response"] | {"stop_reason": None}
    assert encode_response(decode_response(body), model=body["model"], request_id="r") == body


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"id": "msg_1"},
        {"content": [{"type": "text"}]},
        {"content": [{"type": "tool_use", "id": "t", "name": "f", "input": []}]},
    ],
)
def test_malformed_upstream_message_is_a_502(body: object) -> None:
    with pytest.raises(GatewayError) as info:
        decode_response(body)
    assert info.value.status == 502
