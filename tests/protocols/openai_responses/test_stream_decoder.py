"""Responses SSE → canonical events: recorded streams assemble to the non-streamed decode, and the
upstream quirks of protocols.md §3.3/§7 are survived."""

from __future__ import annotations

from typing import Any

import pytest

from bytespike.canonical.assembler import Assembler
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
)
from bytespike.canonical.parts import OpaquePart, TextPart, ThinkingPart, ToolCallPart
from bytespike.canonical.response import Response
from bytespike.canonical.usage import Usage
from bytespike.protocols.openai_responses import NAME
from bytespike.protocols.openai_responses.responses import decode_response
from bytespike.protocols.openai_responses.streaming import StreamDecoder
from tests.protocols.openai_responses.support import frames, load, sse


def decode(body: bytes, **options: Any) -> list[StreamEvent]:
    decoder = StreamDecoder(**options)
    events = [e for f in frames(body) for e in decoder.feed(f)]
    return events + decoder.finish()


def assemble(events: list[StreamEvent]) -> Response:
    a = Assembler()
    for e in events:
        a.feed(e)
    return a.response()


def parts_of(events: list[dict[str, Any]], **options: Any) -> Response:
    return assemble(decode(sse(events), **options))


@pytest.mark.parametrize("named", [True, False])
def test_recorded_stream_assembles_to_the_non_streamed_decode(named: bool) -> None:
    events = decode(sse(load("stream_tool_calls.json")["events"], named=named))
    streamed = assemble(events)
    whole = decode_response(load("response_tool_calls.json"))
    assert (streamed.id, streamed.model, streamed.parts, streamed.finish_reason, streamed.usage) == (
        whole.id,
        whole.model,
        whole.parts,
        whole.finish_reason,
        whole.usage,
    )
    assert events[0] == ResponseStart("resp_77b2", "gpt-5-5")
    assert isinstance(events[-1], ResponseEnd)
    assert PartDelta(0, SignatureDelta("gAAAAABxyz==", NAME)) in events


def test_arguments_only_in_done_and_empty_completed_output() -> None:
    # BerriAI/litellm #27144 and the #25321 comment, Gitlawb/openclaude #1259: arguments only in
    # .done / output_item.done; LiteLLM PR #32724: response.completed with an empty output.
    resp = parts_of(load("stream_arguments_only_in_done.json")["events"])
    assert [(p.id, p.arguments) for p in resp.parts if isinstance(p, ToolCallPart)] == [
        ("call_1", {"cmd": "ls"}),
        ("call_2", {"cmd": "pwd"}),
    ]
    assert resp.parts[2].text == "Running."  # type: ignore[union-attr]
    assert resp.finish_reason == "tool_use"
    assert resp.usage == Usage(50, 9, 40, 0, 0)


def test_error_mid_stream_is_one_stream_error() -> None:
    events = decode(sse(load("stream_failed.json")["events"]))
    assert events[-1] == StreamError(502, "upstream_error", "upstream: The model crashed.")
    assert sum(isinstance(e, StreamError) for e in events) == 1
    assert PartDelta(0, TextDelta("Par")) in events


def test_response_failed_alone() -> None:
    events = decode(
        sse(
            [
                {
                    "type": "response.failed",
                    "response": {"id": "r", "error": {"code": "rate_limit_exceeded", "message": "slow"}},
                }
            ]
        )
    )
    assert events == [StreamError(429, "rate_limit_exceeded", "upstream: slow")]


def test_truncated_stream_ends_in_an_error() -> None:
    events = load("stream_tool_calls.json")["events"][:12]
    out = decode(sse(events))
    assert out[-1] == StreamError(
        502, "upstream_error", "upstream: the stream ended before response.completed"
    )
    decoder = StreamDecoder()
    decoder.feed(sse(load("stream_tool_calls.json")["events"][-1:]))
    assert decoder.finish() == [] and decoder.feed(sse(events[:1])) == []


def test_malformed_frames() -> None:
    decoder = StreamDecoder()
    assert (
        decoder.feed(b": ping\n\n") == []
        and decoder.feed(b"data: [DONE]\n\n") == []
        and decoder.feed(b"data: 3\n\n") == []
    )
    assert decoder.feed(b'data: {"type":"response.unknown"}\n\n') == []
    assert decoder.feed(b"data: {oops\n\n") == [
        StreamError(502, "upstream_error", "upstream: a stream frame is not JSON")
    ]
    assert decoder.finish() == []
    bad = StreamDecoder()
    item = {"type": "message", "role": "assistant", "content": [{"type": "output_text"}]}
    out = bad.feed(sse([{"type": "response.output_item.done", "output_index": 0, "item": item}]))
    assert isinstance(out[-1], StreamError) and "text" in out[-1].message


def created(**extra: Any) -> dict[str, Any]:
    return {"type": "response.created", "response": {"id": "resp_1", "model": "m", "output": [], **extra}}


def completed(status: str = "completed", **extra: Any) -> dict[str, Any]:
    return {
        "type": "response.completed" if status == "completed" else "response.incomplete",
        "response": {"id": "resp_1", "status": status, "output": [], **extra},
    }


def test_open_weight_reasoning_text_and_multiple_summaries() -> None:
    rs = {"id": "rs_1", "type": "reasoning", "summary": []}
    events = [
        created(),
        {"type": "response.output_item.added", "output_index": 0, "item": rs},
        {"type": "response.reasoning_text.delta", "output_index": 0, "content_index": 0, "delta": "raw "},
        {
            "type": "response.reasoning_text.done",
            "output_index": 0,
            "content_index": 0,
            "text": "raw thought",
        },
        {"type": "response.reasoning_text.delta", "output_index": 0, "content_index": 1, "delta": "more"},
        {
            "type": "response.reasoning_summary_text.delta",
            "output_index": 0,
            "summary_index": 0,
            "delta": "ignored: content came first",
        },
        {
            "type": "response.output_item.done",
            "output_index": 0,
            "item": {
                **rs,
                "content": [
                    {"type": "reasoning_text", "text": "raw thought"},
                    {"type": "reasoning_text", "text": "more"},
                ],
            },
        },
        {
            "type": "response.output_item.added",
            "output_index": 1,
            "item": {"id": "rs_2", "type": "reasoning", "summary": []},
        },
        {
            "type": "response.reasoning_summary_part.added",
            "output_index": 1,
            "summary_index": 0,
            "part": {"type": "summary_text", "text": ""},
        },
        {
            "type": "response.reasoning_summary_text.delta",
            "output_index": 1,
            "summary_index": 0,
            "delta": "A",
        },
        {
            "type": "response.reasoning_summary_text.delta",
            "output_index": 1,
            "summary_index": 1,
            "delta": "B",
        },
        {
            "type": "response.output_item.done",
            "output_index": 1,
            "item": {
                "id": "rs_2",
                "type": "reasoning",
                "summary": [
                    {"type": "summary_text", "text": "A"},
                    {"type": "summary_text", "text": "B"},
                    {"type": "summary_text", "text": "C"},
                ],
            },
        },
        completed(),
    ]
    resp = parts_of(events)
    assert [p.text for p in resp.parts] == ["raw thought\n\nmore", "A\n\nB\n\nC"]  # type: ignore[union-attr]
    whole = decode_response(
        {"id": "r", "status": "completed", "output": [events[6]["item"], events[11]["item"]]}
    )
    assert [p.text for p in whole.parts] == ["raw thought\n\nmore", "A\n\nB\n\nC"]  # type: ignore[union-attr]


def test_text_without_content_part_events_and_refusals() -> None:
    msg = {"id": "msg_1", "type": "message", "status": "in_progress", "role": "assistant", "content": []}
    events = [
        created(),
        {"type": "response.output_item.added", "output_index": 0, "item": msg},
        {"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "delta": "Hel"},
        {"type": "response.output_text.done", "output_index": 0, "content_index": 0, "text": "Hello"},
        {"type": "response.refusal.delta", "output_index": 0, "content_index": 1, "delta": "No"},
        {"type": "response.refusal.done", "output_index": 0, "content_index": 1, "refusal": "No."},
        {
            "type": "response.content_part.done",
            "output_index": 0,
            "content_index": 1,
            "part": {"type": "refusal", "refusal": "No."},
        },
        {
            "type": "response.content_part.added",
            "output_index": 0,
            "content_index": 2,
            "part": {"type": "output_text", "text": "Pre", "annotations": []},
        },
        {
            "type": "response.content_part.done",
            "output_index": 0,
            "content_index": 2,
            "part": {"type": "output_text", "text": "Prefix", "annotations": []},
        },
        {
            "type": "response.content_part.added",
            "output_index": 0,
            "content_index": 3,
            "part": {"type": "mystery"},
        },
        {
            "type": "response.output_item.done",
            "output_index": 0,
            "item": {
                **msg,
                "status": "completed",
                "content": [
                    {"type": "output_text", "text": "Hello", "annotations": []},
                    {"type": "refusal", "refusal": "No."},
                    {"type": "output_text", "text": "Prefix", "annotations": []},
                    {"type": "output_text", "text": "Late part", "annotations": []},
                ],
            },
        },
        {
            "type": "response.output_text.delta",
            "output_index": 9,
            "content_index": 0,
            "delta": "no such item",
        },
        {
            "type": "response.content_part.added",
            "output_index": 9,
            "content_index": 0,
            "part": {"type": "output_text", "text": ""},
        },
        {
            "type": "response.content_part.done",
            "output_index": 9,
            "content_index": 0,
            "part": {"type": "output_text", "text": ""},
        },
        completed(),
    ]
    resp = parts_of(events)
    assert [p.text for p in resp.parts] == ["Hello", "No.", "Prefix", "Late part"]  # type: ignore[union-attr]
    assert resp.parts[1].provider_data.data["refusal"] is True  # type: ignore[union-attr]


def test_hosted_items_become_opaque_parts_and_names_map_back() -> None:
    ws = {"id": "ws_1", "type": "web_search_call", "status": "completed", "action": {"type": "search"}}
    call = {
        "id": "fc_1",
        "type": "function_call",
        "status": "in_progress",
        "arguments": '{"a":1}',
        "call_id": "c1",
        "name": "weather_get",
    }
    events = [
        created(),
        {"type": "response.output_item.added", "output_index": 0, "item": {**ws, "status": "in_progress"}},
        {"type": "response.web_search_call.searching", "output_index": 0, "item_id": "ws_1"},
        {"type": "response.output_item.done", "output_index": 0, "item": ws},
        {"type": "response.output_item.added", "output_index": 1, "item": call},
        {"type": "response.output_item.added", "output_index": 1, "item": call},
        {"type": "response.function_call_arguments.done", "output_index": 1, "arguments": '{"a":1}'},
        {"type": "response.function_call_arguments.delta", "output_index": 7, "delta": "x"},
        {"type": "response.output_item.done", "output_index": 1, "item": {**call, "status": "completed"}},
        {"type": "response.output_item.added", "output_index": 2, "item": "junk"},
        completed(),
    ]
    resp = parts_of(events, tool_names={"weather_get": "weather.get"})
    assert resp.parts[0] == OpaquePart(NAME, {"item": ws})
    assert resp.parts[1] == ToolCallPart("c1", "weather.get", {"a": 1}, resp.parts[1].provider_data)  # type: ignore[union-attr]


def test_items_only_in_the_terminal_response() -> None:
    output = load("response_tool_calls.json")["output"]
    resp = parts_of([created(), completed(output=output, usage=load("response_tool_calls.json")["usage"])])
    whole = decode_response(load("response_tool_calls.json"))
    assert resp.parts == whole.parts and resp.finish_reason == "tool_use"


def test_incomplete_stream_and_missing_created() -> None:
    msg = {"id": "msg_1", "type": "message", "status": "in_progress", "role": "assistant", "content": []}
    events = [
        {"type": "response.output_item.added", "output_index": 0, "item": msg},
        {"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "delta": "cut"},
        completed("incomplete", incomplete_details={"reason": "max_output_tokens"}),
    ]
    out = decode(sse(events))
    assert out[0] == ResponseStart("", "")
    assert out[-2:] == [PartEnd(0), ResponseEnd("length", Usage())]


def test_reasoning_without_any_delta_takes_its_text_from_done() -> None:
    item = {
        "id": "rs_9",
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": "whole"}],
        "encrypted_content": "e",
    }
    out = decode(
        sse([created(), {"type": "response.output_item.done", "output_index": 0, "item": item}, completed()])
    )
    assert out[1:5] == [
        PartStart(0, ThinkingPart(provider_data=out[1].part.provider_data)),  # type: ignore[union-attr]
        PartDelta(0, ThinkingDelta("whole")),
        PartDelta(0, SignatureDelta("e", NAME)),
        PartEnd(0),
    ]
    assert isinstance(out[1].part, ThinkingPart) and out[1].part.signature is None  # type: ignore[union-attr]
    assert (
        parts_of(
            [created(), {"type": "response.output_item.done", "output_index": 0, "item": item}, completed()]
        ).parts
        == decode_response({"id": "r", "status": "completed", "output": [item]}).parts
    )


def test_first_text_arrives_in_content_part_added() -> None:
    msg = {"id": "m", "type": "message", "role": "assistant", "content": []}
    out = decode(
        sse(
            [
                created(),
                {"type": "response.output_item.added", "output_index": 0, "item": msg},
                {
                    "type": "response.content_part.added",
                    "output_index": 0,
                    "content_index": 0,
                    "part": {"type": "output_text", "text": "Hi"},
                },
                completed(),
            ]
        )
    )
    assert out[1:4] == [
        PartStart(0, TextPart("", provider_data=out[1].part.provider_data)),
        PartDelta(0, TextDelta("Hi")),
        PartEnd(0),
    ]  # type: ignore[union-attr]


def test_events_missing_their_payload_are_ignored() -> None:
    msg = {"id": "m", "type": "message", "role": "assistant", "content": []}
    rs = {"id": "rs", "type": "reasoning", "summary": []}
    events = [
        created(),
        {"type": "response.output_item.added", "output_index": 0, "item": msg},
        {"type": "response.output_text.done", "output_index": 0, "content_index": 0},
        {"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "delta": ""},
        {"type": "response.output_item.done", "output_index": "0", "item": msg},
        {"type": "response.output_item.done", "output_index": 0, "item": None},
        {"type": "response.output_item.added", "output_index": 1, "item": rs},
        {"type": "response.reasoning_summary_text.delta", "output_index": 1, "summary_index": 0, "delta": ""},
        {"type": "response.reasoning_summary_text.done", "output_index": 1, "summary_index": 0, "text": ""},
        {
            "type": "response.content_part.done",
            "output_index": 1,
            "content_index": 0,
            "part": {"type": "output_text", "text": "x"},
        },
        completed(),
    ]
    resp = parts_of(events)
    assert [type(p) for p in resp.parts] == [TextPart, ThinkingPart]
    assert resp.parts[0].text == "" and resp.parts[1].text == ""  # type: ignore[union-attr]
