"""Golden request fixtures: decode → encode gives the same body back (modulo the documented
normalizations), plus the decode validation paths and the fast-path shape check."""

from __future__ import annotations

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
from bytespike.canonical.request import Reasoning, ToolChoice, ToolDefinition
from bytespike.errors import GatewayError
from bytespike.protocols.anthropic_messages.requests import (
    check_request,
    decode_request,
    encode_request,
    max_output_tokens,
)
from tests.protocols.anthropic_messages.canonical import assistant, encode, request, system, user
from tests.protocols.anthropic_messages.fixtures import load, names


@pytest.mark.parametrize("name", names("request"))
def test_golden_round_trip(name: str) -> None:
    fx = load(name)
    body = fx["request"]
    check_request(body)
    deg = Degradations()
    version = fx.get("version", "2023-06-01")
    out = encode_request(decode_request(body), model=body["model"], deg=deg, version=version)
    assert out == fx.get("expected", body)
    assert sorted(f for f, _ in deg.dropped) == sorted(fx.get("dropped", []))
    # What we send passes our own checks and decodes to the same request again.
    check_request(out)
    assert (
        encode_request(decode_request(out), model=body["model"], deg=Degradations(), version=version) == out
    )


def test_decoded_parts_of_the_tools_fixture() -> None:
    req = decode_request(load("request_tools")["request"])
    assistant, results = req.messages[1], req.messages[2]
    assert [type(p) for p in assistant.parts] == [TextPart, ToolCallPart, ToolCallPart, ToolCallPart]
    assert assistant.parts[1] == ToolCallPart(
        "toolu_01A09q90qw90lq917835lq9", "get_weather", {"location": "Paris, France", "unit": "celsius"}
    )
    error = results.parts[1]
    assert isinstance(error, ToolResultPart) and error.is_error
    screenshot = results.parts[2]
    assert isinstance(screenshot, ToolResultPart)
    assert isinstance(screenshot.content[1], MediaPart) and screenshot.content[1].media_type == "image/png"
    assert req.tool_choice is not None and req.tool_choice.parallel is True
    assert req.tools[0].strict is True


def test_decoded_thinking_and_server_blocks() -> None:
    req = decode_request(load("request_thinking_adaptive")["request"])
    thinking, redacted = req.messages[1].parts[:2]
    assert isinstance(thinking, ThinkingPart) and thinking.signature_protocol == "anthropic_messages"
    assert isinstance(redacted, ThinkingPart) and redacted.redacted and redacted.signature
    assert req.reasoning is not None
    assert (req.reasoning.enabled, req.reasoning.effort, req.reasoning.include_thoughts) == (
        True,
        "high",
        True,
    )
    server = decode_request(load("request_server_tools")["request"])
    kinds = [type(p) for p in server.messages[1].parts]
    assert kinds == [OpaquePart, OpaquePart, TextPart, ToolCallPart]
    assert all(
        p.protocol == "anthropic_messages" for p in server.messages[1].parts if isinstance(p, OpaquePart)
    )
    assert [t.name for t in server.tools] == ["lookup"]


def test_both_version_eras_decode() -> None:
    old = decode_request(load("request_system_and_sampling")["request"])
    assert (old.temperature, old.top_p, old.top_k) == (0.3, 0.9, 40)
    assert old.stop == ("\n\nHuman:", "FIN") and old.user_id == "13803d75-b4b5-4c3e-b2a2-6f21399b021b"
    new = decode_request(load("request_version_2026")["request"])
    assert (new.temperature, new.top_p, new.top_k) == (None, None, None)
    assert new.reasoning is not None and new.reasoning.enabled and new.reasoning.effort == "xhigh"
    assert new.stream


def test_count_tokens_body() -> None:
    body = {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}],
        "speed": "fast",
        "service_tier": "auto",
    }
    check_request(body, count_tokens=True)
    req = decode_request(body, count_tokens=True)
    assert req.max_tokens is None
    out = encode_request(req, model="m", deg=Degradations(), count_tokens=True)
    assert out == {
        "model": "m",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        "speed": "fast",
    }
    with pytest.raises(GatewayError, match="max_tokens"):
        decode_request(body)


def test_max_output_tokens() -> None:
    assert max_output_tokens({"max_tokens": 77}) == 77
    assert max_output_tokens({}) == 0


BAD_BODIES = [
    ([], None),
    ({"max_tokens": 1, "messages": []}, "model"),
    ({"model": "m", "messages": []}, "max_tokens"),
    ({"model": "m", "max_tokens": -1, "messages": []}, "max_tokens"),
    ({"model": "m", "max_tokens": 1}, "messages"),
    ({"model": "m", "max_tokens": 1, "messages": ["x"]}, "messages[0]"),
    ({"model": "m", "max_tokens": 1, "messages": [{"role": "tool", "content": "x"}]}, "messages[0].role"),
    ({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": 3}]}, "messages[0].content"),
    (
        {"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": [{"text": "x"}]}]},
        "messages[0].content[0]",
    ),
    (
        {
            "model": "m",
            "max_tokens": 1,
            "messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}],
        },
        "messages[0].content[0].text",
    ),
    (
        {
            "model": "m",
            "max_tokens": 1,
            "messages": [
                {
                    "role": "system",
                    "content": [{"type": "image", "source": {"type": "url", "url": "https://x"}}],
                }
            ],
        },
        "messages[0].content[0]",
    ),
    (
        {
            "model": "m",
            "max_tokens": 1,
            "messages": [
                {"role": "user", "content": [{"type": "image", "source": {"type": "base64", "data": "x"}}]}
            ],
        },
        "messages[0].content[0].source.media_type",
    ),
    (
        {"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": [{"type": "image"}]}]},
        "messages[0].content[0].source",
    ),
    (
        {
            "model": "m",
            "max_tokens": 1,
            "messages": [
                {
                    "role": "assistant",
                    "content": [{"type": "tool_use", "id": "a", "name": "f", "input": "{}"}],
                }
            ],
        },
        "messages[0].content[0].input",
    ),
    (
        {
            "model": "m",
            "max_tokens": 1,
            "messages": [
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "a", "content": 4}]}
            ],
        },
        "messages[0].content[0].content",
    ),
    (
        {
            "model": "m",
            "max_tokens": 1,
            "messages": [
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "a", "is_error": "yes"}]}
            ],
        },
        "messages[0].content[0].is_error",
    ),
    (
        {
            "model": "m",
            "max_tokens": 1,
            "messages": [
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "x", "cache_control": {"type": "persistent"}}],
                }
            ],
        },
        "messages[0].content[0].cache_control",
    ),
    ({"model": "m", "max_tokens": 1, "messages": [], "system": 3}, "system"),
    (
        {
            "model": "m",
            "max_tokens": 1,
            "messages": [],
            "system": [{"type": "image", "source": {"type": "url", "url": "https://x"}}],
        },
        "system[0]",
    ),
    ({"model": "m", "max_tokens": 1, "messages": [], "stop_sequences": "STOP"}, "stop_sequences"),
    ({"model": "m", "max_tokens": 1, "messages": [], "stop_sequences": [1]}, "stop_sequences[0]"),
    ({"model": "m", "max_tokens": 1, "messages": [], "stream": "yes"}, "stream"),
    ({"model": "m", "max_tokens": 1, "messages": [], "temperature": "hot"}, "temperature"),
    ({"model": "m", "max_tokens": 1, "messages": [], "top_k": 1.5}, "top_k"),
    ({"model": "m", "max_tokens": 1, "messages": [], "tools": {}}, "tools"),
    ({"model": "m", "max_tokens": 1, "messages": [], "tools": ["f"]}, "tools[0]"),
    ({"model": "m", "max_tokens": 1, "messages": [], "tools": [{"name": "f"}]}, "tools[0].input_schema"),
    (
        {
            "model": "m",
            "max_tokens": 1,
            "messages": [],
            "tools": [{"name": "f", "input_schema": {}, "strict": 1}],
        },
        "tools[0].strict",
    ),
    (
        {"model": "m", "max_tokens": 1, "messages": [], "tool_choice": {"type": "required"}},
        "tool_choice.type",
    ),
    ({"model": "m", "max_tokens": 1, "messages": [], "tool_choice": {"type": "tool"}}, "tool_choice.name"),
    (
        {
            "model": "m",
            "max_tokens": 1,
            "messages": [],
            "tool_choice": {"type": "any", "disable_parallel_tool_use": "no"},
        },
        "tool_choice.disable_parallel_tool_use",
    ),
    ({"model": "m", "max_tokens": 1, "messages": [], "thinking": "on"}, "thinking"),
    ({"model": "m", "max_tokens": 1, "messages": [], "thinking": {"type": "maybe"}}, "thinking.type"),
    (
        {"model": "m", "max_tokens": 1, "messages": [], "thinking": {"type": "enabled"}},
        "thinking.budget_tokens",
    ),
    ({"model": "m", "max_tokens": 1, "messages": [], "output_config": []}, "output_config"),
    ({"model": "m", "max_tokens": 1, "messages": [], "output_config": {"effort": 3}}, "output_config.effort"),
    (
        {"model": "m", "max_tokens": 1, "messages": [], "output_config": {"format": {"type": "json_object"}}},
        "output_config.format.type",
    ),
    (
        {"model": "m", "max_tokens": 1, "messages": [], "output_config": {"format": {"type": "json_schema"}}},
        "output_config.format.schema",
    ),
    (
        {
            "model": "m",
            "max_tokens": 1,
            "messages": [],
            "output_config": {"format": {"type": "json_schema", "schema": {}}},
            "output_format": {"type": "json_schema", "schema": {}},
        },
        "output_format",
    ),
    (
        {"model": "m", "max_tokens": 1, "messages": [], "cache_control": {"type": "ephemeral", "ttl": 5}},
        "cache_control.ttl",
    ),
]


@pytest.mark.parametrize(("body", "param"), BAD_BODIES)
def test_malformed_bodies_are_400s_naming_the_field(body: object, param: str | None) -> None:
    with pytest.raises(GatewayError) as info:
        decode_request(body)
    assert info.value.status == 400
    assert info.value.param == param


# -- requests translated from other protocols ----------------------------------------------------


def test_sampling_params_by_api_version() -> None:
    req = request(temperature=1.4, top_p=0.8, top_k=20)
    old, dropped = encode(req)
    assert (old["temperature"], old["top_p"], old["top_k"]) == (1, 0.8, 20)
    assert list(dropped) == ["temperature"]  # clamped: Anthropic's range is 0–1
    new, dropped = encode(req, version="2026-10-21")
    assert not {"temperature", "top_p", "top_k"} & set(new)
    assert set(dropped) == {"temperature", "top_p", "top_k"}
    assert "2026-10-21" in dropped["top_k"]


def test_sampling_leftovers_never_reach_a_2026_upstream() -> None:
    body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}], "top_k": None}
    out, dropped = encode(decode_request(body), version="2026-10-21")
    assert "top_k" not in out and not dropped


def test_metadata_user_id() -> None:
    body, dropped = encode(request(user_id="user-7f3a"))
    assert body["metadata"] == {"user_id": "user-7f3a"} and not dropped
    body, dropped = encode(request(user_id="jane@example.com"))
    assert "metadata" not in body and list(dropped) == ["metadata.user_id"]


def test_fields_of_other_protocols_are_reported() -> None:
    req = request(
        extras={
            "openai_chat": {"seed": 7, "logit_bias": {"1": 2}},
            "anthropic_messages": {"body": {"speed": "fast"}},
        }
    )
    body, dropped = encode(req)
    assert body["speed"] == "fast" and "seed" not in body
    assert set(dropped) == {"seed", "logit_bias"}


def test_blank_stop_sequences_are_dropped() -> None:
    body, dropped = encode(request(stop=("END", " ", "")))
    assert body["stop_sequences"] == ["END"] and list(dropped) == ["stop_sequences"]
    body, dropped = encode(request(stop=("\n",)))
    assert "stop_sequences" not in body


def test_blank_system_is_not_sent() -> None:
    body, _ = encode(request(system=(TextPart(" "), TextPart(""))))
    assert "system" not in body


def test_count_tokens_drops_generation_fields() -> None:
    body, dropped = encode(
        request(stream=True, max_tokens=5, temperature=0.5, stop=("x",), user_id="u"), count_tokens=True
    )
    assert body == {
        "model": "claude-sonnet-4-6",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
    }
    assert not dropped


def test_snapshot_of_a_translated_openai_chat_request() -> None:
    """A whole Claude-Code-over-OpenAI-style history as another decoder would produce it."""
    req = request(
        user(
            "What is in this image, and what's the weather there?",
            MediaPart("image", url="data:image/png;base64,iVBORw0KGgo="),
        ),
        assistant(
            ThinkingPart("The image shows Paris.", signature="gAAAAB", signature_protocol="openai_responses"),
            ToolCallPart("call_Xq1|fc_1", "get_weather", {"city": "Paris"}),
        ),
        user(ToolResultPart("call_Xq1|fc_1", (TextPart('{"temp": 15}'),))),
        system("Answer in one sentence."),
        assistant("It is the Eiffel Tower; 15 °C."),
        user(""),
        user("Thanks! And tomorrow?"),
        system=(TextPart("You are helpful.", cache_control=CacheControl()),),
        tools=(
            ToolDefinition(
                "get_weather",
                "Weather by city",
                {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
            ),
        ),
        tool_choice=ToolChoice("auto", parallel=False),
        max_tokens=None,
        temperature=0.7,
        stream=True,
        reasoning=Reasoning(effort="medium"),
        stop=("###",),
        extras={"openai_chat": {"n": 1}},
    )
    body, dropped = encode(req, version="2023-06-01")
    call_id = body["messages"][1]["content"][0]["id"]
    assert body == {
        "model": "claude-sonnet-4-6",
        "system": [{"type": "text", "text": "You are helpful.", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in this image, and what's the weather there?"},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
                    },
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": call_id, "name": "get_weather", "input": {"city": "Paris"}}
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": call_id,
                        "content": [{"type": "text", "text": '{"temp": 15}'}],
                    }
                ],
            },
            # after a user turn and before an assistant turn: Anthropic accepts it inline
            {"role": "system", "content": [{"type": "text", "text": "Answer in one sentence."}]},
            {"role": "assistant", "content": [{"type": "text", "text": "It is the Eiffel Tower; 15 °C."}]},
            {"role": "user", "content": [{"type": "text", "text": "Thanks! And tomorrow?"}]},
        ],
        "output_config": {"effort": "medium"},
        "tools": [
            {
                "name": "get_weather",
                "description": "Weather by city",
                "input_schema": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            }
        ],
        "tool_choice": {"type": "auto", "disable_parallel_tool_use": True},
        "max_tokens": 4096,
        "stream": True,
        "stop_sequences": ["###"],
        "temperature": 0.7,
    }
    assert call_id.startswith("call_Xq1_fc_1_")
    assert set(dropped) == {"messages[1].content[0].thinking", "n"}


CHECK_FAILURES = [
    ([], None),
    ({"max_tokens": 1, "messages": []}, "model"),
    ({"model": "m", "messages": []}, "max_tokens"),
    ({"model": "m", "max_tokens": True, "messages": []}, "max_tokens"),
    ({"model": "m", "max_tokens": 1}, "messages"),
    ({"model": "m", "max_tokens": 1, "messages": [1]}, "messages.0"),
    ({"model": "m", "max_tokens": 1, "messages": [{"role": "tool", "content": ""}]}, "messages.0.role"),
    ({"model": "m", "max_tokens": 1, "messages": [{"role": "user"}]}, "messages.0.content"),
    (
        {"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": [{}]}]},
        "messages.0.content.0",
    ),
    ({"model": "m", "max_tokens": 1, "messages": [], "system": 1}, "system"),
    ({"model": "m", "max_tokens": 1, "messages": [], "stream": 1}, "stream"),
    ({"model": "m", "max_tokens": 1, "messages": [], "top_p": None}, "top_p"),
    ({"model": "m", "max_tokens": 1, "messages": [], "tools": {}}, "tools"),
    ({"model": "m", "max_tokens": 1, "messages": [], "stop_sequences": [1]}, "stop_sequences"),
]


@pytest.mark.parametrize(("body", "param"), CHECK_FAILURES)
def test_fast_path_check(body: object, param: str | None) -> None:
    with pytest.raises(GatewayError) as info:
        check_request(body)
    assert info.value.param == param
