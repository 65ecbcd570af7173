"""Canonical events → Responses SSE, checked by the OpenAI SDK's own accumulator (§8.3) and by
raw-event assertions: lifecycle, one response id, output_index bookkeeping, error frames."""

from __future__ import annotations

from typing import Any

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
from bytespike.canonical.usage import Usage
from bytespike.protocols.openai_responses import NAME
from bytespike.protocols.openai_responses.responses import decode_response
from bytespike.protocols.openai_responses.streaming import StreamDecoder, StreamEncoder
from tests.protocols.openai_responses.support import frames, load, payloads, sdk_events, sdk_final_response

USAGE = Usage(input_tokens=120, output_tokens=30, cache_read_tokens=100, reasoning_tokens=8)


def encode(events: list[StreamEvent], **options: Any) -> bytes:
    encoder = StreamEncoder(model="gpt-x", request_id="req_5e1f", **options)
    return b"".join(encoder.encode(e) for e in events) + encoder.finish()


def check_lifecycle(body: bytes) -> list[dict[str, Any]]:
    """What every stream must satisfy whatever its content."""
    events = payloads(body)
    assert events[0]["type"] == "response.created" and events[1]["type"] == "response.in_progress"
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    ids = {e["response"]["id"] for e in events if "response" in e}
    assert len(ids) == 1
    added = [e["output_index"] for e in events if e["type"] == "response.output_item.added"]
    done = [e["output_index"] for e in events if e["type"] == "response.output_item.done"]
    assert added == list(range(len(added)))
    assert sorted(done) == added or events[-1]["type"] == "response.failed"
    open_index = None
    for e in events:  # one item at a time, deltas only for the open item
        if e["type"] == "response.output_item.added":
            assert open_index is None
            open_index = e["output_index"]
        elif e["type"] == "response.output_item.done":
            assert e["output_index"] == open_index
            open_index = None
        elif "output_index" in e:
            assert e["output_index"] == open_index, e
    return events


def test_text_stream_is_accepted_by_the_sdk() -> None:
    body = encode(
        [
            ResponseStart("msg_1", "claude"),
            PartStart(0, TextPart("")),
            PartDelta(0, TextDelta("Hel")),
            PartDelta(0, TextDelta("lo")),
            PartEnd(0),
            ResponseEnd("stop", USAGE),
        ]
    )
    events = check_lifecycle(body)
    final = sdk_final_response(body)
    assert final.id == "resp_5e1f" and final.output_text == "Hello" and final.status == "completed"
    assert final.usage is not None and final.usage.input_tokens_details.cached_tokens == 100
    assert [e["type"] for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert events[2]["item"] == {
        "id": "msg_5e1f_0",
        "type": "message",
        "status": "in_progress",
        "role": "assistant",
        "content": [],
    }


def test_thinking_then_text_then_tool_calls_anthropic_order() -> None:
    events = [
        ResponseStart("msg_1", "claude"),
        PartStart(0, ThinkingPart()),
        PartDelta(0, ThinkingDelta("Plan.")),
        PartDelta(0, SignatureDelta("EqQBCkYI", "anthropic_messages")),
        PartEnd(0),
        PartStart(1, TextPart("")),
        PartDelta(1, TextDelta("Calling.")),
        PartEnd(1),
        PartStart(2, ToolCallPart("toolu_1", "get_weather")),
        PartDelta(2, ToolArgumentsDelta('{"city":')),
        PartDelta(2, ToolArgumentsDelta('"Paris"}')),
        PartEnd(2),
        ResponseEnd("tool_use", USAGE),
    ]
    body = encode(events)
    wire = check_lifecycle(body)
    final = sdk_final_response(body)
    assert [o.type for o in final.output] == ["reasoning", "message", "function_call"]
    assert final.output[0].summary[0].text == "Plan."
    assert final.output[0].encrypted_content is None  # another vendor's signature stays behind
    assert "EqQBCkYI" not in body.decode()
    call = final.output[2]
    assert (call.call_id, call.name, call.arguments, call.status) == (
        "toolu_1",
        "get_weather",
        '{"city":"Paris"}',
        "completed",
    )
    # Arguments travel as function_call_arguments deltas, never as text (BerriAI/litellm PR #13638).
    assert [e["delta"] for e in wire if e["type"] == "response.function_call_arguments.delta"] == [
        '{"city":',
        '"Paris"}',
    ]
    assert {e["output_index"] for e in wire if e["type"].startswith("response.reasoning_summary")} == {0}


def test_interleaved_parallel_calls_are_serialized() -> None:
    # praxis-proxy/ai #266, kitty-bridge PR #116 and KBR-240: interleaved fragments must reach the
    # right call, and a text item and the first call never share an output_index.
    events = [
        ResponseStart("chatcmpl-1", "gpt-4o"),
        PartStart(0, TextPart("")),
        PartDelta(0, TextDelta("Both:")),
        PartStart(1, ToolCallPart("call_a", "f")),
        PartDelta(1, ToolArgumentsDelta('{"x":')),
        PartStart(2, ToolCallPart("call_b", "g")),
        PartDelta(2, ToolArgumentsDelta('{"y":2}')),
        PartDelta(1, ToolArgumentsDelta("1}")),
        PartDelta(0, TextDelta(" go")),
        PartEnd(2),
        PartEnd(0),
        PartEnd(1),
        ResponseEnd("tool_use", USAGE),
    ]
    body = encode(events)
    wire = check_lifecycle(body)
    final = sdk_final_response(body)
    assert final.output_text == "Both: go"
    assert [(o.call_id, o.arguments) for o in final.output if o.type == "function_call"] == [
        ("call_a", '{"x":1}'),
        ("call_b", '{"y":2}'),
    ]
    assert [e["output_index"] for e in wire if e["type"] == "response.output_item.added"] == [0, 1, 2]


def test_gemini_whole_calls_without_deltas() -> None:
    # BerriAI/litellm PR #16194: Gemini parallel calls all came out at index 0.
    events = [
        ResponseStart("", "gemini-3-1-pro"),
        PartStart(0, ToolCallPart("call_1", "a", {"q": 1})),
        PartEnd(0),
        PartStart(1, ToolCallPart("", "b", {"q": 2})),
        PartEnd(1),
        ResponseEnd("tool_use", USAGE),
    ]
    body = encode(events)
    check_lifecycle(body)
    final = sdk_final_response(body)
    assert [(o.call_id, o.name, o.arguments) for o in final.output] == [
        ("call_1", "a", '{"q":1}'),
        ("call_5e1f_1", "b", '{"q":2}'),
    ]


def test_zero_parts_and_usage_only_at_the_end() -> None:
    body = encode([ResponseStart("x", "m", usage=Usage(5, 0)), ResponseEnd("stop", Usage(5, 1))])
    check_lifecycle(body)
    final = sdk_final_response(body)
    assert final.output == [] and final.usage is not None and final.usage.output_tokens == 1
    assert payloads(body)[0]["response"]["usage"] is None


def test_no_response_start_still_opens_the_lifecycle() -> None:
    body = encode([PartStart(0, TextPart("complete text")), ResponseEnd(None, Usage())])
    check_lifecycle(body)
    assert sdk_final_response(body).output_text == "complete text"


def test_stream_error_mid_stream_is_error_then_response_failed() -> None:
    body = encode(
        [
            ResponseStart("a", "m"),
            PartStart(0, TextPart("")),
            PartDelta(0, TextDelta("Par")),
            StreamError(502, "upstream_error", "upstream died"),
        ]
    )
    events = check_lifecycle(body)
    assert [e["type"] for e in events[-2:]] == ["error", "response.failed"]
    assert events[-2] == {
        "type": "error",
        "code": "upstream_error",
        "message": "upstream died",
        "param": None,
        "sequence_number": events[-2]["sequence_number"],
    }
    assert events[-1]["response"]["error"] == {"code": "server_error", "message": "upstream died"}
    assert [e.type for e in sdk_events(body)][-2:] == ["error", "response.failed"]
    with pytest.raises(RuntimeError, match=r"response\.completed"):
        sdk_final_response(body)


def test_stream_error_before_anything() -> None:
    events = check_lifecycle(encode([StreamError(429, "rate_limit_exceeded", "slow down")]))
    assert events[-1]["response"]["error"]["code"] == "rate_limit_exceeded"


def test_cut_stream_fails_in_band_and_terminal_is_final() -> None:
    encoder = StreamEncoder(model="m", request_id="req_1")
    encoder.encode(ResponseStart("a", "m"))
    cut = payloads(encoder.finish())
    assert [e["type"] for e in cut] == ["error", "response.failed"]
    assert encoder.finish() == b"" and encoder.encode(ResponseEnd("stop", Usage())) == b""


@pytest.mark.parametrize(
    ("finish", "terminal", "details"),
    [
        ("length", "response.incomplete", {"reason": "max_output_tokens"}),
        ("refusal", "response.incomplete", {"reason": "content_filter"}),
        ("error", "response.failed", None),
    ],
)
def test_terminal_event_follows_the_finish_reason(finish: str, terminal: str, details: Any) -> None:
    body = encode(
        [ResponseStart("a", "m"), PartStart(0, TextPart("Once")), PartEnd(0), ResponseEnd(finish, USAGE)]
    )  # type: ignore[arg-type]
    events = check_lifecycle(body)
    assert events[-1]["type"] == terminal and events[-1]["response"]["incomplete_details"] == details
    assert [e.type for e in sdk_events(body)][-1] == terminal
    assert events[-1]["response"]["output"][0]["content"][0]["text"] == "Once"


def test_own_reasoning_signature_becomes_encrypted_content() -> None:
    events = [
        ResponseStart("resp_up", "gpt-5-5"),
        PartStart(0, ThinkingPart("", "first", NAME)),
        PartDelta(0, SignatureDelta("enc", NAME)),
        PartEnd(0),
        PartStart(1, ThinkingPart("complete")),
        PartEnd(1),
        ResponseEnd("stop", USAGE),
    ]
    body = encode(events)
    check_lifecycle(body)
    final = sdk_final_response(body)
    assert final.id == "resp_up"
    assert final.output[0].encrypted_content == "enc" and final.output[0].summary == []
    assert final.output[1].summary[0].text == "complete"


def test_other_part_kinds() -> None:
    web = {
        "id": "ws_1",
        "type": "web_search_call",
        "status": "completed",
        "action": {"type": "search", "query": "q"},
    }
    refusal = TextPart("", provider_data=ProviderData(NAME, {"refusal": True}))
    events = [
        ResponseStart("a", "m"),
        PartStart(0, ToolResultPart("x")),
        PartDelta(0, TextDelta("ignored")),
        PartEnd(0),
        PartStart(1, OpaquePart(NAME, {"item": web})),
        PartEnd(1),
        PartStart(2, OpaquePart("anthropic_messages", {"type": "server_tool_use"})),
        PartEnd(2),
        PartStart(3, MediaPart("image", "image/png", data="iVBOR")),
        PartEnd(3),
        PartStart(4, refusal),
        PartDelta(4, TextDelta("I can't.")),
        PartDelta(4, ThinkingDelta("wrong kind: ignored")),
        PartDelta(4, ToolArgumentsDelta("{}")),
        PartEnd(4),
        PartDelta(9, TextDelta("unknown part")),
        PartEnd(9),
        PartStart(3, TextPart("duplicate start")),
        ResponseEnd("stop", USAGE),
    ]
    body = encode(events)
    wire = check_lifecycle(body)
    final = sdk_final_response(body)
    assert [o.type for o in final.output] == ["web_search_call", "image_generation_call", "message"]
    assert final.output[1].result == "iVBOR"
    assert final.output[2].content[0].type == "refusal" and final.output[2].content[0].refusal == "I can't."
    assert [e["type"] for e in wire if e["type"].startswith("response.refusal")] == [
        "response.refusal.delta",
        "response.refusal.done",
    ]


def test_parts_still_open_at_the_end_are_closed_in_order() -> None:
    events = [
        ResponseStart("a", "m"),
        PartStart(0, ToolCallPart("c0", "f")),
        PartStart(1, TextPart("")),
        PartDelta(1, TextDelta("buffered")),
        PartDelta(0, ToolArgumentsDelta('{"a":1}')),
        ResponseEnd("tool_use", USAGE),
    ]
    body = encode(events)
    check_lifecycle(body)
    final = sdk_final_response(body)
    assert [o.type for o in final.output] == ["function_call", "message"] and final.output_text == "buffered"


def test_whole_arguments_plus_late_fragments_are_merged() -> None:
    events = [
        ResponseStart("a", "m"),
        PartStart(0, ToolCallPart("c", "f", {"a": 1})),
        PartDelta(0, ToolArgumentsDelta('{"b":2}')),
        PartEnd(0),
        PartStart(1, ToolCallPart("d", "f", {"a": 1})),
        PartDelta(1, ToolArgumentsDelta('{"b":')),
        PartEnd(1),
        ResponseEnd("tool_use", USAGE),
    ]
    final = sdk_final_response(encode(events))
    assert [orjson.loads(o.arguments) for o in final.output] == [{"a": 1, "b": 2}, {"a": 1}]


def test_request_fields_are_echoed() -> None:
    request = {
        "model": "claude",
        "instructions": "Be brief.",
        "tools": [{"type": "function", "name": "f", "parameters": {}}],
        "tool_choice": "required",
        "metadata": {"k": "v"},
    }
    body = encode(
        [ResponseStart("a", "m"), ResponseEnd("stop", USAGE)], request=request, created_at=1767225600
    )
    first = payloads(body)[0]["response"]
    assert (first["instructions"], first["tool_choice"], first["metadata"], first["created_at"]) == (
        "Be brief.",
        "required",
        {"k": "v"},
        1767225600,
    )
    assert first["tools"] == [{"type": "function", "name": "f", "parameters": {}, "strict": True}]
    sdk_final_response(body)


def test_recorded_upstream_stream_survives_decode_then_encode() -> None:
    # An OpenAI Responses upstream translated for a Responses caller: same parts, ids kept.
    upstream = load("stream_tool_calls.json")["events"]
    from tests.protocols.openai_responses.support import sse

    decoder = StreamDecoder()
    canonical = [e for f in frames(sse(upstream)) for e in decoder.feed(f)]
    body = encode(canonical)
    check_lifecycle(body)
    final = sdk_final_response(body)
    expected = decode_response(load("response_tool_calls.json"))
    assert final.id == "resp_77b2"
    assert [o.type for o in final.output] == ["reasoning", "message", "function_call", "function_call"]
    assert final.output[0].encrypted_content == "gAAAAABxyz=="
    again = StreamDecoder()
    a = Assembler()
    for f in frames(body):
        for e in again.feed(f):
            a.feed(e)
    assert [type(p) for p in a.response().parts] == [type(p) for p in expected.parts]
    assert a.response().usage == expected.usage


def test_events_of_a_whole_response_encode_like_a_stream() -> None:
    whole = decode_response(load("response_tool_calls.json"))
    final = sdk_final_response(encode(events_of(whole)))
    assert [o.type for o in final.output] == ["reasoning", "message", "function_call", "function_call"]


def test_mismatched_and_empty_deltas_are_ignored() -> None:
    events = [
        ResponseStart("a", "m"),
        PartStart(0, ToolCallPart("c", "f")),
        PartDelta(0, TextDelta("not arguments")),
        PartDelta(0, ToolArgumentsDelta("")),
        PartDelta(0, SignatureDelta("s", NAME)),
        PartEnd(0),
        PartStart(1, TextPart("")),
        PartDelta(1, TextDelta("")),
        PartEnd(1),
        ResponseEnd("stop", USAGE),
    ]
    wire = check_lifecycle(encode(events))
    assert not [e for e in wire if e["type"].endswith(".delta")]
    final = sdk_final_response(encode(events))
    assert final.output[0].arguments == "" and final.output_text == ""
