"""StreamDecoder / StreamEncoder: recorded streams, SDK-accumulated output, error frames, EOF."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import openai
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
    ProviderData,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolResultPart,
)
from bytespike.canonical.response import Response
from bytespike.canonical.usage import Usage
from bytespike.protocols.openai_chat.responses import decode_response
from bytespike.protocols.openai_chat.streaming import (
    DROP,
    FORWARD,
    TERMINAL,
    OpenAIChatStreamTap,
    StreamDecoder,
    StreamEncoder,
)
from bytespike.protocols.sse import SSESplitter
from tests.protocols.openai_chat import golden, sdk_oracle


def decode_sse(sse: bytes, *, seed: int = 0, **options: Any) -> list[StreamEvent]:
    """Feed ``sse`` in random byte slices through `SSESplitter` (as the relay does)."""
    rng = random.Random(seed)
    splitter, decoder, events = SSESplitter(), StreamDecoder(**options), []
    i = 0
    while i < len(sse):
        n = rng.randint(1, 40)
        for frame in splitter.feed(sse[i : i + n]):
            events += decoder.feed(frame)
        i += n
    return events + decoder.finish()


def assemble(events: list[StreamEvent]) -> Response:
    assembler = Assembler()
    for event in events:
        assembler.feed(event)
    return assembler.response()


def encode_all(events: list[StreamEvent], **options: Any) -> bytes:
    encoder = StreamEncoder(model="gpt-alias", request_id="req_1", **options)
    return b"".join(encoder.encode(e) for e in events) + encoder.finish()


def frames(sse: bytes) -> list[Any]:
    return [
        f.removeprefix(b"data: ").decode()
        if f.startswith(b"data: [")
        else orjson.loads(f.removeprefix(b"data: "))
        for f in sse.split(b"\n\n")
        if f
    ]


@pytest.mark.parametrize("name", golden.names("stream"))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_recorded_stream_assembles_to_the_non_streamed_answer(name: str, seed: int) -> None:
    fixture = golden.load(name)
    events = decode_sse(golden.sse_of(fixture["chunks"]), seed=seed)
    assert isinstance(events[0], ResponseStart) and isinstance(events[-1], ResponseEnd)
    assert sum(isinstance(e, ResponseEnd) for e in events) == 1
    expected = replace(decode_response(fixture["completion"]), provider_data={})
    assert assemble(events) == expected


def test_response_end_waits_for_the_usage_chunk_after_the_finish_chunk() -> None:
    chunks = golden.load("stream_text")["chunks"]
    decoder = StreamDecoder()
    finish_events = [e for c in chunks[:4] for e in decoder.feed(golden.sse_of([c]))]
    assert not any(isinstance(e, ResponseEnd) for e in finish_events)
    assert isinstance(finish_events[-1], PartEnd)
    assert decoder.feed(golden.sse_of([chunks[4]])) == []
    end = decoder.feed(b"data: [DONE]\n\n")
    assert end == [
        ResponseEnd(
            "stop", Usage(input_tokens=1200, output_tokens=40, cache_read_tokens=1024, reasoning_tokens=32)
        )
    ]
    assert decoder.finish() == [] and decoder.feed(b"data: {}\n\n") == []


def test_eof_without_done() -> None:
    chunks = golden.load("stream_text")["chunks"]
    truncated = decode_sse(golden.sse_of(chunks[:3]))
    assert truncated[-1] == StreamError(
        502, "upstream_error", "upstream: the stream ended before data: [DONE]"
    )
    # A host that never sends [DONE] after finish + usage still completes.
    lenient = decode_sse(golden.sse_of(chunks[:5]))
    assert isinstance(lenient[-1], ResponseEnd) and lenient[-1].usage.input_tokens == 1200
    finished_without_usage = decode_sse(golden.sse_of(chunks[:4]))
    assert isinstance(finished_without_usage[-1], StreamError)


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (
            {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"},
            429,
            "rate_limit_exceeded",
        ),
        (
            {"message": "bad", "type": "invalid_request_error", "param": None, "code": None},
            400,
            "invalid_param",
        ),
        ({"message": "The server had an error", "type": "server_error"}, 502, "upstream_error"),
        ({"message": "busy", "type": "overloaded_error"}, 503, "upstream_overloaded"),
        ("plain string error", 502, "upstream_error"),
    ],
)
def test_error_frames_become_stream_errors(error: Any, status: int, code: str) -> None:
    chunks = golden.load("stream_text")["chunks"]
    events = decode_sse(golden.sse_of([chunks[0], chunks[1], {"error": error}, chunks[2], "[DONE]"]))
    message = error["message"] if isinstance(error, dict) else error
    assert events[-1] == StreamError(status, code, f"upstream: {message}")
    assert not any(isinstance(e, ResponseEnd) for e in events)


def test_garbage_frames_and_comments() -> None:
    assert decode_sse(b": ping\n\ndata: not json\n\n") == [
        StreamError(502, "upstream_error", "upstream: a stream frame is not a JSON object")
    ]
    only_done = decode_sse(b"data: [DONE]\n\n")
    assert only_done == [ResponseStart("", ""), ResponseEnd(None, Usage())]


def test_decoder_tolerates_odd_deltas() -> None:
    chunk = {
        "id": "chatcmpl-odd",
        "model": "m",
        "choices": [
            {"index": 1, "delta": {"content": "second choice is ignored"}},
            "not a choice",
            {
                "index": 0,
                "delta": {
                    "refusal": "No.",
                    "tool_calls": ["junk", {"function": {"name": "f", "arguments": "{}"}}],
                    "function_call": {"name": "legacy", "arguments": '{"a":1}'},
                },
            },
        ],
    }
    events = decode_sse(
        golden.sse_of(
            [
                chunk,
                # Some hosts send "finish_reason": "" on every chunk: not a finish.
                {"choices": [{"index": 0, "delta": {"content": "aft"}, "finish_reason": ""}]},
                {"choices": [{"index": 0, "delta": {"content": "er"}, "finish_reason": "stop"}]},
                "[DONE]",
            ]
        )
    )
    resp = assemble(events)
    assert resp.parts == (
        TextPart("No.", provider_data=ProviderData("openai_chat", {"refusal": "field"})),
        ToolCallPart("call_chatcmpl-odd_1", "f", {}),
        ToolCallPart("call_chatcmpl-odd_fn", "legacy", {"a": 1}),
        TextPart("after"),
    )


def test_stream_decoder_restores_rewritten_tool_names() -> None:
    sse = golden.sse_of(golden.load("stream_tool_calls_parallel")["chunks"])
    resp = assemble(decode_sse(sse, tool_names={"get_weather": "weather.get"}))
    assert [p.name for p in resp.parts] == ["weather.get", "weather.get"]  # type: ignore[union-attr]


# --------------------------------------------------------------------------------- encoder


THINK_TEXT_TOOLS: list[StreamEvent] = [
    ResponseStart("msg_01", "claude-opus-4-8"),
    PartStart(0, ThinkingPart()),
    PartDelta(0, ThinkingDelta("Think")),
    PartDelta(0, ThinkingDelta("ing.")),
    PartDelta(0, SignatureDelta("sig", "anthropic_messages")),
    PartEnd(0),
    PartStart(1, TextPart("")),
    PartDelta(1, TextDelta("Calling two tools.")),
    PartEnd(1),
    PartStart(2, ToolCallPart("toolu_a", "get_weather")),
    PartStart(3, ToolCallPart("toolu_b", "get_time")),
    PartDelta(3, ToolArgumentsDelta('{"tz":')),
    PartDelta(2, ToolArgumentsDelta('{"city":')),
    PartDelta(2, ToolArgumentsDelta('"Paris"}')),
    PartDelta(3, ToolArgumentsDelta('"UTC"}')),
    PartEnd(3),
    PartEnd(2),
    ResponseEnd(
        "tool_use", Usage(input_tokens=50, output_tokens=20, cache_read_tokens=30, reasoning_tokens=4)
    ),
]


def test_encoder_output_accumulates_in_the_sdk() -> None:
    sse = encode_all(THINK_TEXT_TOOLS, include_usage=True)
    chunks, completion = sdk_oracle.stream(sse)
    message = completion.choices[0].message
    assert message.content == "Calling two tools."
    assert message.model_extra is not None and message.model_extra["reasoning_content"] == "Thinking."
    assert [(c.id, c.function.name, c.function.arguments) for c in message.tool_calls or []] == [
        ("toolu_a", "get_weather", '{"city":"Paris"}'),
        ("toolu_b", "get_time", '{"tz":"UTC"}'),
    ]
    assert completion.choices[0].finish_reason == "tool_calls"
    assert completion.usage is not None and completion.usage.prompt_tokens == 50
    assert completion.id == "chatcmpl-req_1" and {c.id for c in chunks} == {"chatcmpl-req_1"}
    assert chunks[0].choices[0].delta.role == "assistant" and chunks[0].choices[0].delta.content == ""
    assert chunks[-1].choices == [] and all(c.usage is None for c in chunks[:-1])
    assert chunks[-2].choices[0].finish_reason == "tool_calls" and chunks[-2].choices[0].delta.content is None


def test_frames_without_include_usage_have_no_usage_at_all() -> None:
    sse = encode_all(THINK_TEXT_TOOLS)
    parsed = frames(sse)
    assert parsed[-1] == "[DONE]"
    assert all("usage" not in f for f in parsed[:-1])
    assert all(f["choices"] for f in parsed[:-1])
    assert sse.endswith(b"data: [DONE]\n\n") and sse.count(b"[DONE]") == 1


def test_a_complete_tool_call_start_sends_its_whole_arguments_once() -> None:
    events: list[StreamEvent] = [
        ResponseStart("gemini-resp", "gemini-3-1-pro"),
        PartStart(0, ToolCallPart("call_g1", "lookup", {"q": "a", "n": 1})),
        PartEnd(0),
        PartStart(1, ToolCallPart("call_g2", "lookup", {"q": "b"})),
        PartEnd(1),
        ResponseEnd("tool_use", Usage(3, 4)),
    ]
    parsed = frames(encode_all(events))
    tool_frames = [f["choices"][0]["delta"]["tool_calls"][0] for f in parsed[1:-2]]
    assert tool_frames == [
        {"index": 0, "id": "call_g1", "type": "function", "function": {"name": "lookup", "arguments": ""}},
        {"index": 0, "function": {"arguments": '{"q":"a","n":1}'}},
        {"index": 1, "id": "call_g2", "type": "function", "function": {"name": "lookup", "arguments": ""}},
        {"index": 1, "function": {"arguments": '{"q":"b"}'}},
    ]
    _, completion = sdk_oracle.stream(encode_all(events))
    assert [c.function.arguments for c in completion.choices[0].message.tool_calls or []] == [
        '{"q":"a","n":1}',
        '{"q":"b"}',
    ]


def test_zero_part_response_and_usage_only_at_the_end() -> None:
    events: list[StreamEvent] = [ResponseStart("r", "m"), ResponseEnd("stop", Usage(5, 0))]
    chunks, completion = sdk_oracle.stream(encode_all(events, include_usage=True))
    assert completion.choices[0].message.content == "" and completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.total_tokens == 5
    assert len(chunks) == 3


def test_events_from_a_complete_response_stream_like_it() -> None:
    resp = Response(
        "chatcmpl-upstream1",
        "m",
        (
            TextPart("Sorry.", provider_data=ProviderData("openai_chat", {"refusal": "field"})),
            MediaPart("image", url="u"),
            OpaquePart("x", {}),
            ToolResultPart("c"),
        ),
        "content_filter",
        Usage(1, 1),
    )
    _, completion = sdk_oracle.stream(encode_all(events_of(resp)))
    assert completion.id == "chatcmpl-upstream1"
    assert completion.choices[0].message.refusal == "Sorry."
    assert completion.choices[0].finish_reason == "content_filter"


def test_stream_error_mid_stream_is_an_error_frame_without_done() -> None:
    events = [
        *THINK_TEXT_TOOLS[:8],
        StreamError(429, "rate_limit_exceeded", "upstream: slow down"),
        *THINK_TEXT_TOOLS[8:],
    ]
    sse = encode_all(events, include_usage=True)
    parsed = frames(sse)
    assert parsed[-1] == {
        "error": {
            "message": "upstream: slow down",
            "type": "rate_limit_error",
            "param": None,
            "code": "rate_limit_exceeded",
        }
    }
    assert b"[DONE]" not in sse
    with pytest.raises(openai.APIError, match="slow down"):
        sdk_oracle.stream(sse)


def test_error_before_anything_and_stream_cut_without_end() -> None:
    assert frames(encode_all([StreamError(500, "upstream_error", "boom")])) == [
        {"error": {"message": "boom", "type": "api_error", "param": None, "code": "upstream_error"}}
    ]
    cut = frames(encode_all(THINK_TEXT_TOOLS[:5]))
    assert cut[-1]["error"]["code"] == "upstream_error" and "[DONE]" not in cut
    encoder = StreamEncoder(model="m", request_id="r")
    encoder.encode(ResponseStart("a", "b"))
    encoder.encode(ResponseEnd("stop", Usage()))
    assert encoder.encode(PartStart(0, TextPart("late"))) == b""
    assert encoder.finish() == b"data: [DONE]\n\n"


def test_deltas_for_unknown_or_mismatched_parts_are_ignored() -> None:
    encoder = StreamEncoder(model="m", request_id="r")
    encoder.encode(ResponseStart("a", "b"))
    assert encoder.encode(PartDelta(7, TextDelta("?"))) == b""
    encoder.encode(PartStart(0, TextPart("")))
    assert encoder.encode(PartDelta(0, ThinkingDelta("?"))) == b""
    assert encoder.encode(PartDelta(0, ToolArgumentsDelta("{}"))) == b""
    assert encoder.encode(PartDelta(0, TextDelta(""))) == b""
    assert encoder.encode(PartEnd(0)) == b""


def test_stream_round_trip_through_our_own_decoder() -> None:
    sse = encode_all(THINK_TEXT_TOOLS, include_usage=True)
    resp = assemble(decode_sse(sse))
    original = assemble(THINK_TEXT_TOOLS)
    assert resp.finish_reason == "tool_use" and resp.usage == original.usage
    assert [type(p) for p in resp.parts] == [ThinkingPart, TextPart, ToolCallPart, ToolCallPart]
    assert [p.arguments for p in resp.parts if isinstance(p, ToolCallPart)] == [
        {"city": "Paris"},
        {"tz": "UTC"},
    ]
    assert resp.parts[0].text == "Thinking."  # type: ignore[union-attr]


def test_first_chunk_comes_first_even_without_response_start() -> None:
    parsed = frames(encode_all([PartStart(0, TextPart("Hi")), PartEnd(0), ResponseEnd("length", Usage())]))
    assert parsed[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert parsed[1]["choices"][0]["delta"] == {"content": "Hi"}
    assert parsed[2]["choices"][0]["finish_reason"] == "length"


def test_fast_path_tap_is_unchanged() -> None:
    tap = OpenAIChatStreamTap(forward_usage=False)
    chunks = golden.load("stream_text")["chunks"]
    actions = [tap.feed(golden.sse_of([c])) for c in chunks]
    assert actions == [FORWARD, FORWARD, FORWARD, FORWARD, DROP, TERMINAL]
    assert tap.facts.usage.cache_read_tokens == 1024 and tap.facts.finished and tap.facts.content_started


@pytest.mark.parametrize("event", [object(), PartStart(0, object()), PartDelta(0, object())])  # type: ignore[arg-type]
def test_unknown_event_kinds_fail_loudly(event: Any) -> None:
    encoder = StreamEncoder(model="m", request_id="r")
    with pytest.raises(AssertionError):
        encoder.encode(event)


def test_tap_reports_error_frames_and_ignores_noise() -> None:
    tap = OpenAIChatStreamTap(forward_usage=True)
    assert tap.feed(b": ping\n\n") == FORWARD
    assert tap.feed(b"data: nope\n\n") == FORWARD
    assert tap.feed(b"data: [1]\n\n") == FORWARD
    assert tap.feed(b'data: {"error": "boom"}\n\n') == DROP
    assert tap.facts.error is not None and tap.facts.error.message == "boom"
    tap = OpenAIChatStreamTap(forward_usage=True)
    assert tap.feed(b'data: {"error": {"message": "slow", "type": "rate_limit_error"}}\n\n') == DROP
    assert tap.facts.error is not None and tap.facts.error.upstream_type == "rate_limit_error"


def test_error_envelopes() -> None:
    from bytespike.errors import GatewayError
    from bytespike.protocols.openai_chat.errors import decode_error, encode_error, is_error_body

    body = orjson.loads(encode_error(GatewayError(418, "teapot", "short and stout", "x")))
    assert body == {
        "error": {
            "message": "short and stout",
            "type": "invalid_request_error",
            "param": "x",
            "code": "teapot",
        }
    }
    assert decode_error(body) == ("teapot", "short and stout")
    assert decode_error({"error": "flat"}) == (None, "flat")
    assert decode_error([]) == (None, "upstream error")
    assert is_error_body(body) and not is_error_body({"error": {}, "choices": []})


def test_fast_path_tap_counts_spoken_audio_as_content() -> None:
    """A client that leaves a spoken stream after its first audio delta has received content:
    the billing rule for a mid-stream disconnect must apply, not "gone before any content"."""
    tap = OpenAIChatStreamTap(forward_usage=False)
    role = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]}
    tap.feed(golden.sse_of([role]))
    assert not tap.facts.content_started
    audio = {**role, "choices": [{"index": 0, "delta": {"audio": {"id": "audio_1", "data": "UklG"}}, "finish_reason": None}]}
    tap.feed(golden.sse_of([audio]))
    assert tap.facts.content_started
