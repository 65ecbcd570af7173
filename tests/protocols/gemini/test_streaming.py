"""Gemini streams: decoding recorded streams into canonical events, and encoding any canonical
event sequence into chunks the google-genai SDK accepts (the SDK, run against a loopback server,
is the oracle)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest
from google.genai import errors, types

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
from bytespike.protocols.gemini.requests import decode_request
from bytespike.protocols.gemini.responses import decode_response
from bytespike.protocols.gemini.streaming import GeminiStreamTap, StreamDecoder, StreamEncoder
from bytespike.protocols.sse import SSESplitter
from tests.protocols.gemini.conftest import FIXTURES, load
from tests.protocols.gemini.loopback import CannedGemini
from tests.protocols.gemini.validity import assert_valid_response

STREAM_FIXTURES = sorted(p.name for p in Path(FIXTURES).glob("stream_*.json"))
SIG = "CiQBVKhc7yOq0d3Dy7gHqJ3oV5d4kz5nKc1mQ2x9vYw5o8PKjJ0SaQFUqFzvX0yq"


def sse(chunks: list[Any]) -> bytes:
    return b"".join(b"data: " + orjson.dumps(c) + b"\r\n\r\n" for c in chunks)


def decode_stream(stream: bytes, piece: int = 7) -> list[StreamEvent]:
    """Feed ``stream`` in ``piece``-byte slices, as a socket would deliver it."""
    splitter, decoder = SSESplitter(), StreamDecoder()
    events: list[StreamEvent] = []
    for start in range(0, len(stream), piece):
        for frame in splitter.feed(stream[start : start + piece]):
            events += decoder.feed(frame)
    return events + decoder.finish()


def assemble(events: list[StreamEvent]) -> Response:
    assembler = Assembler()
    for event in events:
        assembler.feed(event)
    return assembler.response()


def encode_stream(events: list[StreamEvent], **options: Any) -> bytes:
    encoder = StreamEncoder(model="claude-opus-4-7", request_id="req_123", **options)
    return b"".join(encoder.encode(e) for e in events) + encoder.finish()


def chunks_of(stream: bytes) -> list[dict[str, Any]]:
    frames = SSESplitter().feed(stream)
    assert all(f.endswith(b"\r\n\r\n") and f.startswith(b"data: ") for f in frames)
    return [orjson.loads(f[6:]) for f in frames]


# ------------------------------------------------------------------ decoder


@pytest.mark.parametrize("name", STREAM_FIXTURES)
@pytest.mark.parametrize("piece", [1, 13, 4096])
def test_recorded_stream_assembles_to_the_non_streamed_decode(name: str, piece: int) -> None:
    fixture = load(name)
    events = decode_stream(sse(fixture["frames"]), piece)
    assert not any(isinstance(e, StreamError) for e in events)
    assert assemble(events) == replace(decode_response(fixture["response"]), provider_data={})


def test_thinking_then_text_events() -> None:
    fixture = load("stream_thinking_text.json")
    events = decode_stream(sse(fixture["frames"]))
    signature = fixture["frames"][1]["candidates"][0]["content"]["parts"][0]["thoughtSignature"]
    text_signature = fixture["frames"][2]["candidates"][0]["content"]["parts"][0]["thoughtSignature"]
    assert events == [
        ResponseStart("c3RyZWFtdGhpbmtpbmc", "gemini-2.5-pro"),
        PartStart(0, ThinkingPart()),
        PartDelta(0, ThinkingDelta("**Planning**\n")),
        PartDelta(0, ThinkingDelta("Greet the user warmly.")),
        PartDelta(0, SignatureDelta(signature, "gemini")),
        PartEnd(0),
        PartStart(
            1, TextPart("", provider_data=ProviderData("gemini", {"thoughtSignature": text_signature}))
        ),
        PartDelta(1, TextDelta("Hello")),
        PartDelta(1, TextDelta(" there, ")),
        PartDelta(1, TextDelta("friend!")),
        PartEnd(1),
        ResponseEnd(
            "stop", Usage(input_tokens=12, output_tokens=43, cache_read_tokens=4, reasoning_tokens=40)
        ),
    ]


def test_function_calls_arrive_whole_with_indices_across_chunks() -> None:
    # BerriAI/litellm PR #16194: parallel calls in separate chunks all got index 0.
    events = decode_stream(sse(load("stream_parallel_tools.json")["frames"]))
    starts = [e for e in events if isinstance(e, PartStart)]
    assert [s.index for s in starts] == [0, 1, 2]
    call_a, call_b = starts[1].part, starts[2].part
    assert isinstance(call_a, ToolCallPart) and call_a.arguments == {"city": "Paris"}
    assert isinstance(call_b, ToolCallPart) and call_b.arguments == {"city": "London", "unit": "celsius"}
    assert call_a.id != call_b.id
    # prism-php/prism #830: only the first call carries the signature; it stays on that call.
    assert call_a.provider_data == ProviderData("gemini", {"thoughtSignature": SIG})
    assert call_b.provider_data is None
    assert not any(isinstance(e, PartDelta) and e.index in (1, 2) for e in events)
    assert isinstance(events[-1], ResponseEnd) and events[-1].finish_reason == "tool_use"


def test_mid_stream_error_frame() -> None:
    stream = sse(
        [
            {"candidates": [{"content": {"parts": [{"text": "Hel"}], "role": "model"}}], "responseId": "r"},
            {"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}},
            {"candidates": [{"content": {"parts": [{"text": "lo"}]}, "finishReason": "STOP"}]},
        ]
    )
    events = decode_stream(stream)
    assert events[-1] == StreamError(503, "upstream_overloaded", "The model is overloaded.")
    assert sum(isinstance(e, StreamError) for e in events) == 1


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (
            b"data: {not json\r\n\r\n",
            StreamError(502, "upstream_error", "the Gemini stream sent a chunk that is not JSON"),
        ),
        (
            b"data: [1]\r\n\r\n",
            StreamError(502, "upstream_error", "the Gemini stream sent a chunk that is not an object"),
        ),
        (
            b'data: {"error": {"code": 429, "message": "quota"}}\n\n',
            StreamError(429, "rate_limit_exceeded", "quota"),
        ),
        (b'data: {"error": "boom"}\n\n', StreamError(502, "upstream_error", "upstream error")),
        (
            b'data: {"candidates": [{"content": {"parts": [{"text": 5}]}}]}\n\n',
            StreamError(
                502, "upstream_error", "upstream Gemini response: content.parts[0].text: must be a string"
            ),
        ),
    ],
)
def test_broken_frames_become_stream_errors(frame: bytes, expected: StreamError) -> None:
    decoder = StreamDecoder()
    assert decoder.feed(frame)[-1] == expected
    assert decoder.feed(b'data: {"candidates": []}\n\n') == []
    assert decoder.finish() == []


def test_stream_without_finish_reason_ends_in_an_error() -> None:
    decoder = StreamDecoder()
    assert decoder.feed(b": keep-alive\n\n") == []
    events = decoder.feed(sse([{"candidates": [{"content": {"parts": [{"text": "partial"}]}}]}]))
    assert [type(e) for e in events] == [ResponseStart, PartStart, PartDelta]
    assert decoder.feed(sse([{"usageMetadata": {"promptTokenCount": 3}}])) == []
    (error,) = decoder.finish()
    assert isinstance(error, StreamError) and error.status == 502 and "finishReason" in error.message
    assert StreamDecoder().finish()[0] == error


def test_media_and_code_parts_and_text_after_a_call() -> None:
    stream = sse(
        [
            {
                "candidates": [
                    {
                        "content": {
                            "parts": [
                                {"executableCode": {"language": "PYTHON", "code": "print(1)"}},
                                {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
                                {"text": "", "thoughtSignature": SIG},
                                {"text": "done"},
                                {"text": "plan", "thought": True},
                            ]
                        },
                        "finishReason": "STOP",
                    }
                ],
                "responseId": "r",
            },
            {"candidates": [{"content": {"parts": [{"text": "late"}]}}]},
        ]
    )
    events = decode_stream(stream)
    response = assemble(events)
    assert response.parts == (
        OpaquePart("gemini", {"executableCode": {"language": "PYTHON", "code": "print(1)"}}),
        MediaPart("image", "image/png", data="iVBORw0KGgo="),
        TextPart("done", provider_data=ProviderData("gemini", {"thoughtSignature": SIG})),
        ThinkingPart("plan"),
    )
    assert response.finish_reason == "stop"


def test_the_tap_still_reads_usage_and_the_end() -> None:
    tap = GeminiStreamTap()
    frames = SSESplitter().feed(sse(load("stream_parallel_tools.json")["frames"]))
    assert [tap.feed(f) for f in frames] == [False, False, True]
    assert tap.facts.finished and tap.facts.usage.reasoning_tokens == 30


# ------------------------------------------------------------------ encoder

USAGE = Usage(input_tokens=100, output_tokens=40, cache_read_tokens=30, reasoning_tokens=10)

TEXT_ONLY: list[StreamEvent] = [
    ResponseStart("chatcmpl-1", "gpt-5"),
    PartStart(0, TextPart("")),
    PartDelta(0, TextDelta("Hello")),
    PartDelta(0, TextDelta("")),
    PartDelta(0, TextDelta(" world")),
    PartEnd(0),
    ResponseEnd("stop", USAGE),
]

THINKING_TEXT_PARALLEL_TOOLS: list[StreamEvent] = [
    ResponseStart("msg_1", "claude-opus-4-7", Usage(input_tokens=100)),
    PartStart(0, ThinkingPart()),
    PartDelta(0, ThinkingDelta("Two cities, ")),
    PartDelta(0, ThinkingDelta("two calls.")),
    PartDelta(0, SignatureDelta("EqQBCkgIARAB+/sig==", "anthropic_messages")),
    PartEnd(0),
    PartStart(1, TextPart("")),
    PartDelta(1, TextDelta("Checking both.")),
    PartEnd(1),
    PartStart(2, ToolCallPart("call_a", "get_weather")),
    PartStart(3, ToolCallPart("call_b", "get_weather")),
    PartDelta(2, ToolArgumentsDelta('{"ci')),
    PartDelta(3, ToolArgumentsDelta('{"city": "Lon')),
    PartDelta(2, ToolArgumentsDelta('ty": "Paris"}')),
    PartDelta(3, ToolArgumentsDelta('don"}')),
    PartEnd(3),
    PartEnd(2),
    ResponseEnd("tool_use", USAGE),
]

WHOLE_CALL_AND_UNFINISHED: list[StreamEvent] = [
    ResponseStart("r", "m"),
    PartStart(
        0,
        ToolCallPart(
            "gcall_0123456789abcdef", "lookup", {"q": "x"}, ProviderData("gemini", {"thoughtSignature": SIG})
        ),
    ),
    PartEnd(0),
    PartStart(1, ToolCallPart("toolu_2", "lookup", {"q": "y"})),
    PartDelta(1, ToolArgumentsDelta('{"limit": 3')),  # cut short by max tokens, never closed
    PartStart(2, ThinkingPart("", signature="opaque-sig", signature_protocol="openai_responses")),
    PartStart(3, TextPart("signed", provider_data=ProviderData("gemini", {"thoughtSignature": SIG}))),
    PartStart(4, TextPart("", provider_data=ProviderData("gemini", {"thoughtSignature": SIG}))),
    ResponseEnd("length", Usage(input_tokens=5, output_tokens=5)),
]

ZERO_PARTS: list[StreamEvent] = [
    ResponseStart("r", "m"),
    ResponseEnd("content_filter", Usage(input_tokens=3)),
]

ERROR_MID_STREAM: list[StreamEvent] = [
    ResponseStart("r", "m"),
    PartStart(0, TextPart("")),
    PartDelta(0, TextDelta("partial")),
    StreamError(529, "upstream_overloaded", "Overloaded"),
    PartDelta(0, TextDelta("ignored")),
    ResponseEnd("stop", Usage()),
]

OTHER_PARTS: list[StreamEvent] = [
    ResponseStart("r", "m"),
    PartStart(0, MediaPart("image", "image/png", data="iVBORw0KGgo=")),
    PartEnd(0),
    PartStart(1, OpaquePart("gemini", {"executableCode": {"language": "PYTHON", "code": "1"}})),
    PartEnd(1),
    PartStart(2, OpaquePart("anthropic_messages", {"type": "server_tool_use"})),
    PartEnd(2),
    PartStart(3, ToolResultPart("x", (TextPart("y"),))),
    PartEnd(3),
    PartStart(4, MediaPart("image", file_id="file-abc")),
    PartEnd(4),
    PartStart(
        5, ThinkingPart("redacted", signature="data", signature_protocol="anthropic_messages", redacted=True)
    ),
    PartDelta(5, TextDelta("more")),
    PartEnd(5),
    ResponseEnd(None, Usage()),
]

BROKEN_BUT_TOLERATED: list[StreamEvent] = [
    PartDelta(9, TextDelta("a delta for a part that never started")),
    PartEnd(9),
    PartStart(6, ToolCallPart("c", "f")),
    PartDelta(6, TextDelta("not arguments")),
    PartDelta(6, ToolArgumentsDelta("[1]")),
    PartEnd(6),
    ResponseEnd("tool_use", Usage()),
]

SEQUENCES = {
    "text_only": TEXT_ONLY,
    "thinking_text_parallel_tools": THINKING_TEXT_PARALLEL_TOOLS,
    "whole_call_and_unfinished": WHOLE_CALL_AND_UNFINISHED,
    "zero_parts": ZERO_PARTS,
    "other_parts": OTHER_PARTS,
}


@pytest.mark.parametrize("name", sorted(SEQUENCES))
def test_every_chunk_is_a_valid_sdk_response_with_consistent_ids(name: str) -> None:
    chunks = chunks_of(encode_stream(SEQUENCES[name]))
    assert chunks
    for chunk in chunks:
        parsed = assert_valid_response(chunk)
        assert chunk["responseId"] == "req_123" and chunk["modelVersion"] == "claude-opus-4-7"
        # The SDK's chat keeps a streamed turn only if every chunk has a non-empty part.
        assert parsed.candidates and parsed.candidates[0].content and parsed.candidates[0].content.parts
        assert all(p != types.Part() for p in parsed.candidates[0].content.parts)
    assert all("finishReason" not in c["candidates"][0] for c in chunks[:-1])
    assert all("usageMetadata" not in c for c in chunks[:-1])
    assert "finishReason" in chunks[-1]["candidates"][0] and "usageMetadata" in chunks[-1]


def test_text_deltas_become_text_chunks_with_usage_last() -> None:
    chunks = chunks_of(encode_stream(TEXT_ONLY))
    assert [c["candidates"][0]["content"]["parts"] for c in chunks] == [
        [{"text": "Hello"}],
        [{"text": " world"}],
        [{"text": ""}],
    ]
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    assert chunks[-1]["usageMetadata"] == {
        "promptTokenCount": 100,
        "candidatesTokenCount": 30,
        "thoughtsTokenCount": 10,
        "cachedContentTokenCount": 30,
        "totalTokenCount": 140,
    }


def test_interleaved_parallel_calls_are_emitted_whole_when_each_ends() -> None:
    # BerriAI/litellm PR #19928, praxis-proxy/ai #266: fragments buffered per call, never mixed.
    chunks = chunks_of(encode_stream(THINKING_TEXT_PARALLEL_TOOLS))
    parts = [p for c in chunks for p in c["candidates"][0]["content"]["parts"]]
    assert parts[0] == {"text": "Two cities, ", "thought": True}
    assert parts[1] == {"text": "two calls.", "thought": True}
    assert parts[2]["thought"] is True and parts[2]["text"] == "" and "thoughtSignature" in parts[2]
    assert parts[3] == {"text": "Checking both."}
    assert parts[4] == {"functionCall": {"id": "call_b", "name": "get_weather", "args": {"city": "London"}}}
    assert parts[5] == {"functionCall": {"id": "call_a", "name": "get_weather", "args": {"city": "Paris"}}}
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"


def test_calls_given_whole_and_calls_left_open_at_the_end() -> None:
    # BerriAI/litellm #27144 / #25561: arguments given only up front are not lost.
    chunks = chunks_of(encode_stream(WHOLE_CALL_AND_UNFINISHED))
    assert len(chunks) == 2
    assert chunks[0]["candidates"][0]["content"]["parts"] == [
        {"functionCall": {"name": "lookup", "args": {"q": "x"}}, "thoughtSignature": SIG}
    ]
    last = chunks[-1]["candidates"][0]
    assert last["finishReason"] == "MAX_TOKENS"
    thought, signed, empty_signed, call = last["content"]["parts"]
    # The text part opened while the thinking part was streaming waits for it to end.
    assert thought["thought"] is True and thought["text"] == ""
    assert signed == {"text": "signed", "thoughtSignature": SIG}
    assert empty_signed == {"text": "", "thoughtSignature": SIG}
    # Never a silent {} for truncated arguments (protocols.md §5.5).
    assert call == {
        "functionCall": {"id": "toolu_2", "name": "lookup", "args": {"q": "y", "_raw": '{"limit": 3'}}
    }


def test_concurrent_text_like_parts_stream_one_at_a_time_in_order() -> None:
    events: list[StreamEvent] = [
        ResponseStart("r", "m"),
        PartStart(0, ThinkingPart()),
        PartStart(1, TextPart("Hel")),
        PartDelta(1, TextDelta("lo")),
        PartDelta(0, ThinkingDelta("think")),
        PartStart(2, TextPart("")),
        PartDelta(2, TextDelta("second")),
        PartEnd(2),
        PartDelta(0, ThinkingDelta(" more")),
        PartEnd(0),
        PartDelta(1, TextDelta("!")),
        PartEnd(1),
        ResponseEnd("stop", Usage()),
    ]
    chunks = chunks_of(encode_stream(events))
    assert [c["candidates"][0]["content"]["parts"] for c in chunks] == [
        [{"text": "think", "thought": True}],
        [{"text": " more", "thought": True}],
        [{"text": "Hel"}, {"text": "lo"}],
        [{"text": "!"}],
        [{"text": "second"}],
        [{"text": ""}],
    ]
    assert assemble(decode_stream(encode_stream(events))).parts == (
        ThinkingPart("think more"),
        TextPart("Hello!second"),
    )


def test_zero_part_stream_is_one_final_chunk() -> None:
    (chunk,) = chunks_of(encode_stream(ZERO_PARTS))
    assert chunk["candidates"][0]["finishReason"] == "SAFETY"
    assert chunk["candidates"][0]["content"]["parts"] == [{"text": ""}]


def test_stream_error_is_a_google_error_frame_and_ends_the_stream() -> None:
    stream = encode_stream(ERROR_MID_STREAM)
    frames = SSESplitter().feed(stream)
    assert len(frames) == 2
    assert frames[1].startswith(b'data: {"error":')
    error = orjson.loads(frames[1][6:])["error"]
    assert error == {
        "code": 503,
        "message": "Overloaded",
        "status": "UNAVAILABLE",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "UPSTREAM_OVERLOADED",
                "domain": "bytespike",
            }
        ],
    }


def test_other_parts_are_sent_whole_or_skipped() -> None:
    chunks = chunks_of(encode_stream(OTHER_PARTS))
    parts = [p for c in chunks for p in c["candidates"][0]["content"]["parts"]]
    assert parts[0] == {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}
    assert parts[1] == {"executableCode": {"language": "PYTHON", "code": "1"}}
    assert parts[2] == {"text": "redacted", "thought": True}
    assert parts[3] == {"text": "more", "thought": True}
    assert parts[4]["thought"] is True and "thoughtSignature" in parts[4]
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"


def test_events_that_break_the_contract_do_not_break_the_encoder() -> None:
    # BerriAI/litellm #13373: a delta for a part that was never opened must not corrupt the stream.
    chunks = chunks_of(encode_stream(BROKEN_BUT_TOLERATED))
    parts = [p for c in chunks for p in c["candidates"][0]["content"]["parts"]]
    assert parts == [{"functionCall": {"id": "c", "name": "f", "args": {"_raw": "[1]"}}}, {"text": ""}]


def test_nothing_after_the_end() -> None:
    encoder = StreamEncoder(model="m", request_id="r")
    assert encoder.encode(ResponseStart("x", "y")) == b""
    assert encoder.encode(ResponseEnd("stop", Usage()))
    assert encoder.encode(PartStart(0, TextPart("late"))) == b""
    assert encoder.finish() == b""


@pytest.mark.parametrize("name", sorted(set(SEQUENCES) - {"whole_call_and_unfinished"}))
def test_encoded_streams_decode_back_to_the_same_content(name: str) -> None:
    events = SEQUENCES[name]
    original = assemble(events)
    back = assemble(decode_stream(encode_stream(events)))
    text = "".join(p.text for p in original.parts if isinstance(p, TextPart))
    assert "".join(p.text for p in back.parts if isinstance(p, TextPart)) == text
    calls = [(p.name, p.arguments) for p in back.parts if isinstance(p, ToolCallPart)]
    assert len(calls) == sum(isinstance(p, ToolCallPart) for p in original.parts)
    assert back.usage == original.usage


def test_a_non_streamed_response_from_another_vendor_streams_the_same() -> None:
    response = Response(
        "msg_1",
        "claude",
        (
            ThinkingPart("hmm", "sig", "anthropic_messages"),
            TextPart("hi"),
            ToolCallPart("toolu_1", "f", {"a": 1}),
        ),
        "tool_use",
        USAGE,
    )
    back = assemble(decode_stream(encode_stream(events_of(response))))
    assert back.parts == (
        ThinkingPart("hmm", "sig", "anthropic_messages"),
        TextPart("hi"),
        ToolCallPart("toolu_1", "f", {"a": 1}),
    )
    assert back.finish_reason == "tool_use" and back.usage == USAGE


# ------------------------------------------------------------------ the official SDK as oracle


def test_sdk_streams_a_translated_turn_and_sends_it_back(canned: CannedGemini) -> None:
    canned.reply_sse(encode_stream(THINKING_TEXT_PARALLEL_TOOLS))
    canned.reply_json(
        {"candidates": [{"content": {"role": "model", "parts": [{"text": "ok"}]}, "finishReason": "STOP"}]}
    )
    client = canned.client()
    chat = client.chats.create(model="claude-opus-4-7")
    chunks = list(chat.send_message_stream("Weather in Paris and London?"))
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP  # type: ignore[index]
    assert chunks[-1].usage_metadata is not None and chunks[-1].usage_metadata.prompt_token_count == 100
    calls = [fc for c in chunks for fc in (c.function_calls or [])]
    assert [(fc.id, fc.args) for fc in calls] == [
        ("call_b", {"city": "London"}),
        ("call_a", {"city": "Paris"}),
    ]
    # The chat accepted the turn: it is in the curated history the SDK sends next.
    chat.send_message(
        [
            types.Part.from_function_response(name="get_weather", response={"output": "18C"}),
            types.Part.from_function_response(name="get_weather", response={"output": "12C"}),
        ]
    )
    _, body = canned.requests[-1]
    req = decode_request(body)
    model_parts = [p for m in req.messages if m.role == "assistant" for p in m.parts]
    thinking = [p for p in model_parts if isinstance(p, ThinkingPart) and p.signature]
    # The Anthropic signature made it through the Gemini client and back, tagged with its vendor.
    assert thinking == [ThinkingPart("", "EqQBCkgIARAB+/sig==", "anthropic_messages")]
    results = [p for p in req.messages[-1].parts if isinstance(p, ToolResultPart)]
    # Results without ids pair with the calls by name and order.
    assert [r.tool_call_id for r in results] == ["call_b", "call_a"]


def test_sdk_raises_on_a_mid_stream_error_frame(canned: CannedGemini) -> None:
    canned.reply_sse(encode_stream(ERROR_MID_STREAM))
    client = canned.client()
    stream = client.models.generate_content_stream(model="m", contents="hi")
    first = next(stream)
    assert first.text == "partial"
    with pytest.raises(errors.APIError) as info:
        next(stream)
    assert info.value.code == 503 and info.value.status == "UNAVAILABLE"


@pytest.mark.parametrize("name", sorted(SEQUENCES))
def test_sdk_reads_every_encoded_sequence(canned: CannedGemini, name: str) -> None:
    canned.reply_sse(encode_stream(SEQUENCES[name]))
    client = canned.client()
    chunks = list(client.models.generate_content_stream(model="m", contents="hi"))
    assert chunks[-1].candidates[0].finish_reason is not None  # type: ignore[index]
    assert chunks[-1].usage_metadata is not None
    assert canned.requests[0][0] == "/v1beta/models/m:streamGenerateContent?alt=sse"


def test_the_tap_skips_what_it_cannot_read_and_records_error_frames() -> None:
    tap = GeminiStreamTap()
    assert tap.feed(b": comment\n\n") is False
    assert tap.feed(b"data: {oops\n\n") is False
    assert tap.feed(b"data: [1]\n\n") is False
    assert tap.feed(b'data: {"error": {"code": 500, "message": "boom", "status": "INTERNAL"}}\n\n') is False
    assert tap.facts.error is not None and tap.facts.error.upstream_type == "INTERNAL"
