"""decode_response / encode_response: golden round trips, translated answers judged by the SDK."""

from __future__ import annotations

from typing import Any, get_args

import pytest
from openai.types.chat.chat_completion import Choice

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
from bytespike.protocols.openai_chat.responses import (
    FINISH_REASON_FROM_OPENAI_CHAT,
    FINISH_REASON_TO_OPENAI_CHAT,
    decode_response,
    encode_response,
)
from bytespike.protocols.openai_chat.usage import decode_usage, encode_usage
from tests.protocols.openai_chat import golden, sdk_oracle


@pytest.mark.parametrize("name", golden.names("response"))
def test_golden_response_round_trips(name: str) -> None:
    body = golden.load(name)["body"]
    resp = decode_response(body)
    assert encode_response(resp, model=body["model"], request_id="ignored") == body


def test_decoded_responses_hold_the_canonical_parts() -> None:
    text = decode_response(golden.load("response_text")["body"])
    assert text.parts == (TextPart("Bonjour !"),)
    assert (text.id, text.model, text.finish_reason) == (
        "chatcmpl-CbTQ6ZqfXWm3bX3aGMl2qqnGnRmnE",
        "gpt-5-4-2026-03-05",
        "stop",
    )
    assert text.usage == Usage(
        input_tokens=1200, output_tokens=40, cache_read_tokens=1024, reasoning_tokens=32
    )

    calls = decode_response(golden.load("response_tool_calls")["body"])
    assert calls.finish_reason == "tool_use"
    assert calls.parts == (
        ToolCallPart("call_8h3kP1", "get_weather", {"city": "Paris"}),
        ToolCallPart("call_9Jq2Lm", "get_weather", {"city": "Tokyo"}),
    )

    deepseek = decode_response(golden.load("response_deepseek_reasoning")["body"])
    assert isinstance(deepseek.parts[0], ThinkingPart) and deepseek.parts[0].text.startswith("Compare")
    assert deepseek.usage == Usage(
        input_tokens=120, output_tokens=300, cache_read_tokens=64, reasoning_tokens=280
    )

    refusal = decode_response(golden.load("response_refusal")["body"])
    assert refusal.parts == (
        TextPart(
            "I'm sorry, I cannot assist with that request.",
            provider_data=ProviderData("openai_chat", {"refusal": "field"}),
        ),
    )

    cut = decode_response(golden.load("response_length")["body"])
    assert cut.finish_reason == "length"
    # Truncated arguments are kept as text, never silently {} (protocols.md §5.5).
    assert cut.parts[0].arguments == {"_raw": '{"path":"a.txt","content":"Lorem ips'}  # type: ignore[union-attr]

    legacy = decode_response(golden.load("response_legacy_function_call")["body"])
    assert legacy.finish_reason == "tool_use"
    assert legacy.parts[0].name == "get_current_weather"  # type: ignore[union-attr]


def test_decode_edge_cases() -> None:
    body = {
        "id": "x",
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "", "reasoning": "from OpenRouter"},
                "finish_reason": "insufficient_system_resource",
            }
        ],
    }
    resp = decode_response(body)
    assert resp.parts == (
        ThinkingPart(
            "from OpenRouter", provider_data=ProviderData("openai_chat", {"field": "reasoning_content"})
        ),
    )
    assert resp.finish_reason == "error" and resp.usage == Usage()
    unknown = {
        **body,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "eos"}],
    }
    assert decode_response(unknown).finish_reason == "stop"
    empty = decode_response({"id": "x", "model": "m", "choices": []})
    assert empty.parts == () and empty.finish_reason is None
    for bad, path in [
        ({}, "choices"),
        ({"choices": [{"message": 3}]}, "choices[0].message"),
        ({"choices": [{"message": {"tool_calls": [{"id": 1}]}}]}, "choices[0].message.tool_calls[0].id"),
    ]:
        with pytest.raises(GatewayError) as err:
            decode_response(bad)
        assert (err.value.status, err.value.param) == (502, path)


def test_tool_names_rewritten_for_openai_are_restored() -> None:
    body = golden.load("response_tool_calls")["body"]
    resp = decode_response(body, tool_names={"get_weather": "weather.get"})
    assert [p.name for p in resp.parts] == ["weather.get", "weather.get"]  # type: ignore[union-attr]


def test_finish_reason_tables_cover_both_vocabularies() -> None:
    assert set(FINISH_REASON_TO_OPENAI_CHAT) == set(get_args(FinishReason))
    openai_values = set(get_args(Choice.model_fields["finish_reason"].annotation))
    assert set(FINISH_REASON_TO_OPENAI_CHAT.values()) <= openai_values
    assert set(FINISH_REASON_FROM_OPENAI_CHAT) >= openai_values
    assert set(FINISH_REASON_FROM_OPENAI_CHAT.values()) <= set(get_args(FinishReason))


def _translated(
    parts: tuple[Any, ...], finish: FinishReason | None, usage: Usage | None = None
) -> dict[str, Any]:
    resp = Response("msg_01XFDUDYJgAACzvnptvVoYEL", "claude-opus-4-8", parts, finish, usage or Usage())
    return encode_response(resp, model="gpt-alias", request_id="req_7")


@pytest.mark.parametrize("finish", [*get_args(FinishReason), None])
def test_every_finish_reason_encodes_to_a_valid_completion(finish: FinishReason | None) -> None:
    body = _translated((TextPart("hi"),), finish)
    completion = sdk_oracle.completion(body)
    expected = FINISH_REASON_TO_OPENAI_CHAT[finish] if finish is not None else "stop"
    assert completion.choices[0].finish_reason == expected


def test_translated_response_is_valid_for_the_sdk() -> None:
    parts = (
        ThinkingPart("Let me think.", signature="EqQBCkgIAR", signature_protocol="anthropic_messages"),
        ThinkingPart("", signature="opaque", signature_protocol="anthropic_messages", redacted=True),
        TextPart("Checking "),
        TextPart("both."),
        ToolCallPart("toolu_01", "get_weather", {"city": "Paris"}),
        ToolCallPart("toolu_02", "get_weather", {"city": "Tokyo"}),
        OpaquePart("anthropic_messages", {"type": "server_tool_use"}),
    )
    usage = Usage(
        input_tokens=1000,
        output_tokens=200,
        cache_read_tokens=600,
        cache_write_tokens=100,
        reasoning_tokens=50,
    )
    body = _translated(parts, "tool_use", usage)
    completion = sdk_oracle.completion(body)
    assert completion.id == "chatcmpl-req_7" and completion.model == "gpt-alias"
    message = completion.choices[0].message
    assert message.content == "Checking both." and message.refusal is None
    assert message.model_extra == {"reasoning_content": "Let me think."}
    assert [c.id for c in message.tool_calls or []] == ["toolu_01", "toolu_02"]
    assert completion.choices[0].finish_reason == "tool_calls"
    assert completion.usage is not None and completion.usage.prompt_tokens == 1000
    assert (
        completion.usage.prompt_tokens_details is not None
        and completion.usage.prompt_tokens_details.cached_tokens == 600
    )
    assert (
        completion.usage.completion_tokens_details is not None
        and completion.usage.completion_tokens_details.reasoning_tokens == 50
    )


def test_gemini_style_stop_with_calls_says_tool_calls() -> None:
    body = _translated((ToolCallPart("c", "f"),), "stop")
    assert body["choices"][0]["finish_reason"] == "tool_calls"
    assert body["choices"][0]["message"]["content"] is None


def test_images_in_answers_become_image_url_parts_and_other_parts_are_skipped() -> None:
    parts = (
        TextPart("Here:"),
        MediaPart("image", media_type="image/png", data="iVBORw0KGgo="),
        MediaPart("video", url="gs://x"),
        ToolResultPart("c"),
    )
    message = _translated(parts, "stop")["choices"][0]["message"]
    assert message["content"] == [
        {"type": "text", "text": "Here:"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
    ]
    again = decode_response(_translated(parts, "stop"))
    assert again.parts == (TextPart("Here:"), MediaPart("image", media_type="image/png", data="iVBORw0KGgo="))


def test_legacy_and_refusal_parts_encode_in_their_fields() -> None:
    legacy = decode_response(golden.load("response_legacy_function_call")["body"])
    body = encode_response(
        legacy.__class__(legacy.id, legacy.model, legacy.parts, legacy.finish_reason, legacy.usage),
        model="m",
        request_id="r",
    )
    assert body["choices"][0]["message"]["function_call"] == {
        "name": "get_current_weather",
        "arguments": '{"location":"Boston, MA"}',
    }
    assert body["choices"][0]["finish_reason"] == "tool_calls"
    refusal = _translated(
        (TextPart("no", provider_data=ProviderData("openai_chat", {"refusal": "part"})),), "refusal"
    )
    assert refusal["choices"][0]["message"]["refusal"] == "no"
    assert refusal["choices"][0]["finish_reason"] == "content_filter"


def test_changed_usage_is_reencoded() -> None:
    resp = decode_response(golden.load("response_text")["body"])
    changed = Response(
        resp.id, resp.model, resp.parts, resp.finish_reason, Usage(1, 2), provider_data=resp.provider_data
    )
    assert encode_response(changed, model="m", request_id="r")["usage"] == encode_usage(Usage(1, 2))


def test_usage_semantics_match_openai() -> None:
    """OpenAI's prompt_tokens already include cached tokens: nothing is added or subtracted."""
    usage = Usage(
        input_tokens=100, output_tokens=30, cache_read_tokens=40, cache_write_tokens=10, reasoning_tokens=5
    )
    wire = encode_usage(usage)
    assert wire == {
        "prompt_tokens": 100,
        "completion_tokens": 30,
        "total_tokens": 130,
        "prompt_tokens_details": {"cached_tokens": 40, "cache_write_tokens": 10},
        "completion_tokens_details": {"reasoning_tokens": 5},
    }
    assert decode_usage(wire) == usage
    assert (
        decode_usage(
            {"prompt_tokens": 10, "completion_tokens": 2, "prompt_cache_hit_tokens": 8}
        ).cache_read_tokens
        == 8
    )
    assert decode_usage(None) == Usage()


def test_unknown_part_kinds_fail_loudly() -> None:
    with pytest.raises(AssertionError):
        _translated((object(),), "stop")
