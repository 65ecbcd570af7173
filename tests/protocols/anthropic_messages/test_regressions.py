"""One regression test per bug of spec/protocols.md §7 that an Anthropic codec can have.

Each test names the bug it guards against; the stream cases are checked with the official SDK's
accumulator (protocols.md §8.3)."""

from __future__ import annotations

import orjson

from bytespike.canonical.events import (
    PartDelta,
    PartEnd,
    PartStart,
    ResponseEnd,
    ResponseStart,
    SignatureDelta,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    ToolArgumentsDelta,
)
from bytespike.canonical.parts import TextPart, ThinkingPart, ToolCallPart, ToolResultPart
from bytespike.canonical.request import ToolDefinition
from bytespike.canonical.response import Response
from bytespike.canonical.usage import Usage
from bytespike.protocols.anthropic_messages.requests import decode_request
from bytespike.protocols.anthropic_messages.responses import encode_response
from tests.protocols.anthropic_messages.canonical import assistant, encode, request, user
from tests.protocols.anthropic_messages.fixtures import load
from tests.protocols.anthropic_messages.sdk import sdk_stream_message
from tests.protocols.anthropic_messages.sse import check_stream, decode_sse, encode_events, frames, render

USAGE = Usage(10, 5)


def openai_tool_stream(*chunks: str) -> list[StreamEvent]:
    """A tool call as an OpenAI-compatible decoder emits it: id/name first, then fragments."""
    return [
        ResponseStart("chatcmpl-1", "gpt"),
        PartStart(0, ToolCallPart("call_1", "Bash", {})),
        *(PartDelta(0, ToolArgumentsDelta(c)) for c in chunks),
        PartEnd(0),
        ResponseEnd("tool_use", USAGE),
    ]


# -- tool-call streaming --------------------------------------------------------------------------


def test_litellm_25321_and_29491_streamed_tool_input_reaches_the_client() -> None:
    message = sdk_stream_message(encode_events(openai_tool_stream('{"comm', 'and": "ls', ' -la"}')))
    assert message.content[0].input == {"command": "ls -la"}  # type: ignore[union-attr]


def test_litellm_pr_13638_fragments_are_input_json_delta_never_text_delta() -> None:
    fs = frames(encode_events(openai_tool_stream('{"a":', " 1}")))
    kinds = {d["delta"]["type"] for n, d in fs if n == "content_block_delta"}
    assert kinds == {"input_json_delta"}


def test_litellm_25561_25836_25390_gemini_calls_are_not_sent_as_empty_input() -> None:
    events: list[StreamEvent] = [
        PartStart(0, ToolCallPart("c", "f", {"path": "/tmp"})),
        PartEnd(0),
        ResponseEnd("stop", USAGE),
    ]
    fs = frames(encode_events(events))
    deltas = [d["delta"] for n, d in fs if n == "content_block_delta"]
    assert deltas == [{"type": "input_json_delta", "partial_json": '{"path":"/tmp"}'}]


def test_litellm_29286_text_with_an_empty_tool_list_stays_text() -> None:
    events: list[StreamEvent] = [
        PartStart(0, TextPart("")),
        PartDelta(0, TextDelta("plain answer")),
        PartEnd(0),
        ResponseEnd("stop", USAGE),
    ]
    fs = frames(encode_events(events))
    assert [d["delta"]["type"] for n, d in fs if n == "content_block_delta"] == ["text_delta"]


def test_litellm_13373_no_delta_for_an_unopened_block() -> None:
    events: list[StreamEvent] = [
        PartStart(0, TextPart("")),
        PartStart(1, ToolCallPart("c", "f")),
        PartDelta(0, TextDelta("late text")),
        PartDelta(1, ToolArgumentsDelta("{}")),
        ResponseEnd("tool_use", USAGE),
    ]
    check_stream(encode_events(events))  # asserts every delta targets the open block


def test_litellm_pr_16194_gemini_parallel_calls_get_distinct_indices() -> None:
    events: list[StreamEvent] = []
    for i in range(3):
        events += [PartStart(i, ToolCallPart(f"c{i}", "f", {"i": i})), PartEnd(i)]
    events.append(ResponseEnd("stop", USAGE))
    fs = frames(encode_events(events))
    assert [d["index"] for n, d in fs if n == "content_block_start"] == [0, 1, 2]
    assert [b.input for b in sdk_stream_message(encode_events(events)).content] == [
        {"i": 0},
        {"i": 1},
        {"i": 2},
    ]  # type: ignore[union-attr]


def test_litellm_27144_and_pr_19928_arguments_only_at_the_end() -> None:
    events: list[StreamEvent] = [
        PartStart(0, ToolCallPart("fc_1", "f")),
        PartDelta(0, ToolArgumentsDelta('{"done": true}')),
        PartEnd(0),
        ResponseEnd("tool_use", USAGE),
    ]
    assert sdk_stream_message(encode_events(events)).content[0].input == {"done": True}  # type: ignore[union-attr]


def test_praxis_266_and_kitty_bridge_116_interleaved_parallel_calls() -> None:
    events: list[StreamEvent] = [
        PartStart(0, ToolCallPart("a", "f")),
        PartStart(1, ToolCallPart("b", "f")),
        PartDelta(1, ToolArgumentsDelta('{"x": "b"}')),
        PartDelta(0, ToolArgumentsDelta('{"x": "a"}')),
        ResponseEnd("tool_use", USAGE),
    ]
    message = sdk_stream_message(encode_events(events))
    assert [(b.id, b.input) for b in message.content] == [("a", {"x": "a"}), ("b", {"x": "b"})]  # type: ignore[union-attr]


def test_claude_code_router_1397_reasoning_does_not_corrupt_tool_arguments() -> None:
    events: list[StreamEvent] = [
        PartStart(0, ThinkingPart()),
        PartDelta(0, ThinkingDelta("thinking about {json}")),
        PartStart(1, ToolCallPart("c", "f")),
        PartDelta(1, ToolArgumentsDelta('{"q": ')),
        PartDelta(0, ThinkingDelta(" more")),
        PartDelta(1, ToolArgumentsDelta('"x"}')),
        ResponseEnd("tool_use", USAGE),
    ]
    message = sdk_stream_message(encode_events(events))
    assert [b.input for b in message.content if b.type == "tool_use"] == [{"q": "x"}]  # type: ignore[union-attr]
    assert (
        "".join(b.thinking for b in message.content if b.type == "thinking") == "thinking about {json} more"
    )  # type: ignore[union-attr]


def test_9router_1779_message_start_always_comes_first() -> None:
    events: list[StreamEvent] = [
        PartStart(0, TextPart("x")),
        ResponseStart("late", "m"),
        ResponseEnd("stop", USAGE),
    ]
    assert frames(encode_events(events))[0][0] == "message_start"
    sdk_stream_message(encode_events(events))


# -- usage ------------------------------------------------------------------------------------------


def test_litellm_31069_and_5364_cache_tokens_of_a_chat_upstream_reach_the_client() -> None:
    usage = Usage(1200, 10, cache_read_tokens=1000)
    message = sdk_stream_message(encode_events([ResponseStart("x", "m"), ResponseEnd("stop", usage)]))
    assert (message.usage.input_tokens, message.usage.cache_read_input_tokens) == (200, 1000)


def test_vllm_pr_40912_input_tokens_exclude_cached_tokens() -> None:
    resp = Response(
        "x", "m", (TextPart("a"),), "stop", Usage(1200, 10, cache_read_tokens=1000, cache_write_tokens=100)
    )
    usage = encode_response(resp, model="m", request_id="r")["usage"]
    assert (
        usage["input_tokens"],
        usage["cache_read_input_tokens"],
        usage["cache_creation_input_tokens"],
    ) == (100, 1000, 100)


def test_9router_pr_2209_input_usage_read_from_message_start() -> None:
    [*_, end] = decode_sse(render(load("stream_text")["events"]))
    assert isinstance(end, ResponseEnd) and end.usage.input_tokens == 25  # message_delta had only output


def test_langchainjs_pr_11195_cumulative_usage_in_message_delta_is_honoured() -> None:
    [*_, end] = decode_sse(render(load("stream_cache_usage")["events"]))
    assert isinstance(end, ResponseEnd)
    assert end.usage == Usage(
        input_tokens=12 + 2048 + 180000, output_tokens=4, cache_read_tokens=180000, cache_write_tokens=2048
    )


# -- thinking / signatures ---------------------------------------------------------------------------


def test_claude_code_hub_518_foreign_signatures_never_reach_anthropic() -> None:
    # also NousResearch/hermes-agent #24401, openclaw/openclaw #91205, QuantumNous/new-api #2660
    req = request(
        user("q"),
        assistant(
            ThinkingPart("t", signature="gemini-sig", signature_protocol="gemini"), ToolCallPart("c", "f")
        ),
        user(ToolResultPart("c")),
        tools=(ToolDefinition("f"),),
    )
    body, dropped = encode(req)
    assert all(b["type"] != "thinking" for m in body["messages"] for b in m["content"])
    assert "messages[1].content[0].thinking" in dropped


def test_gomodel_pr_964_unsigned_thinking_carries_an_empty_signature() -> None:
    resp = Response(
        "x", "m", (ThinkingPart("t", signature="enc", signature_protocol="openai_responses"),), "stop", USAGE
    )
    assert encode_response(resp, model="m", request_id="r")["content"] == [
        {"type": "thinking", "thinking": "t", "signature": ""}
    ]
    events: list[StreamEvent] = [
        PartStart(0, ThinkingPart()),
        PartDelta(0, ThinkingDelta("t")),
        PartDelta(0, SignatureDelta("enc", "openai_responses")),
        ResponseEnd("stop", USAGE),
    ]
    assert sdk_stream_message(encode_events(events)).content[0].signature == ""  # type: ignore[union-attr]
    # …and such a block sent back later is stripped before it reaches Anthropic.
    replay = decode_request(
        {
            "model": "m",
            "max_tokens": 5,
            "messages": [
                {"role": "user", "content": "q"},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "thinking", "thinking": "t", "signature": ""},
                        {"type": "text", "text": "a"},
                    ],
                },
                {"role": "user", "content": "q2"},
            ],
        }
    )
    body, _dropped = encode(replay)
    assert body["messages"][1]["content"] == [{"type": "text", "text": "a"}]


def test_new_api_pr_642_thinking_content_of_another_vendor_is_streamed() -> None:
    events: list[StreamEvent] = [
        PartStart(0, ThinkingPart()),
        PartDelta(0, ThinkingDelta("gemini thought")),
        PartEnd(0),
        ResponseEnd("stop", USAGE),
    ]
    assert sdk_stream_message(encode_events(events)).content[0].thinking == "gemini thought"  # type: ignore[union-attr]


# -- requests / roles --------------------------------------------------------------------------------


def test_mcp_server_gemini_8_top_level_combinators_never_reach_anthropic() -> None:
    body, _ = encode(request(tools=(ToolDefinition("f", parameters={"oneOf": [{"type": "object"}]}),)))
    assert "oneOf" not in body["tools"][0]["input_schema"]


def test_bifrost_5097_foreign_ids_sanitized_on_both_sides() -> None:
    body, _ = encode(
        request(
            user("q"),
            assistant(ToolCallPart("functions.Read:3", "Read")),
            user(ToolResultPart("functions.Read:3")),
        )
    )
    assert body["messages"][1]["content"][0]["id"] == body["messages"][2]["content"][0]["tool_use_id"]
    assert ":" not in body["messages"][1]["content"][0]["id"]


def test_claude_code_proxy_83_inline_system_messages_are_accepted() -> None:
    # also nyroway/nyro PR #217, chenyme/grok2api PR #598, inspect_ai PR #4095, helm-api PR #166
    body = load("request_inline_system")["request"]
    req = decode_request(body)
    assert [m.role for m in req.messages] == ["user", "system", "assistant", "user", "system"]


def test_claude_code_53473_never_an_empty_text_block() -> None:
    # also cline/cline PR #7247: an OpenAI assistant turn with content "" and tool calls.
    body, _ = encode(
        request(user("q"), assistant("", ToolCallPart("c", "f")), user(ToolResultPart("c", (TextPart(""),))))
    )
    assert orjson.dumps(body).find(b'"text":""') == -1


def test_codex_7051_no_tool_result_is_lost() -> None:
    req = request(
        user("q"),
        assistant(ToolCallPart("call_1", "a"), ToolCallPart("call_2", "b")),
        user(ToolResultPart("call_1")),
        user(ToolResultPart("call_2", is_error=True)),
    )
    body, _ = encode(req)
    results = [b["tool_use_id"] for b in body["messages"][2]["content"]]
    assert results == ["call_1", "call_2"] and len(body["messages"]) == 3
