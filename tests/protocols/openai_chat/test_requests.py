"""decode_request / encode_request on OpenAI Chat bodies: golden round trips, field mapping, 400s."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import pytest

from bytespike.canonical.degradation import Degradations
from bytespike.canonical.parts import (
    MediaPart,
    OpaquePart,
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
from bytespike.protocols.openai_chat.requests import (
    check_request,
    decode_request,
    encode_request,
    max_output_tokens,
    wants_usage,
)
from tests.protocols.openai_chat import golden


def _encode(
    req: Request, *, flavor: str = "openai", strict: bool = False
) -> tuple[dict[str, Any], list[str]]:
    deg = Degradations(strict=strict)
    body = encode_request(req, model="target-model", deg=deg, flavor=flavor)  # type: ignore[arg-type]
    return body, [f for f, _ in deg.dropped]


@pytest.mark.parametrize("name", golden.names("request"))
def test_golden_request_round_trips(name: str) -> None:
    fixture = golden.load(name)
    body = fixture["body"]
    original = copy.deepcopy(body)
    deg = Degradations(strict=True)
    req = decode_request(body)
    out = encode_request(req, model=body["model"], deg=deg, flavor=fixture.get("flavor", "openai"))
    assert body == original, "decode_request must not mutate its input"
    assert out == fixture.get("normalized", body)
    assert deg.dropped == []
    check_request(out)
    assert decode_request(out) == decode_request(fixture.get("normalized", body))


def _canonical_view(req: Request) -> Request:
    """What survives translation: the canonical fields, without this protocol's extras."""
    reasoning = req.reasoning and replace(
        req.reasoning, enabled=None if req.reasoning.effort else req.reasoning.enabled
    )
    return replace(req, extras={}, reasoning=reasoning, model="")


@pytest.mark.parametrize("name", golden.names("request"))
def test_translated_request_keeps_every_canonical_field(name: str) -> None:
    """Without the OpenAI layout (a request decoded from another protocol), the structural encoder
    alone must still carry every canonical field: decoding its output gives the same request."""
    fixture = golden.load(name)
    req = replace(decode_request(fixture["body"]), extras={})
    out, _ = _encode(req, flavor="openai")
    check_request(out)
    assert _canonical_view(decode_request(out)) == _canonical_view(req)


def test_decode_maps_every_field_to_its_canonical_home() -> None:
    req = decode_request(golden.load("request_system")["body"])
    assert req.system == (
        TextPart("You are a terse assistant."),
        TextPart("Answer in English."),
        TextPart("Never use emoji."),
    )
    assert [m.role for m in req.messages] == ["user", "assistant", "system", "system", "user"]
    assert req.messages[2].parts == (TextPart("From now on, answer in German."),)
    assert req.max_tokens == 50 and req.user_id == "user-1234"

    tools = decode_request(golden.load("request_tools")["body"])
    assert tools.tool_choice == ToolChoice("tool", "get_weather", parallel=True)
    assert tools.tools[0].strict is True
    assert tools.tools[1].parameters == {
        "type": "object",
        "properties": {"input": {"type": "string"}},
        "required": ["input"],
    }
    results = tools.messages[2]
    assert results.role == "user"
    assert [p.tool_call_id for p in results.parts if isinstance(p, ToolResultPart)] == [
        "call_paris01",
        "call_tokyo02",
    ]
    assert all(isinstance(p, ToolResultPart) and p.name == "get_weather" for p in results.parts)
    calls = [p for p in tools.messages[1].parts if isinstance(p, ToolCallPart)]
    assert calls[1].arguments == {"city": "Tokyo", "unit": "c"}
    custom = tools.messages[3].parts[1]
    assert isinstance(custom, ToolCallPart) and custom.arguments == {"input": "check --all"}

    images = decode_request(golden.load("request_images")["body"]).messages[0].parts
    assert images[1] == MediaPart("image", media_type="image/png", data=images[1].data)  # type: ignore[union-attr]
    assert images[2] == MediaPart(
        "image",
        url="https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg",
        detail="high",
    )
    assert isinstance(images[3], MediaPart) and images[3].media_type == "audio/wav"
    assert isinstance(images[4], MediaPart) and (images[4].kind, images[4].filename) == (
        "document",
        "report.pdf",
    )
    assert isinstance(images[5], MediaPart) and images[5].file_id == "file-6F2ksmvXxt4VdoqmHRw6kL"

    thinking = decode_request(golden.load("request_reasoning")["body"])
    assert thinking.reasoning == Reasoning(enabled=True, effort="high")
    first = thinking.messages[1].parts[0]
    assert isinstance(first, ThinkingPart) and first.text.startswith("I need the date")

    schema = decode_request(golden.load("request_json_schema")["body"])
    assert schema.response_format is not None and schema.response_format.name == "calendar_event"
    assert schema.stop == ("\n\n", "END")
    extras = schema.extras["openai_chat"]["fields"]
    assert extras["logit_bias"] == {"50256": -100} and extras["top_logprobs"] == 2

    json_object = decode_request(golden.load("request_json_object")["body"])
    assert json_object.extras["openai_chat"]["fields"]["n"] == 2  # for other encoders' n > 1 check
    assert json_object.reasoning == Reasoning(enabled=False)
    assert json_object.stream is False and json_object.temperature is None

    legacy = decode_request(golden.load("request_legacy_functions")["body"])
    assert legacy.tools[0].name == "get_current_weather" and legacy.tool_choice == ToolChoice("auto")
    call = legacy.messages[1].parts[0]
    result = legacy.messages[2].parts[0]
    assert isinstance(call, ToolCallPart) and isinstance(result, ToolResultPart)
    assert call.id == result.tool_call_id == "call_legacy_0" and result.name == "get_current_weather"


def test_fast_path_helpers_keep_their_behaviour() -> None:
    assert max_output_tokens({"max_tokens": 5}) == 5
    assert max_output_tokens({"max_completion_tokens": 7, "max_tokens": 5}) == 7
    assert max_output_tokens({}) == 0
    assert wants_usage({"stream_options": {"include_usage": True}})
    assert not wants_usage({"stream_options": None})


@pytest.mark.parametrize(
    ("mutate", "param"),
    [
        (lambda b: b.update(messages=[{"role": "user"}]), "messages[0].content"),
        (
            lambda b: b.update(messages=[{"role": "user", "content": [{"type": "image_url"}]}]),
            "messages[0].content[0].image_url",
        ),
        (
            lambda b: b.update(
                messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]
            ),
            "messages[0].content[0].image_url.url",
        ),
        (
            lambda b: b.update(messages=[{"role": "user", "content": [{"text": "x"}]}]),
            "messages[0].content[0]",
        ),
        (
            lambda b: b.update(
                messages=[
                    {"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "x"}}]}
                ]
            ),
            "messages[0].content[0].input_audio.format",
        ),
        (
            lambda b: b.update(
                messages=[{"role": "user", "content": [{"type": "file", "file": {"filename": "a"}}]}]
            ),
            "messages[0].content[0].file",
        ),
        (
            lambda b: b.update(
                messages=[{"role": "user", "content": [{"type": "file", "file": {"file_id": 3}}]}]
            ),
            "messages[0].content[0].file.file_id",
        ),
        (
            lambda b: b.update(messages=[{"role": "system", "content": [{"type": "image_url"}]}]),
            "messages[0].content[0]",
        ),
        (lambda b: b.update(messages=[{"role": "system", "content": 3}]), "messages[0].content"),
        (
            lambda b: b.update(messages=[{"role": "assistant", "content": [{"type": "refusal"}]}]),
            "messages[0].content[0].refusal",
        ),
        (
            lambda b: b.update(messages=[{"role": "assistant", "tool_calls": {"id": "x"}}]),
            "messages[0].tool_calls",
        ),
        (
            lambda b: b.update(messages=[{"role": "assistant", "tool_calls": ["x"]}]),
            "messages[0].tool_calls[0]",
        ),
        (
            lambda b: b.update(messages=[{"role": "assistant", "tool_calls": [{"function": {}}]}]),
            "messages[0].tool_calls[0].id",
        ),
        (
            lambda b: b.update(
                messages=[{"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f"}}]}]
            ),
            "messages[0].tool_calls[0].function.arguments",
        ),
        (
            lambda b: b.update(
                messages=[{"role": "assistant", "tool_calls": [{"id": "c", "type": "web", "function": {}}]}]
            ),
            "messages[0].tool_calls[0].type",
        ),
        (
            lambda b: b.update(messages=[{"role": "assistant", "function_call": "f"}]),
            "messages[0].function_call",
        ),
        (lambda b: b.update(messages=[{"role": "assistant", "content": 3}]), "messages[0].content"),
        (
            lambda b: b.update(messages=[{"role": "assistant", "reasoning_content": 3}]),
            "messages[0].reasoning_content",
        ),
        (lambda b: b.update(messages=[{"role": "tool", "content": "x"}]), "messages[0].tool_call_id"),
        (lambda b: b.update(messages=[{"role": "function", "content": "x"}]), "messages[0].name"),
        (lambda b: b.update(messages=[{"role": "function", "name": "f", "content": "x"}]), "messages[0]"),
        (lambda b: b.update(stop=3), "stop"),
        (lambda b: b.update(tools=[{"type": "web_search"}]), "tools[0].type"),
        (lambda b: b.update(tools=[{"type": "function", "function": "f"}]), "tools[0].function"),
        (
            lambda b: b.update(tools=[{"type": "function", "function": {"name": "f", "strict": "yes"}}]),
            "tools[0].function.strict",
        ),
        (lambda b: b.update(tools=[{"type": "custom", "custom": {}}]), "tools[0].custom.name"),
        (lambda b: b.update(tools=[], functions=[]), "functions"),
        (lambda b: b.update(functions={}), "functions"),
        (lambda b: b.update(tool_choice="any"), "tool_choice"),
        (lambda b: b.update(tool_choice={"type": "function", "function": {}}), "tool_choice.function.name"),
        (
            lambda b: b.update(tool_choice={"type": "allowed_tools", "allowed_tools": {"mode": "none"}}),
            "tool_choice",
        ),
        (lambda b: b.update(tool_choice="auto", function_call="auto"), "function_call"),
        (lambda b: b.update(function_call={}), "function_call.name"),
        (lambda b: b.update(parallel_tool_calls="no"), "parallel_tool_calls"),
        (lambda b: b.update(response_format={"type": "xml"}), "response_format.type"),
        (
            lambda b: b.update(response_format={"type": "json_schema", "json_schema": {}}),
            "response_format.json_schema.name",
        ),
        (
            lambda b: b.update(
                response_format={"type": "json_schema", "json_schema": {"name": "n", "schema": []}}
            ),
            "response_format.json_schema.schema",
        ),
        (lambda b: b.update(reasoning_effort=1), "reasoning_effort"),
        (lambda b: b.update(user=1), "user"),
        (lambda b: b.update(max_tokens=-1), "max_tokens"),
        (lambda b: b.update(temperature="hot"), "temperature"),
    ],
)
def test_malformed_requests_are_400s_naming_the_field(mutate: Any, param: str) -> None:
    body: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
    mutate(body)
    with pytest.raises(GatewayError) as err:
        decode_request(body)
    assert err.value.status == 400
    assert err.value.param == param
    assert param in err.value.message


def test_unrecognized_thinking_shapes_and_unknown_fields_travel_verbatim() -> None:
    body = {
        "model": "m",
        "messages": [{"role": "user", "content": "x"}],
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "top_k": 20,
        "chat_template_kwargs": {"enable_thinking": False},
    }
    req = decode_request(body)
    assert req.reasoning is None and req.top_k is None
    assert req.extras["openai_chat"]["fields"]["top_k"] == 20
    assert encode_request(req, model="m", deg=Degradations()) == body


def test_both_user_fields_and_both_max_tokens_fields_round_trip() -> None:
    body = {
        "model": "m",
        "messages": [{"role": "user", "content": [{"type": "unknown_future_part", "x": 1}]}],
        "user": "u",
        "safety_identifier": "s",
        "max_tokens": 10,
        "max_completion_tokens": 20,
        "reasoning_effort": "none",
        "thinking": {"type": "disabled"},
    }
    req = decode_request(body)
    assert req.user_id == "s" and req.max_tokens == 20
    assert req.messages[0].parts == (OpaquePart("openai_chat", {"type": "unknown_future_part", "x": 1}),)
    assert encode_request(req, model="m", deg=Degradations()) == body


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ([], None),
        ({"messages": [{"role": "user", "content": "x"}]}, "model"),
        ({"model": "m", "messages": []}, "messages"),
        ({"model": "m", "messages": ["x"]}, "messages[0]"),
        ({"model": "m", "messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
        ({"model": "m", "messages": [{"role": "user", "content": 1}]}, "messages[0].content"),
        ({"model": "m", "messages": [{"role": "system", "content": None}]}, "messages[0].content"),
        ({"model": "m", "messages": [{"role": "user", "content": None}]}, "messages[0].content"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": "yes"}, "stream"),
        (
            {"model": "m", "messages": [{"role": "user", "content": "x"}], "stream_options": True},
            "stream_options",
        ),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": {}}, "tools"),
    ],
)
def test_check_request_shapes(body: Any, param: str | None) -> None:
    with pytest.raises(GatewayError) as err:
        decode_request(body)
    assert err.value.status == 400 and err.value.param == param


@pytest.mark.parametrize(
    "req",
    [
        Request("m", (Message("robot", (TextPart("x"),)),)),  # type: ignore[arg-type]
        Request("m", (Message("user", (object(),)),)),  # type: ignore[arg-type]
        Request("m", (Message("assistant", (object(),)),)),  # type: ignore[arg-type]
        Request("m", (Message("user", (TextPart("x"),)),), response_format=ResponseFormat("xml")),  # type: ignore[arg-type]
        Request(
            "m",
            (Message("user", (TextPart("x"),)),),
            tools=(ToolDefinition("f"),),
            tool_choice=ToolChoice("any"),
        ),  # type: ignore[arg-type]
    ],
)
def test_unknown_kinds_fail_loudly(req: Request) -> None:
    """Every match on a kind ends in assert_never (STYLE.md habit 5): nothing slips through."""
    with pytest.raises(AssertionError):
        _encode(req)
