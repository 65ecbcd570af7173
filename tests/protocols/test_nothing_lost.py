"""Nothing is lost silently (issue 3 item 7): what a translated route cannot carry is either
mapped to the target's own field or named in ``X-ByteSpike-Degraded`` (a 400 under
``X-ByteSpike-Strict``), in both directions. Driven through the relay's own translation glue."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from bytespike.errors import GatewayError
from bytespike.relay.translation import decode_caller_request, encode_upstream_body, translate_response
from tests.protocols.openai_chat import golden as chat_golden
from tests.protocols.test_cross_protocol import translate

EPHEMERAL = {"type": "ephemeral"}


def _dropped(deg: Any) -> list[str]:
    return [name for name, _ in deg.dropped]


# ---------------------------------------------------------------- (a) Chat prompt_cache_breakpoint


def test_chat_breakpoints_become_anthropic_cache_control_on_the_same_blocks() -> None:
    body = chat_golden.load("request_cache_breakpoint")["body"]
    out, deg = translate("openai_chat", "anthropic", body)
    assert out["system"] == [
        {"type": "text", "text": "A very long shared instruction block.", "cache_control": EPHEMERAL}
    ]
    assert out["messages"][0]["content"] == [
        {"type": "text", "text": "A long document to cache.", "cache_control": EPHEMERAL},
        {"type": "text", "text": "Question about it?"},
    ]
    # The system breakpoint asked for a 12h lifetime: Anthropic offers 5m and 1h only.
    assert "system[0].cache_control.ttl" in _dropped(deg)
    assert not any(name.startswith("messages[") for name in _dropped(deg))


def test_a_breakpoint_without_a_lifetime_maps_exactly_and_passes_strict_mode() -> None:
    body = {
        "model": "m",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Long prefix.", "prompt_cache_breakpoint": {"mode": "explicit"}},
                    {
                        "type": "image_url",
                        "image_url": {"url": "https://example.com/a.png"},
                        "prompt_cache_breakpoint": {"mode": "explicit"},
                    },
                ],
            }
        ],
    }
    out, deg = translate("openai_chat", "anthropic", body, strict=True)
    blocks = out["messages"][0]["content"]
    assert [b.get("cache_control") for b in blocks] == [EPHEMERAL, EPHEMERAL]
    assert deg.dropped == []


def test_a_breakpoint_with_a_lifetime_is_a_400_in_strict_mode() -> None:
    body = chat_golden.load("request_cache_breakpoint")["body"]
    body.pop("prompt_cache_options")
    with pytest.raises(GatewayError) as err:
        translate("openai_chat", "anthropic", body, strict=True)
    assert err.value.status == 400 and err.value.param == "system[0].cache_control.ttl"


@pytest.mark.parametrize("target", ["gemini", "responses"])
def test_chat_breakpoints_are_reported_where_the_target_has_none(target: str) -> None:
    body = chat_golden.load("request_cache_breakpoint")["body"]
    _, deg = translate("openai_chat", target, body)
    assert any(name.endswith("cache_control") for name in _dropped(deg)), _dropped(deg)


def test_chat_breakpoints_go_back_to_openai_and_are_reported_to_deepseek() -> None:
    body = chat_golden.load("request_cache_breakpoint")["body"]
    out, deg = translate("openai_chat", "openai", body)
    assert out["messages"][1]["content"][0]["prompt_cache_breakpoint"] == {"mode": "explicit"}
    assert "cache_control" not in _dropped(deg)
    _, deg = translate("openai_chat", "deepseek", body)
    assert "content.prompt_cache_breakpoint" in _dropped(deg) and "cache_control" not in _dropped(deg)


# ---------------------------------------------------------------- (b) Responses caller's fields

RESPONSES_BODY: dict[str, Any] = {"model": "m", "input": "Hi"}
REPORTED_ELSEWHERE = {
    "include": ["reasoning.encrypted_content"],
    "metadata": {"ticket": "T-9"},
    "prompt_cache_key": "team-7",
    "prompt_cache_retention": "24h",
    "prompt_cache_options": {"mode": "explicit", "ttl": "30m"},
    "truncation": "auto",
}
"""Responses-only fields no other vendor has: reported on every translated route."""


@pytest.mark.parametrize("target", ["anthropic", "gemini", "deepseek"])
@pytest.mark.parametrize("field", sorted(REPORTED_ELSEWHERE))
def test_responses_only_fields_are_reported_and_refused_in_strict_mode(target: str, field: str) -> None:
    body = {**RESPONSES_BODY, field: REPORTED_ELSEWHERE[field]}
    _, deg = translate("openai_responses", target, body)
    assert _dropped(deg) == [field]
    with pytest.raises(GatewayError) as err:
        translate("openai_responses", target, body, strict=True)
    assert err.value.status == 400 and err.value.param == field


@pytest.mark.parametrize("target", ["anthropic", "gemini", "deepseek"])
def test_gateway_served_and_default_valued_fields_are_not_reported(target: str) -> None:
    body = {
        **RESPONSES_BODY,
        "store": True,
        "stream_options": {"include_obfuscation": False},
        "truncation": "disabled",
        "metadata": {},
        "include": [],
        "service_tier": "auto",
    }
    _, deg = translate("openai_responses", target, body, strict=True)
    assert deg.dropped == []


def test_safety_identifier_becomes_the_end_user_id_where_the_target_has_one() -> None:
    body = {**RESPONSES_BODY, "safety_identifier": "user-7f3a"}
    out, deg = translate("openai_responses", "anthropic", body, strict=True)
    assert out["metadata"] == {"user_id": "user-7f3a"} and deg.dropped == []
    for target in ("gemini", "deepseek"):
        _, deg = translate("openai_responses", target, body)
        assert _dropped(deg) == ["user_id"], target
    # Both given: safety_identifier wins (as in OpenAI Chat) and the other is reported.
    out, deg = translate("openai_responses", "anthropic", {**body, "user": "legacy-id"})
    assert out["metadata"] == {"user_id": "user-7f3a"} and _dropped(deg) == ["user"]


@pytest.mark.parametrize(
    ("tier", "target", "sent", "reported"),
    [
        ("default", "anthropic", ("service_tier", "standard_only"), False),
        ("auto", "anthropic", ("service_tier", "auto"), False),
        ("flex", "anthropic", None, True),
        ("priority", "anthropic", None, True),
        ("flex", "gemini", ("serviceTier", "flex"), False),
        ("priority", "gemini", ("serviceTier", "priority"), False),
        ("default", "gemini", None, False),
        ("scale", "gemini", None, True),
        ("default", "deepseek", None, False),
        ("flex", "deepseek", None, True),
    ],
)
@pytest.mark.parametrize("caller", ["openai_responses", "openai_chat"])
def test_service_tier_maps_to_the_target_tier_or_is_reported(
    caller: str, tier: str, target: str, sent: tuple[str, str] | None, reported: bool
) -> None:
    if caller == "openai_chat":
        body: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "Hi"}]}
    else:
        body = dict(RESPONSES_BODY)
    out, deg = translate(caller, target, {**body, "service_tier": tier})
    if sent is not None:
        assert out[sent[0]] == sent[1]
    assert not {"service_tier", "serviceTier"} & (out.keys() - ({sent[0]} if sent else set()))
    assert _dropped(deg) == (["service_tier"] if reported else [])


def test_an_anthropic_tier_reaches_openai_in_openai_words() -> None:
    body = {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "Hi"}]}
    out, deg = translate("anthropic_messages", "openai", {**body, "service_tier": "standard_only"})
    assert out["service_tier"] == "default" and deg.dropped == []


# ---------------------------------------------------------------- (c) an image's detail

CHAT_IMAGE = {
    "model": "m",
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "low"}},
            ],
        }
    ],
}
RESPONSES_IMAGE = {
    "model": "m",
    "input": [
        {
            "role": "user",
            "content": [
                {"type": "input_text", "text": "What is this?"},
                {"type": "input_image", "image_url": "https://example.com/a.png", "detail": "high"},
            ],
        }
    ],
}


@pytest.mark.parametrize(("caller", "body"), [("openai_chat", CHAT_IMAGE), ("openai_responses", RESPONSES_IMAGE)])
@pytest.mark.parametrize("target", ["anthropic", "gemini"])
def test_an_image_detail_is_reported_where_the_target_reads_images_its_own_way(
    caller: str, body: dict[str, Any], target: str
) -> None:
    _, deg = translate(caller, target, body)
    assert [name for name in _dropped(deg) if name.endswith(".detail")] == [
        "messages[0].content[1].detail" if target == "anthropic" else "messages[0].parts[1].detail"
    ]
    with pytest.raises(GatewayError):
        translate(caller, target, body, strict=True)


def test_an_image_detail_crosses_between_the_two_openai_wires() -> None:
    out, deg = translate("openai_chat", "responses", CHAT_IMAGE)
    assert out["input"][0]["content"][1]["detail"] == "low" and deg.dropped == []
    out, deg = translate("openai_responses", "openai", RESPONSES_IMAGE)
    assert out["messages"][0]["content"][1]["image_url"]["detail"] == "high" and deg.dropped == []


@pytest.mark.parametrize("target", ["anthropic", "gemini"])
def test_the_default_detail_is_not_reported(target: str) -> None:
    body = {**RESPONSES_IMAGE, "input": [{**RESPONSES_IMAGE["input"][0]}]}
    body["input"][0]["content"] = [
        {"type": "input_image", "image_url": "https://example.com/a.png", "detail": "auto"}
    ]
    _, deg = translate("openai_responses", target, body, strict=True)
    assert deg.dropped == []


# ---------------------------------------------------------------- (c2) a Gemini caller's part fields

def _tool_turns(name: str, **function_response: Any) -> list[dict[str, Any]]:
    """A model turn calling ``name`` and the user turn answering it with ``function_response``."""
    return [
        {"role": "model", "parts": [{"functionCall": {"name": name, "args": {}}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": name, **function_response}}]},
    ]


ICON = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
GEMINI_PART_FIELDS = {
    "contents": [
        {
            "role": "user",
            "parts": [
                {"text": "Describe both.", "partMetadata": {"source": "upload-7"}},
                {
                    "inlineData": {"mimeType": "image/png", "data": ICON},
                    "mediaResolution": {"level": "MEDIA_RESOLUTION_LOW"},
                },
                {
                    "fileData": {"mimeType": "image/png", "fileUri": "https://example.com/a.png"},
                    "videoMetadata": {"startOffset": "1s", "endOffset": "2s"},
                },
            ],
        },
        *_tool_turns("look", response={"output": "a cat"}, willContinue=True, scheduling="WHEN_IDLE"),
    ]
}
GEMINI_PART_FIELD_NAMES = [
    "contents[0].parts[0].partMetadata",
    "contents[0].parts[1].mediaResolution",
    "contents[0].parts[2].videoMetadata",
    "contents[2].parts[0].functionResponse.willContinue",
    "contents[2].parts[0].functionResponse.scheduling",
]
"""The part-level fields of protocols.md §4.2 no canonical part holds."""


@pytest.mark.parametrize("target", ["anthropic", "openai", "deepseek", "responses"])
def test_a_gemini_caller_s_part_fields_are_reported_and_refused_in_strict_mode(target: str) -> None:
    body = GEMINI_PART_FIELDS
    if target == "deepseek":  # DeepSeek reads no images: keep the text and the tool turn
        body = {"contents": [{"role": "user", "parts": body["contents"][0]["parts"][:1]}, *body["contents"][1:]]}
    _, deg = translate("gemini", target, body)
    names = GEMINI_PART_FIELD_NAMES
    expected = [names[0], *names[3:]] if target == "deepseek" else names
    assert [name for name in _dropped(deg) if name.startswith("contents[")] == expected
    with pytest.raises(GatewayError) as err:
        translate("gemini", target, body, strict=True)
    assert err.value.status == 400 and err.value.param == expected[0]


def test_gemini_state_and_empty_part_fields_are_not_reported() -> None:
    body = {
        "contents": [
            {
                "role": "user",
                "parts": [
                    {"text": "Hi", "thought": False},
                    {"inlineData": {"mimeType": "image/png", "data": ICON}, "thoughtSignature": "c2ln"},
                    {"inlineData": {"mimeType": "image/png", "data": ICON}, "videoMetadata": None},
                ],
            }
        ]
    }
    for target in ("anthropic", "openai", "responses"):
        _, deg = translate("gemini", target, body, strict=True)
        assert deg.dropped == [], target


def test_a_function_response_s_own_media_fields_are_reported() -> None:
    media = [
        {"inlineData": {"mimeType": "image/png", "data": ICON, "displayName": "s.png"}},
        {"inlineData": {"mimeType": "image/png", "data": ICON}},
    ]
    body = {"contents": _tool_turns("shot", response={"output": "taken"}, parts=media)}
    out, deg = translate("gemini", "anthropic", body)
    assert _dropped(deg) == ["contents[1].parts[0].functionResponse.parts[0].inlineData.displayName"]
    images = [b for b in out["messages"][1]["content"][0]["content"] if b["type"] == "image"]
    assert len(images) == 2  # the media themselves are carried


# ---------------------------------------------------------------- (d) drops on the way back

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
GEMINI_ANSWER = {
    "candidates": [
        {
            "content": {
                "role": "model",
                "parts": [
                    {"text": "Here is the chart and the code."},
                    {"inlineData": {"mimeType": "image/png", "data": PNG}},
                    {"executableCode": {"language": "PYTHON", "code": "print(1)"}},
                ],
            },
            "finishReason": "STOP",
        }
    ],
    "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 7, "totalTokenCount": 12},
}
ANTHROPIC_ANSWER = {
    "id": "msg_01",
    "type": "message",
    "role": "assistant",
    "model": "claude",
    "content": [
        {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "q"}},
        {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
        {"type": "text", "text": "Found nothing."},
    ],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 5, "output_tokens": 7},
}
MINIMAL_REQUEST = {
    "anthropic_messages": {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "Hi"}]},
    "openai_chat": {"model": "m", "messages": [{"role": "user", "content": "Hi"}]},
    "openai_responses": {"model": "m", "input": "Hi"},
    "gemini": {"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]},
}


def _answer(caller: str, upstream: str, body: dict[str, Any], *, strict: bool = False) -> tuple[Any, Any]:
    t = decode_caller_request(caller, upstream, MINIMAL_REQUEST[caller], strict=strict)
    _, out = translate_response(t, body, slug="model-slug", request_id="req_1")
    return out, t


@pytest.mark.parametrize(
    ("caller", "dropped"),
    [
        # Anthropic and Chat answers have no image output and no Gemini code blocks.
        ("anthropic_messages", ["response.parts[1]", "response.parts[2]"]),
        ("openai_chat", ["response.parts[2]"]),  # the image goes out as an image_url part
        ("openai_responses", ["response.parts[2]"]),  # the image as an image_generation_call
    ],
)
def test_answer_parts_the_caller_cannot_show_are_in_the_header(caller: str, dropped: list[str]) -> None:
    out, t = _answer(caller, "gemini", GEMINI_ANSWER)
    assert [name for name, _ in t.answer_deg.dropped] == dropped
    assert t.degraded_header() == ", ".join(dropped)
    assert "Here is the chart" in orjson.dumps(out).decode()


def test_another_vendors_server_tool_blocks_are_reported_to_a_gemini_caller() -> None:
    out, t = _answer("gemini", "anthropic_messages", ANTHROPIC_ANSWER)
    assert [name for name, _ in t.answer_deg.dropped] == ["response.parts[0]", "response.parts[1]"]
    assert out["candidates"][0]["content"]["parts"] == [{"text": "Found nothing."}]


def test_answer_drops_follow_the_request_drops_and_never_refuse() -> None:
    """Strict mode governs the request only: the answer is already generated and billed, so its
    losses are reported, not turned into an error."""
    t = decode_caller_request("openai_chat", "gemini", {**MINIMAL_REQUEST["openai_chat"], "seed": 1}, strict=False)
    encode_upstream_body(t, upstream_model="g", provider="gemini", stream=False)
    translate_response(t, GEMINI_ANSWER, slug="s", request_id="r")
    assert t.degraded_header() == "seed, response.parts[2]"
    strict = decode_caller_request("anthropic_messages", "gemini", MINIMAL_REQUEST["anthropic_messages"], strict=True)
    translate_response(strict, GEMINI_ANSWER, slug="s", request_id="r")
    assert [name for name, _ in strict.answer_deg.dropped] == ["response.parts[1]", "response.parts[2]"]


def test_a_whole_answer_that_loses_nothing_adds_nothing_to_the_header() -> None:
    plain = {**GEMINI_ANSWER, "candidates": [{**GEMINI_ANSWER["candidates"][0]}]}
    plain["candidates"][0]["content"] = {"role": "model", "parts": [{"text": "Hi"}]}
    for caller in ("anthropic_messages", "openai_chat", "openai_responses"):
        _, t = _answer(caller, "gemini", plain)
        assert t.degraded_header() is None, caller
