"""Stream codec: recorded fixtures decode to the same response as the non-streamed body, and
canonical event sequences from any upstream encode to streams the official SDK accumulates."""

from __future__ import annotations

import dataclasses
from typing import Any

import anthropic
import orjson
import pytest

from bytespike.canonical.assembler import Assembler, events_of
from bytespike.canonical.events import (
    PartDelta,
    PartEnd,
    PartStart,
    ResponseEnd,
    ResponseStart,
    SignatureDelta,
    StreamError,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    ToolArgumentsDelta,
)
from bytespike.canonical.parts import (
    MediaPart,
    OpaquePart,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolResultPart,
)
from bytespike.canonical.response import Response
from bytespike.canonical.usage import Usage
from bytespike.protocols.anthropic_messages.responses import decode_response
from bytespike.protocols.anthropic_messages.streaming import AnthropicStreamTap, StreamDecoder, StreamEncoder
from bytespike.protocols.sse import SSESplitter
from tests.protocols.anthropic_messages.fixtures import load, names
from tests.protocols.anthropic_messages.sdk import sdk_message, sdk_stream_message
from tests.protocols.anthropic_messages.sse import check_stream, decode_sse, encode_events, frames, render

STREAMS = names("stream")


def assemble(events: list[StreamEvent]) -> Response:
    assembler = Assembler()
    for e in events:
        assembler.feed(e)
    return assembler.response()


def view(message: Any) -> dict[str, Any]:
    """What an SDK user reads from a final message (fields the SDK adds for parsing dropped)."""
    data = message.model_dump(exclude_none=True)
    for block in data["content"]:
        block.pop("parsed_output", None)
    return data


@pytest.mark.parametrize("name", STREAMS)
def test_fixture_stream_is_what_the_sdk_folds_into_the_message(name: str) -> None:
    fx = load(name)
    sse = render(fx["events"])
    check_stream(sse)
    assert view(sdk_stream_message(sse)) == view(sdk_message(fx["message"]))


@pytest.mark.parametrize("chunk", [0, 1, 7, 64])
@pytest.mark.parametrize("name", STREAMS)
def test_stream_assembles_to_the_non_streamed_decode(name: str, chunk: int) -> None:
    fx = load(name)
    events = decode_sse(render(fx["events"]), chunk)
    assert not any(isinstance(e, StreamError) for e in events)
    expected = dataclasses.replace(decode_response(fx["message"]), provider_data={})
    assert assemble(events) == expected


@pytest.mark.parametrize("name", STREAMS)
def test_decoded_stream_encodes_back_to_the_same_message(name: str) -> None:
    fx = load(name)
    sse = encode_events(decode_sse(render(fx["events"])), model=fx["message"]["model"])
    check_stream(sse)
    assert view(sdk_stream_message(sse)) == view(sdk_message(fx["message"]))


def test_non_streamed_response_encodes_as_a_stream() -> None:
    fx = load("response_parallel_tool_use")
    resp = decode_response(fx["response"])
    sse = encode_events(events_of(resp), model=resp.model)
    check_stream(sse)
    assert view(sdk_stream_message(sse)) == view(sdk_message(fx["response"]))


# -- decoder edge cases ------------------------------------------------------------------------


def test_decoder_ignores_pings_comments_and_unknown_events() -> None:
    decoder = StreamDecoder()
    assert decoder.feed(b'event: ping\ndata: {"type": "ping"}\n\n') == []
    assert decoder.feed(b": keep-alive\n\n") == []
    assert decoder.feed(b'event: brand_new\ndata: {"type": "brand_new"}\n\n') == []
    assert decoder.feed(b"data: [1, 2]\n\n") == []
    delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "citations_delta", "citation": {}}}
    assert decoder.feed(b"event: content_block_delta\ndata: " + orjson.dumps(delta) + b"\n\n") == []


def test_decoder_reads_the_type_when_the_event_line_is_missing() -> None:
    decoder = StreamDecoder()
    frame = b'data: {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}\n\n'
    assert decoder.feed(frame) == [PartStart(0, TextPart(""))]


def test_truncated_stream_ends_with_a_stream_error() -> None:
    fx = load("stream_text")
    events = decode_sse(render(fx["events"][:-2]))
    assert events[-1] == StreamError(502, "upstream_error", "upstream: the stream ended before message_stop")
    assert not any(isinstance(e, ResponseEnd) for e in events)


def test_error_frame_becomes_a_stream_error_and_ends_the_stream() -> None:
    fx = load("stream_text")
    error = ["error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}]
    events = decode_sse(render([*fx["events"][:4], error, *fx["events"][4:]]))
    assert events[-1] == StreamError(503, "upstream_overloaded", "Overloaded")
    assert not any(isinstance(e, ResponseEnd) for e in events)


@pytest.mark.parametrize(
    "frame",
    [
        b"event: message_start\ndata: {not json\n\n",
        b'event: content_block_start\ndata: {"type": "content_block_start"}\n\n',
        b'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta"}}\n\n',
        b'event: content_block_start\ndata: {"type": "content_block_start", "index": 0, "content_block": {"type": "text"}}\n\n',
        b'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0, "delta": "text"}\n\n',
    ],
)
def test_malformed_frames_become_a_stream_error(frame: bytes) -> None:
    decoder = StreamDecoder()
    [error] = decoder.feed(frame)
    assert isinstance(error, StreamError) and error.status == 502
    assert decoder.feed(b'event: message_stop\ndata: {"type": "message_stop"}\n\n') == []
    assert decoder.finish() == []


def test_message_stop_without_message_delta() -> None:
    decoder = StreamDecoder()
    assert decoder.feed(b'event: message_stop\ndata: {"type": "message_stop"}\n\n') == [
        ResponseEnd(None, Usage())
    ]


# -- encoder: sequences from other protocols ---------------------------------------------------


def start(usage: Usage | None = None) -> ResponseStart:
    return ResponseStart("chatcmpl-1", "gpt-5-4", usage)


def end(finish: Any = "stop", usage: Usage | None = None) -> ResponseEnd:
    return ResponseEnd(finish, usage or Usage(100, 20))


def test_interleaved_parallel_tool_calls_get_their_own_blocks() -> None:
    # praxis-proxy/ai #266, kitty-bridge PR #116, BerriAI/litellm #5231: parallel calls whose
    # argument fragments interleave must land in the right block, one open at a time.
    events: list[StreamEvent] = [
        start(),
        PartStart(0, ToolCallPart("call_a", "get_weather", {})),
        PartDelta(0, ToolArgumentsDelta('{"city": ')),
        PartStart(1, ToolCallPart("call_b", "get_time", {})),
        PartDelta(1, ToolArgumentsDelta('{"tz": "Europe')),
        PartDelta(0, ToolArgumentsDelta('"Paris"}')),
        PartDelta(1, ToolArgumentsDelta('/Paris"}')),
        PartEnd(0),
        PartEnd(1),
        end("tool_use"),
    ]
    sse = encode_events(events)
    check_stream(sse)
    message = sdk_stream_message(sse)
    assert [(b.type, b.id, b.input) for b in message.content] == [  # type: ignore[union-attr]
        ("tool_use", "call_a", {"city": "Paris"}),
        ("tool_use", "call_b", {"tz": "Europe/Paris"}),
    ]
    assert message.stop_reason == "tool_use"


def test_arguments_complete_part_start_becomes_one_input_json_delta() -> None:
    # BerriAI/litellm #25561, #25836, #25390: Gemini calls must not arrive as input:{} only.
    events: list[StreamEvent] = [
        start(),
        PartStart(0, ToolCallPart("call_g1", "lookup", {"q": "rust", "n": 3})),
        PartEnd(0),
        PartStart(1, ToolCallPart("call_g2", "lookup", {"q": "go"})),
        PartEnd(1),
        end("stop"),
    ]
    fs = frames(encode_events(events))
    tool_frames = [d for n, d in fs if n.startswith("content_block")]  # type: ignore[union-attr]
    assert tool_frames[:3] == [
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "tool_use", "id": "call_g1", "name": "lookup", "input": {}},
        },
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": '{"q":"rust","n":3}'},
        },
        {"type": "content_block_stop", "index": 0},
    ]
    message = sdk_stream_message(encode_events(events))
    assert [b.input for b in message.content] == [{"q": "rust", "n": 3}, {"q": "go"}]  # type: ignore[union-attr]
    # Gemini reports STOP with function calls: an Anthropic client must see tool_use.
    assert message.stop_reason == "tool_use"


def test_complete_arguments_merged_with_later_fragments() -> None:
    events: list[StreamEvent] = [
        start(),
        PartStart(0, ToolCallPart("c", "f", {"a": 1})),
        PartDelta(0, ToolArgumentsDelta('{"b": 2}')),
        PartEnd(0),
        PartStart(1, ToolCallPart("d", "f", {"a": 1})),
        PartDelta(1, ToolArgumentsDelta('{"b": ')),
        end("tool_use"),
    ]
    fs = frames(encode_events(events))
    jsons = [d["delta"]["partial_json"] for n, d in fs if n == "content_block_delta"]
    assert jsons == ['{"a":1,"b":2}', '{"b": ']  # invalid fragments are passed on, not hidden


def test_thinking_then_text_then_tool_calls_from_another_vendor() -> None:
    events: list[StreamEvent] = [
        start(),
        PartStart(0, ThinkingPart()),
        PartDelta(0, ThinkingDelta("Think ")),
        PartDelta(0, ThinkingDelta("hard.")),
        PartDelta(0, SignatureDelta("gemini-thought-signature", "gemini")),
        PartEnd(0),
        PartStart(1, TextPart("")),
        PartDelta(1, TextDelta("Calling tools.")),
        PartEnd(1),
        PartStart(2, ToolCallPart("call_1", "a", {})),
        PartDelta(2, ToolArgumentsDelta("{}")),
        PartEnd(2),
        end("tool_use", Usage(50, 40, reasoning_tokens=10)),
    ]
    sse = encode_events(events)
    fs = check_stream(sse)
    # ENTERPILOT/GoModel PR #964: a foreign signature is not sent; the block keeps signature "".
    assert not any(n == "content_block_delta" and d["delta"]["type"] == "signature_delta" for n, d in fs)
    message = sdk_stream_message(sse)
    assert [b.type for b in message.content] == ["thinking", "text", "tool_use"]
    assert message.content[0].signature == ""  # type: ignore[union-attr]
    assert message.content[0].thinking == "Think hard."  # type: ignore[union-attr]
    assert message.usage.output_tokens_details is not None
    assert message.usage.output_tokens_details.thinking_tokens == 10


def test_anthropic_signature_goes_right_before_the_stop() -> None:
    events: list[StreamEvent] = [
        start(),
        PartStart(0, ThinkingPart("all at once", signature="SIG", signature_protocol="anthropic_messages")),
        PartEnd(0),
        PartStart(1, ThinkingPart("", signature="SIG2", signature_protocol="anthropic_messages")),
        PartEnd(1),
        end(),
    ]
    sse = encode_events(events)
    fs = check_stream(sse)
    kinds = [(n, d.get("delta", {}).get("type")) for n, d in fs]
    assert kinds[1:5] == [
        ("content_block_start", None),
        ("content_block_delta", "thinking_delta"),
        ("content_block_delta", "signature_delta"),
        ("content_block_stop", None),
    ]
    message = sdk_stream_message(sse)
    assert [(b.thinking, b.signature) for b in message.content] == [("all at once", "SIG"), ("", "SIG2")]  # type: ignore[union-attr]


def test_usage_known_only_at_the_end() -> None:
    # BerriAI/litellm #31069, #5364: cache tokens from a C upstream must reach the A client.
    usage = Usage(input_tokens=1500, output_tokens=30, cache_read_tokens=1000, cache_write_tokens=200)
    events: list[StreamEvent] = [
        start(),
        PartStart(0, TextPart("")),
        PartDelta(0, TextDelta("hi")),
        end("stop", usage),
    ]
    fs = frames(encode_events(events))
    assert fs[0][1]["message"]["usage"] == {
        "input_tokens": 0,
        "output_tokens": 0,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }
    message = sdk_stream_message(encode_events(events))
    # vllm-project/vllm PR #40912: Anthropic input_tokens excludes cache tokens.
    assert (message.usage.input_tokens, message.usage.cache_read_input_tokens) == (300, 1000)
    assert (message.usage.cache_creation_input_tokens, message.usage.output_tokens) == (200, 30)


def test_input_usage_known_up_front_goes_in_message_start() -> None:
    events: list[StreamEvent] = [
        start(Usage(10, 0, cache_read_tokens=4)),
        end("stop", Usage(10, 5, cache_read_tokens=4)),
    ]
    fs = frames(encode_events(events))
    assert fs[0][1]["message"]["usage"]["input_tokens"] == 6
    assert fs[0][1]["message"]["usage"]["cache_read_input_tokens"] == 4


def test_zero_part_response() -> None:
    sse = encode_events([start(), end("length")])
    assert [n for n, _ in check_stream(sse)] == ["message_start", "message_delta", "message_stop"]
    message = sdk_stream_message(sse)
    assert message.content == [] and message.stop_reason == "max_tokens"


def test_stream_error_mid_stream_is_an_error_frame() -> None:
    events: list[StreamEvent] = [
        start(),
        PartStart(0, TextPart("")),
        PartDelta(0, TextDelta("partial")),
        StreamError(503, "upstream_overloaded", "upstream: Overloaded"),
        PartDelta(0, TextDelta("ignored")),
        end(),
    ]
    sse = encode_events(events)
    fs = check_stream(sse)
    assert fs[-1] == (
        "error",
        {"type": "error", "error": {"type": "overloaded_error", "message": "upstream: Overloaded"}},
    )
    with pytest.raises(anthropic.APIStatusError) as info:
        sdk_stream_message(sse)
    assert "overloaded_error" in str(info.value)


def test_stream_error_before_anything() -> None:
    sse = encode_events([StreamError(429, "rate_limit_exceeded", "slow down")])
    assert frames(sse) == [
        ("error", {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}})
    ]


def test_cut_stream_ends_with_an_error_frame() -> None:
    encoder = StreamEncoder(model="m", request_id="r")
    encoder.encode(start())
    encoder.encode(PartStart(0, TextPart("")))
    encoder.encode(PartDelta(0, TextDelta("x")))
    tail = encoder.finish()
    assert frames(tail)[-1][0] == "error"
    assert encoder.finish() == b""
    assert encoder.encode(end()) == b""


def test_empty_text_never_becomes_a_block() -> None:
    # anthropics/claude-code #53473: an empty text block replayed later is a 400.
    events: list[StreamEvent] = [
        start(),
        PartStart(0, TextPart("")),
        PartDelta(0, TextDelta("")),
        PartEnd(0),
        PartStart(1, ThinkingPart()),
        PartEnd(1),
        PartStart(2, TextPart("")),
        PartDelta(2, TextDelta("real")),
        end(),
    ]
    sse = encode_events(events)
    check_stream(sse)
    assert [b.text for b in sdk_stream_message(sse).content] == ["real"]  # type: ignore[union-attr]


def test_text_interrupted_by_a_tool_call_continues_in_a_new_block() -> None:
    # BerriAI/litellm #29286: text that comes with tool calls stays text, never input_json_delta.
    events: list[StreamEvent] = [
        start(),
        PartStart(0, TextPart("Let me ")),
        PartStart(1, ToolCallPart("call_1", "f", {})),
        PartDelta(1, ToolArgumentsDelta('{"x": 1}')),
        PartDelta(0, TextDelta("check.")),
        PartEnd(1),
        PartEnd(0),
        end("tool_use"),
    ]
    sse = encode_events(events)
    check_stream(sse)
    message = sdk_stream_message(sse)
    assert [(b.type, getattr(b, "text", None)) for b in message.content] == [
        ("text", "Let me "),
        ("tool_use", None),
        ("text", "check."),
    ]


def test_a_tool_call_holds_its_block_while_others_wait() -> None:
    events: list[StreamEvent] = [
        start(),
        PartStart(0, ToolCallPart("call_1", "f", {})),
        PartStart(1, TextPart("")),
        PartDelta(1, TextDelta("meanwhile")),
        PartDelta(0, ToolArgumentsDelta('{"x": 1}')),
        PartEnd(0),
        PartDelta(1, TextDelta(" more")),
        end("tool_use"),
    ]
    message = sdk_stream_message(encode_events(events))
    assert [b.type for b in message.content] == ["tool_use", "text"]
    assert message.content[1].text == "meanwhile more"  # type: ignore[union-attr]


def test_parts_without_an_anthropic_block_are_left_out() -> None:
    events: list[StreamEvent] = [
        ResponseStart("msg_keep", "m"),
        PartStart(0, MediaPart("image", media_type="image/png", data="iVBOR")),
        PartEnd(0),
        PartStart(1, OpaquePart("gemini", {"executableCode": {}})),
        PartEnd(1),
        PartStart(2, ThinkingPart("", signature="x", signature_protocol="openai_responses", redacted=True)),
        PartDelta(2, ThinkingDelta("ignored")),
        PartEnd(2),
        PartStart(3, ToolResultPart("call_1")),
        PartStart(
            4, ThinkingPart("", signature="EmwK", signature_protocol="anthropic_messages", redacted=True)
        ),
        PartEnd(4),
        PartStart(
            5,
            OpaquePart(
                "anthropic_messages",
                {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"q": 1}},
            ),
        ),
        PartEnd(5),
        end(),
    ]
    sse = encode_events(events)
    fs = check_stream(sse)
    assert fs[0][1]["message"]["id"] == "msg_keep"
    message = sdk_stream_message(sse)
    assert [b.type for b in message.content] == ["redacted_thinking", "server_tool_use"]


def test_message_start_is_synthesized_when_the_upstream_gave_none() -> None:
    events: list[StreamEvent] = [PartStart(0, TextPart("hi")), PartEnd(0), end()]
    fs = check_stream(encode_events(events, request_id="req_abc"))
    assert fs[0][1]["message"]["id"] == "msg_req_abc"


def test_contract_breaches_are_ignored() -> None:
    events: list[StreamEvent] = [
        start(),
        PartDelta(5, TextDelta("no such part")),
        PartEnd(5),
        PartStart(0, TextPart("a")),
        PartStart(0, TextPart("duplicate start")),
        PartDelta(0, ToolArgumentsDelta("{}")),
        PartDelta(0, ThinkingDelta("wrong kind")),
        PartDelta(0, SignatureDelta("s", "anthropic_messages")),
        PartEnd(0),
        PartDelta(0, TextDelta("after its end")),
        start(),
        end(),
    ]
    sse = encode_events(events)
    check_stream(sse)
    assert [b.text for b in sdk_stream_message(sse).content] == ["a"]  # type: ignore[union-attr]


def test_stop_sequence_is_carried() -> None:
    events: list[StreamEvent] = [start(), ResponseEnd("stop_sequence", Usage(1, 1), "END")]
    message = sdk_stream_message(encode_events(events))
    assert (message.stop_reason, message.stop_sequence) == ("stop_sequence", "END")


# -- the fast-path tap -----------------------------------------------------------------------------


def test_tap_reads_usage_content_and_the_end() -> None:
    tap = AnthropicStreamTap()
    splitter = SSESplitter()
    ends = [tap.feed(f) for f in splitter.feed(render(load("stream_cache_usage")["events"]))]
    assert ends[-1] is True and not any(ends[:-1])
    facts = tap.facts
    assert facts.content_started and facts.finished and facts.has_usage
    assert facts.usage == Usage(12 + 2048 + 180000, 4, 180000, 2048)


def test_tap_records_an_error_frame() -> None:
    tap = AnthropicStreamTap()
    tap.feed(
        b'event: error\ndata: {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}\n\n'
    )
    assert tap.facts.error is not None and tap.facts.error.upstream_type == "overloaded_error"
    tap.feed(b"event: error\ndata: {broken\n\n")
    assert tap.facts.error.message == "upstream error"
