"""One regression test per translation bug of protocols.md §7 that concerns the Gemini codec."""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest

from bytespike.canonical.assembler import Assembler
from bytespike.canonical.degradation import Degradations
from bytespike.canonical.events import (
    PartDelta,
    PartEnd,
    PartStart,
    ResponseEnd,
    ResponseStart,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    ToolArgumentsDelta,
)
from bytespike.canonical.parts import ProviderData, TextPart, ThinkingPart, ToolCallPart, ToolResultPart
from bytespike.canonical.request import Message, Request, ResponseFormat, ToolDefinition
from bytespike.canonical.response import Response
from bytespike.canonical.usage import Usage
from bytespike.errors import GatewayError
from bytespike.protocols.gemini.requests import decode_request, encode_request
from bytespike.protocols.gemini.responses import decode_response, encode_response
from bytespike.protocols.gemini.signatures import SKIP_SIGNATURE_SENTINEL
from bytespike.protocols.gemini.streaming import StreamDecoder, StreamEncoder
from bytespike.protocols.gemini.usage import decode_usage, encode_usage
from bytespike.protocols.sse import SSESplitter

SIG = "CiQBVKhc7yOq0d3Dy7gHqJ3oV5d4kz5nKc1mQ2x9vYw5o8PKjJ0SaQFUqFzvX0yq"


def frames(*chunks: dict[str, Any]) -> list[bytes]:
    return [b"data: " + orjson.dumps(c) + b"\r\n\r\n" for c in chunks]


def decode(*chunks: dict[str, Any]) -> list[StreamEvent]:
    decoder = StreamDecoder()
    return [e for f in frames(*chunks) for e in decoder.feed(f)] + decoder.finish()


def assemble(events: list[StreamEvent]) -> Response:
    assembler = Assembler()
    for event in events:
        assembler.feed(event)
    return assembler.response()


def encode(events: list[StreamEvent]) -> list[dict[str, Any]]:
    encoder = StreamEncoder(model="m", request_id="req_1")
    stream = b"".join(encoder.encode(e) for e in events)
    return [orjson.loads(f[6:]) for f in SSESplitter().feed(stream)]


def wire_parts(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for c in chunks for p in c["candidates"][0]["content"]["parts"]]


def chunk(parts: list[dict[str, Any]], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}}
    if finish:
        candidate["finishReason"] = finish
    return {"candidates": [candidate], "responseId": "r1", **extra}


def to_gemini(req: Request, deg: Degradations | None = None) -> dict[str, Any]:
    return encode_request(req, model="gemini-3-pro-preview", deg=deg or Degradations())


# ------------------------------------------------------------------ tool-call streaming


def test_litellm_25561_25836_25390_gemini_tool_input_is_not_lost() -> None:
    events = decode(chunk([{"functionCall": {"name": "edit", "args": {"path": "a.py", "n": 2}}}], "STOP"))
    (call,) = assemble(events).parts
    assert isinstance(call, ToolCallPart) and call.arguments == {"path": "a.py", "n": 2}


def test_litellm_pr_16194_parallel_calls_get_distinct_indices_across_chunks() -> None:
    events = decode(
        chunk([{"functionCall": {"name": "a", "args": {}}}, {"functionCall": {"name": "b", "args": {}}}]),
        chunk([{"functionCall": {"name": "c", "args": {}}}], "STOP"),
    )
    assert [e.index for e in events if isinstance(e, PartStart)] == [0, 1, 2]
    ids = [p.id for p in assemble(events).parts if isinstance(p, ToolCallPart)]
    assert len(set(ids)) == 3


def test_litellm_pr_19928_and_pr_13638_fragments_are_accumulated_never_sent_as_text() -> None:
    parts = wire_parts(
        encode(
            [
                ResponseStart("x", "y"),
                PartStart(0, ToolCallPart("call_1", "search")),
                PartDelta(0, ToolArgumentsDelta('{"q": ')),
                PartDelta(0, ToolArgumentsDelta('"gemini"}')),
                PartEnd(0),
                ResponseEnd("tool_use", Usage()),
            ]
        )
    )
    assert parts[0] == {"functionCall": {"id": "call_1", "name": "search", "args": {"q": "gemini"}}}
    assert not any("text" in p and p["text"] for p in parts)


def test_litellm_27144_arguments_given_only_whole_are_sent() -> None:
    parts = wire_parts(
        encode(
            [
                PartStart(0, ToolCallPart("call_1", "search", {"q": "done-only"})),
                PartEnd(0),
                ResponseEnd("tool_use", Usage()),
            ]
        )
    )
    assert parts[0]["functionCall"]["args"] == {"q": "done-only"}


def test_praxis_266_kitty_bridge_116_interleaved_parallel_calls_keep_their_own_arguments() -> None:
    parts = wire_parts(
        encode(
            [
                PartStart(0, ToolCallPart("a", "f")),
                PartStart(1, ToolCallPart("b", "f")),
                PartDelta(1, ToolArgumentsDelta('{"x":')),
                PartDelta(0, ToolArgumentsDelta('{"x":')),
                PartDelta(0, ToolArgumentsDelta("0}")),
                PartDelta(1, ToolArgumentsDelta("1}")),
                PartEnd(0),
                PartEnd(1),
                ResponseEnd("tool_use", Usage()),
            ]
        )
    )
    assert [(p["functionCall"]["id"], p["functionCall"]["args"]) for p in parts[:2]] == [
        ("a", {"x": 0}),
        ("b", {"x": 1}),
    ]


def test_litellm_13373_deltas_for_unopened_parts_do_not_corrupt_the_stream() -> None:
    chunks = encode([PartDelta(3, TextDelta("stray")), PartEnd(3), ResponseEnd("stop", Usage())])
    assert wire_parts(chunks) == [{"text": ""}]


# ------------------------------------------------------------------ usage


def test_litellm_5364_31069_cache_usage_survives_streaming_both_ways() -> None:
    usage = {
        "promptTokenCount": 100,
        "cachedContentTokenCount": 80,
        "candidatesTokenCount": 5,
        "totalTokenCount": 105,
    }
    events = decode(chunk([{"text": "hi"}], "STOP", usageMetadata=usage))
    end = events[-1]
    assert isinstance(end, ResponseEnd) and end.usage.cache_read_tokens == 80
    final = encode([ResponseEnd("stop", end.usage)])[-1]
    assert final["usageMetadata"]["cachedContentTokenCount"] == 80


def test_vllm_pr_40912_cached_tokens_are_counted_once() -> None:
    usage = decode_usage({"promptTokenCount": 100, "cachedContentTokenCount": 80, "candidatesTokenCount": 5})
    assert usage.input_tokens == 100 and usage.uncached_input_tokens == 20
    assert encode_usage(usage)["promptTokenCount"] == 100


def test_protocols_5_9_gemini_thought_tokens_are_output_tokens() -> None:
    usage = decode_usage({"promptTokenCount": 10, "candidatesTokenCount": 5, "thoughtsTokenCount": 50})
    assert usage.output_tokens == 55 and usage.reasoning_tokens == 50
    assert encode_usage(usage)["candidatesTokenCount"] == 5


# ------------------------------------------------------------------ thinking / signatures


def test_new_api_2255_2257_3282_foreign_function_calls_get_the_sentinel() -> None:
    req = Request(
        model="gpt-5",
        messages=(
            Message("user", (TextPart("go"),)),
            Message("assistant", (ToolCallPart("call_1", "f", {}), ToolCallPart("call_2", "f", {}))),
            Message(
                "user",
                (ToolResultPart("call_1", (TextPart("1"),)), ToolResultPart("call_2", (TextPart("2"),))),
            ),
        ),
    )
    parts = to_gemini(req)["contents"][1]["parts"]
    assert parts[0]["thoughtSignature"] == SKIP_SIGNATURE_SENTINEL
    assert "thoughtSignature" not in parts[1]


def test_new_api_2660_signatures_from_another_channel_are_not_replayed() -> None:
    req = Request(
        model="claude",
        messages=(
            Message("user", (TextPart("q"),)),
            Message(
                "assistant",
                (
                    ThinkingPart("t", signature="EqQBanthropic", signature_protocol="anthropic_messages"),
                    ToolCallPart("toolu_1", "f", {}, ProviderData("openai_responses", {"encrypted": "x"})),
                ),
            ),
            Message("user", (ToolResultPart("toolu_1", (TextPart("r"),)),)),
        ),
    )
    body = orjson.dumps(to_gemini(req))
    assert b"EqQBanthropic" not in body and b"encrypted" not in body


def test_new_api_pr_642_gemini_thinking_is_not_lost_in_streams() -> None:
    events = decode(
        chunk([{"text": "step 1", "thought": True}]),
        chunk([{"text": ", step 2", "thought": True}]),
        chunk([{"text": "answer"}], "STOP"),
    )
    assert [e.delta for e in events if isinstance(e, PartDelta) and isinstance(e.delta, ThinkingDelta)]
    assert assemble(events).parts == (ThinkingPart("step 1, step 2"), TextPart("answer"))


def test_cc_switch_4245_the_signature_stays_beside_its_own_call() -> None:
    body = {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {"functionCall": {"name": "a", "args": {}}},
                        {"functionCall": {"name": "b", "args": {}}, "thoughtSignature": SIG},
                    ],
                },
                "finishReason": "STOP",
            }
        ]
    }
    resp = decode_response(body)
    assert [p.provider_data for p in resp.parts] == [None, ProviderData("gemini", {"thoughtSignature": SIG})]  # type: ignore[union-attr]
    out = encode_response(resp, model="m", request_id="r")["candidates"][0]["content"]["parts"]
    assert "thoughtSignature" not in out[0]["functionCall"] and out[1]["thoughtSignature"] == SIG


def test_prism_830_only_the_first_parallel_call_is_signed_and_no_sentinel_is_added() -> None:
    body = {
        "contents": [
            {"role": "user", "parts": [{"text": "q"}]},
            {
                "role": "model",
                "parts": [
                    {"functionCall": {"name": "a", "args": {}}, "thoughtSignature": SIG},
                    {"functionCall": {"name": "b", "args": {}}},
                ],
            },
            {
                "role": "user",
                "parts": [
                    {"functionResponse": {"name": "a", "response": {"output": "1"}}},
                    {"functionResponse": {"name": "b", "response": {"output": "2"}}},
                ],
            },
        ]
    }
    assert to_gemini(decode_request(body)) == body


def test_claude_code_hub_518_gemini_signatures_are_tagged_so_other_vendors_can_strip_them() -> None:
    resp = decode_response(
        {
            "candidates": [
                {
                    "content": {"parts": [{"text": "t", "thought": True, "thoughtSignature": SIG}]},
                    "finishReason": "STOP",
                }
            ]
        }
    )
    (thought,) = resp.parts
    assert isinstance(thought, ThinkingPart) and thought.signature_protocol == "gemini"


# ------------------------------------------------------------------ requests / schemas / roles


def test_claude_code_router_187_llmgateway_1763_vibeproxy_338_json_schema_keywords_survive() -> None:
    schema = {
        "type": "object",
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$defs": {"pos": {"type": "integer", "exclusiveMinimum": 0}},
        "properties": {"n": {"$ref": "#/$defs/pos"}, "kind": {"oneOf": [{"const": "a"}, {"const": "b"}]}},
        "additionalProperties": False,
    }
    req = Request(
        model="x",
        messages=(Message("user", (TextPart("q"),)),),
        tools=(ToolDefinition("f", parameters=schema),),
        response_format=ResponseFormat("json_schema", schema),
    )
    body = to_gemini(req)
    assert body["tools"][0]["functionDeclarations"][0] == {"name": "f", "parametersJsonSchema": schema}
    assert body["generationConfig"]["responseJsonSchema"] == schema
    assert "parameters" not in body["tools"][0]["functionDeclarations"][0]


@pytest.mark.parametrize("name", ["get weather", "7up", "a" * 129, "mcp/fs/read"])
def test_home_assistant_147760_claude_code_96152_invalid_function_names_are_a_clear_400(name: str) -> None:
    req = Request(model="x", messages=(Message("user", (TextPart("q"),)),), tools=(ToolDefinition(name),))
    with pytest.raises(GatewayError) as info:
        to_gemini(req)
    assert info.value.status == 400 and info.value.param == "tools[0].name"


def test_bifrost_5097_derived_ids_fit_every_vendors_id_rules() -> None:
    resp = decode_response(
        {"candidates": [{"content": {"parts": [{"functionCall": {"name": "mcp.fs:read", "args": {}}}]}}]}
    )
    (call,) = resp.parts
    assert isinstance(call, ToolCallPart)
    assert re.fullmatch(r"[a-zA-Z0-9_-]{1,40}", call.id)


def test_claude_code_proxy_83_inline_system_messages_are_hoisted() -> None:
    req = Request(
        model="x",
        messages=(
            Message("user", (TextPart("a"),)),
            Message("system", (TextPart("mid-conversation rule"),)),
            Message("user", (TextPart("b"),)),
        ),
    )
    body = to_gemini(req)
    assert body["systemInstruction"] == {"parts": [{"text": "mid-conversation rule"}]}
    assert all(c["role"] in ("user", "model") for c in body["contents"])


def test_claude_code_53473_cline_7247_empty_text_never_reaches_gemini() -> None:
    req = Request(
        model="x",
        messages=(Message("user", (TextPart(""), TextPart("q"))), Message("assistant", (TextPart(""),))),
    )
    assert to_gemini(req)["contents"] == [{"role": "user", "parts": [{"text": "q"}]}]


def test_codex_7051_every_tool_result_answers_its_model_turn() -> None:
    req = Request(
        model="x",
        messages=(
            Message("assistant", (ToolCallPart("c1", "a", {}), ToolCallPart("c2", "b", {}))),
            Message("user", (ToolResultPart("c1", (TextPart("1"),)),)),
            Message("user", (ToolResultPart("c2", (TextPart("2"),)),)),
        ),
    )
    contents = to_gemini(req)["contents"]
    assert [c["role"] for c in contents] == ["model", "user"]
    assert [p["functionResponse"]["id"] for p in contents[1]["parts"]] == ["c1", "c2"]


def test_opencode_pr_40210_hosted_tools_never_become_nameless_functions() -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": "q"}]}], "tools": [{"googleSearch": {}}]}
    req = decode_request(body)
    assert req.tools == ()
    assert to_gemini(req)["tools"] == [{"googleSearch": {}}]
    nameless = Request(model="x", messages=(Message("user", (TextPart("q"),)),), tools=(ToolDefinition(""),))
    with pytest.raises(GatewayError):
        to_gemini(nameless)
