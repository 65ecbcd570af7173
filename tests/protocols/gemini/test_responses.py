"""Gemini responses: golden round trips, finish reasons, usage semantics, and responses built
from other protocols' canonical responses."""

from __future__ import annotations

from pathlib import Path

import pytest
from google.genai import types

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
from bytespike.protocols.gemini.ids import DERIVED_ID_PREFIX
from bytespike.protocols.gemini.requests import decode_request
from bytespike.protocols.gemini.responses import (
    FINISH_REASON_FROM_GEMINI,
    FINISH_REASON_TO_GEMINI,
    decode_response,
    encode_response,
)
from bytespike.protocols.gemini.usage import decode_usage, encode_usage
from tests.protocols.gemini.conftest import FIXTURES, load
from tests.protocols.gemini.validity import assert_valid_response

RESPONSE_FIXTURES = sorted(p.name for p in Path(FIXTURES).glob("response_*.json"))


@pytest.mark.parametrize("name", RESPONSE_FIXTURES)
def test_golden_response_round_trips_exactly(name: str) -> None:
    body = load(name)
    resp = decode_response(body)
    assert encode_response(resp, model=body["modelVersion"], request_id=body["responseId"]) == body
    assert_valid_response(body)


def test_text_response() -> None:
    resp = decode_response(load("response_text.json"))
    assert resp.id == "mSpuaP7SMt2Dz7IPm6yGuA8" and resp.model == "gemini-2.5-flash"
    assert resp.parts == (TextPart("The sky is blue because of Rayleigh scattering."),)
    assert resp.finish_reason == "stop"
    assert resp.usage == Usage(input_tokens=8, output_tokens=9)


def test_function_calls_finish_as_tool_use_with_stable_derived_ids() -> None:
    resp = decode_response(load("response_tool_calls.json"))
    assert resp.finish_reason == "tool_use"
    first, second = resp.parts
    assert isinstance(first, ToolCallPart) and isinstance(second, ToolCallPart)
    assert first.id.startswith(DERIVED_ID_PREFIX) and second.id.startswith(DERIVED_ID_PREFIX)
    assert first.id != second.id
    assert first.provider_data is not None and first.provider_data.protocol == "gemini"
    assert second.provider_data is None
    assert decode_response(load("response_tool_calls.json")).parts == resp.parts
    # Thoughts are output tokens outside candidatesTokenCount.
    assert resp.usage == Usage(input_tokens=120, output_tokens=94, reasoning_tokens=64)


def test_call_ids_from_gemini_are_kept() -> None:
    resp = decode_response(load("response_tool_call_with_id.json"))
    assert isinstance(resp.parts[1], ToolCallPart) and resp.parts[1].id == "fc_ab12"


def test_thinking_response_and_cached_usage() -> None:
    resp = decode_response(load("response_thinking.json"))
    thought, answer = resp.parts
    assert thought == ThinkingPart("**Computing**\nThe root of 1,000,000 is 1000.")
    assert isinstance(answer, TextPart) and answer.provider_data is not None
    assert resp.usage == Usage(input_tokens=12, output_tokens=158, cache_read_tokens=4, reasoning_tokens=150)


@pytest.mark.parametrize(
    ("name", "finish"),
    [
        ("response_max_tokens.json", "length"),
        ("response_safety.json", "content_filter"),
        ("response_recitation.json", "content_filter"),
        ("response_prompt_blocked.json", "content_filter"),
        ("response_malformed_call.json", "stop"),
    ],
)
def test_finish_reasons(name: str, finish: str) -> None:
    assert decode_response(load(name)).finish_reason == finish


def test_prompt_blocked_before_generation_has_no_parts() -> None:
    resp = decode_response(load("response_prompt_blocked.json"))
    assert resp.parts == () and resp.usage == Usage(input_tokens=14)


def test_image_output_keeps_its_signature_for_gemini_only() -> None:
    resp = decode_response(load("response_image_output.json"))
    image = resp.parts[1]
    assert isinstance(image, MediaPart) and image.kind == "image" and image.media_type == "image/png"


def test_finish_reason_tables_cover_the_sdk_enum_and_the_canonical_literal() -> None:
    assert set(FINISH_REASON_FROM_GEMINI) == set(types.FinishReason.__members__)
    assert set(FINISH_REASON_TO_GEMINI.values()) <= set(types.FinishReason.__members__)
    assert (
        decode_response(
            {"candidates": [{"content": {"parts": [{"text": "x"}]}, "finishReason": "SOMETHING_NEW"}]}
        ).finish_reason
        == "stop"
    )
    assert decode_response({"candidates": [{"content": {"parts": []}}]}).finish_reason is None


def test_extra_candidates_and_missing_ids() -> None:
    body = {
        "candidates": [
            {"content": {"parts": [{"text": "a"}], "role": "model"}, "finishReason": "STOP"},
            {"content": {"parts": [{"text": "b"}], "role": "model"}, "finishReason": "STOP", "index": 1},
        ]
    }
    resp = decode_response(body)
    assert resp.id == "" and resp.model == "" and resp.parts == (TextPart("a"),)
    out = encode_response(resp, model="gemini-x", request_id="req_1")
    assert out["candidates"] == body["candidates"]
    assert out["usageMetadata"] == {"promptTokenCount": 0, "candidatesTokenCount": 0, "totalTokenCount": 0}


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"candidates": ["x"]},
        {"candidates": [{"content": {"parts": {}}}]},
        {"candidates": [{"content": {"parts": [{"text": 1}]}}]},
    ],
)
def test_malformed_upstream_responses_are_a_502(body: object) -> None:
    with pytest.raises(GatewayError) as info:
        decode_response(body)  # type: ignore[arg-type]
    assert info.value.status == 502


def test_usage_semantics_both_ways() -> None:
    raw = {
        "promptTokenCount": 100,
        "cachedContentTokenCount": 60,
        "candidatesTokenCount": 20,
        "thoughtsTokenCount": 30,
        "toolUsePromptTokenCount": 5,
        "totalTokenCount": 155,
    }
    usage = decode_usage(raw)
    # promptTokenCount already includes the cached tokens: no double count (vllm PR #40912).
    assert usage == Usage(input_tokens=105, output_tokens=50, cache_read_tokens=60, reasoning_tokens=30)
    assert encode_usage(usage) == {
        "promptTokenCount": 105,
        "candidatesTokenCount": 20,
        "thoughtsTokenCount": 30,
        "cachedContentTokenCount": 60,
        "totalTokenCount": 155,
    }
    assert decode_usage(encode_usage(usage)) == usage
    assert decode_usage(None) == Usage()
    # Cache writes (Anthropic) are inside promptTokenCount; Gemini has no field of their own.
    assert encode_usage(Usage(input_tokens=10, output_tokens=2, cache_write_tokens=4)) == {
        "promptTokenCount": 10,
        "candidatesTokenCount": 2,
        "totalTokenCount": 12,
    }


# ------------------------------------------------------------------ other protocols' responses


def test_response_from_another_vendor() -> None:
    resp = Response(
        id="msg_01XYZ",
        model="claude-opus-4-7",
        parts=(
            ThinkingPart("Let me think.", signature="EqQBCkgIARAB", signature_protocol="anthropic_messages"),
            TextPart("Checking the weather."),
            ToolCallPart("toolu_01A", "get_weather", {"city": "Paris"}),
            ToolResultPart("toolu_01A", (TextPart("ignored"),)),
            OpaquePart("anthropic_messages", {"type": "server_tool_use"}),
            OpaquePart("gemini", {"executableCode": {"language": "PYTHON", "code": "1"}}),
            MediaPart("image", file_id="file_011"),
        ),
        finish_reason="tool_use",
        usage=Usage(
            input_tokens=50, output_tokens=20, cache_read_tokens=10, cache_write_tokens=5, reasoning_tokens=8
        ),
    )
    body = encode_response(resp, model="claude-opus-4-7", request_id="req_abc")
    parsed = assert_valid_response(body)
    assert body["responseId"] == "req_abc" and body["modelVersion"] == "claude-opus-4-7"
    candidate = body["candidates"][0]
    assert candidate["finishReason"] == "STOP" and candidate["index"] == 0
    parts = candidate["content"]["parts"]
    assert parts[0]["thought"] is True and parts[0]["text"] == "Let me think."
    assert parts[1:] == [
        {"text": "Checking the weather."},
        {"functionCall": {"id": "toolu_01A", "name": "get_weather", "args": {"city": "Paris"}}},
        {"executableCode": {"language": "PYTHON", "code": "1"}},
    ]
    assert body["usageMetadata"] == {
        "promptTokenCount": 50,
        "candidatesTokenCount": 12,
        "thoughtsTokenCount": 8,
        "cachedContentTokenCount": 10,
        "totalTokenCount": 70,
    }
    assert parsed.function_calls is not None and parsed.function_calls[0].id == "toolu_01A"


def test_foreign_thinking_signature_survives_a_gemini_client_round_trip() -> None:
    resp = Response(
        "msg_1",
        "claude",
        (ThinkingPart("hmm", signature="EqQBCkgIARAB+/==", signature_protocol="anthropic_messages"),),
        "stop",
        Usage(),
    )
    body = encode_response(resp, model="claude", request_id="r")
    # The SDK parses the response and re-sends the content with bytes re-encoded (URL-safe base64).
    content = assert_valid_response(body).candidates[0].content  # type: ignore[index]
    echoed = content.model_dump(mode="json", by_alias=True, exclude_none=True)  # type: ignore[union-attr]
    req = decode_request({"contents": [{"role": "user", "parts": [{"text": "q"}]}, echoed]})
    assert req.messages[1].parts == (
        ThinkingPart("hmm", signature="EqQBCkgIARAB+/==", signature_protocol="anthropic_messages"),
    )


@pytest.mark.parametrize(
    ("finish", "wire"),
    [
        ("stop", "STOP"),
        ("length", "MAX_TOKENS"),
        ("stop_sequence", "STOP"),
        ("content_filter", "SAFETY"),
        ("refusal", "SAFETY"),
        ("pause", "OTHER"),
        ("error", "OTHER"),
    ],
)
def test_finish_reasons_to_gemini(finish: str, wire: str) -> None:
    resp = Response("id", "m", (TextPart("x"),), finish, Usage())  # type: ignore[arg-type]
    assert encode_response(resp, model="m", request_id="r")["candidates"][0]["finishReason"] == wire


def test_zero_part_responses() -> None:
    plain = encode_response(Response("id", "m", (), "stop", Usage()), model="m", request_id="r")
    # The SDK's chat records a turn only when the content has a non-empty part.
    assert plain["candidates"][0]["content"] == {"role": "model", "parts": [{"text": ""}]}
    filtered = encode_response(Response("id", "m", (), "content_filter", Usage()), model="m", request_id="r")
    assert "content" not in filtered["candidates"][0]
    unfinished = encode_response(Response("id", "m", (), None, Usage()), model="m", request_id="r")
    assert "finishReason" not in unfinished["candidates"][0]
    for body in (plain, filtered, unfinished):
        assert_valid_response(body)


def test_changed_usage_and_finish_reason_are_re_encoded() -> None:
    from dataclasses import replace

    resp = decode_response(load("response_recitation.json"))
    changed = replace(resp, finish_reason="length", usage=Usage(input_tokens=1, output_tokens=2))
    body = encode_response(changed, model="m", request_id="r")
    assert body["candidates"][0]["finishReason"] == "MAX_TOKENS"
    assert body["usageMetadata"] == {"promptTokenCount": 1, "candidatesTokenCount": 2, "totalTokenCount": 3}


def test_signed_text_keeps_its_signature() -> None:
    resp = Response(
        "id",
        "m",
        (TextPart("x", provider_data=ProviderData("gemini", {"thoughtSignature": "AAAA"})),),
        "stop",
        Usage(),
    )
    body = encode_response(resp, model="m", request_id="r")
    assert body["candidates"][0]["content"]["parts"] == [{"text": "x", "thoughtSignature": "AAAA"}]
