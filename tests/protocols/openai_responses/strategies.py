"""Hypothesis strategies: arbitrary canonical requests and stream event sequences, shaped like
what any protocol's decoder may hand to this codec's encoders."""

from __future__ import annotations

import string

import orjson
from hypothesis import strategies as st

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
    CacheControl,
    MediaPart,
    OpaquePart,
    Part,
    ProviderData,
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
from bytespike.canonical.usage import Usage
from bytespike.protocols.openai_responses import NAME

PROTOCOLS = ("anthropic_messages", "openai_chat", "gemini", NAME)
text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=24)
ident = st.text(alphabet=string.ascii_letters + string.digits + "_-.:/=+", min_size=1, max_size=80)
json_scalar = st.none() | st.booleans() | st.integers(-(2**31), 2**31) | text
json_object = st.dictionaries(st.text(string.ascii_letters, min_size=1, max_size=8), json_scalar, max_size=4)
cache = st.none() | st.just(CacheControl()) | st.just(CacheControl("1h"))
b64 = st.sampled_from(
    ["iVBORw0KGgo=", "/9j/4AAQSkZJRg==", "R0lGODlh", "UklGRiQ=", "JVBERi0xLjQ=", "aGVsbG8="]
)


@st.composite
def text_parts(draw: st.DrawFn) -> TextPart:
    pd = draw(
        st.none()
        | st.just(ProviderData(NAME, {"refusal": True, "item": {"id": "msg_1", "status": "completed"}}))
        | st.just(
            ProviderData(NAME, {"part": {"annotations": []}, "item": {"id": "msg_2", "status": "completed"}})
        )
        | st.just(ProviderData("gemini", {"thoughtSignature": "x"}))
    )
    return TextPart(draw(text), draw(cache), pd)


@st.composite
def media_parts(draw: st.DrawFn) -> MediaPart:
    kind = draw(st.sampled_from(["image", "image", "document", "document", "audio", "video"]))
    source = draw(st.sampled_from(["data", "url", "file", "foreign_file", "none"]))
    media_type = draw(
        st.none() | st.sampled_from(["image/png", "application/pdf", "text/plain", "audio/wav"])
    )
    return MediaPart(
        kind,
        media_type,
        data=draw(b64) if source == "data" else None,
        url="https://example.com/x" if source == "url" else None,
        file_id={"file": "file-abc", "foreign_file": "file_011anthropic"}.get(source),
        filename=draw(st.none() | st.just("a.pdf")),
        title=draw(st.none() | st.just("T")),
        cache_control=draw(cache),
    )


@st.composite
def thinking_parts(draw: st.DrawFn) -> ThinkingPart:
    origin = draw(st.sampled_from((*PROTOCOLS, None)))
    signature = draw(st.none() | ident)
    pd = (
        ProviderData(NAME, {"item": {"id": "rs_" + draw(ident)}})
        if origin == NAME and draw(st.booleans())
        else None
    )
    return ThinkingPart(
        draw(text),
        signature if origin else None,
        origin if signature and origin else None,
        redacted=draw(st.booleans()),
        provider_data=pd,
    )


@st.composite
def tool_calls(draw: st.DrawFn) -> ToolCallPart:
    return ToolCallPart(draw(ident), draw(ident), draw(json_object), cache_control=draw(cache))


@st.composite
def tool_results(draw: st.DrawFn) -> ToolResultPart:
    content = draw(st.lists(text_parts() | media_parts(), max_size=3))
    return ToolResultPart(
        draw(ident), tuple(content), draw(st.booleans()), draw(st.none() | ident), draw(cache)
    )


opaque_parts = st.sampled_from(  # (unknown content kept verbatim is the caller's own: not generated)
    [
        OpaquePart(NAME, {"item": {"type": "item_reference", "id": "msg_1"}, "path": "input[0]"}),
        OpaquePart("anthropic_messages", {"type": "server_tool_use"}),
    ]
)
parts: st.SearchStrategy[Part] = st.one_of(
    text_parts(), media_parts(), thinking_parts(), tool_calls(), tool_results(), opaque_parts
)


@st.composite
def requests(draw: st.DrawFn) -> Request:
    messages = draw(
        st.lists(
            st.builds(
                Message,
                st.sampled_from(["user", "assistant", "system"]),
                st.lists(parts, max_size=4).map(tuple),
            ),
            max_size=5,
        )
    )
    tools = draw(
        st.lists(
            st.builds(
                ToolDefinition,
                ident,
                st.none() | text,
                st.none() | st.just({"type": "object", "properties": {"a": {"type": "string"}}}),
                st.none() | st.booleans(),
                cache,
            ),
            max_size=3,
        )
    )
    choice = draw(
        st.none()
        | st.builds(
            ToolChoice,
            st.sampled_from(["auto", "none", "required", "tool"]),
            st.none() | ident,
            st.none() | st.booleans(),
        )
    )
    fmt = draw(
        st.none()
        | st.builds(
            ResponseFormat,
            st.sampled_from(["text", "json_object", "json_schema"]),
            st.none() | json_object,
            st.none() | ident,
            st.none() | st.booleans(),
        )
    )
    reasoning = draw(
        st.none()
        | st.builds(
            Reasoning,
            st.none() | st.booleans(),
            st.none() | st.sampled_from(["minimal", "low", "medium", "high", "xhigh", "max", "extreme"]),
            st.none() | st.integers(0, 64000),
            st.none() | st.booleans(),
        )
    )
    return Request(
        model=draw(ident),
        messages=tuple(messages),
        system=tuple(draw(st.lists(text_parts(), max_size=3))),
        tools=tuple(tools),
        tool_choice=choice,
        max_tokens=draw(st.none() | st.integers(0, 200000)),
        temperature=draw(st.none() | st.floats(0, 2)),
        top_p=draw(st.none() | st.floats(0, 1)),
        top_k=draw(st.none() | st.integers(1, 100)),
        stop=tuple(draw(st.lists(text, max_size=2))),
        stream=draw(st.booleans()),
        response_format=fmt,
        reasoning=reasoning,
        user_id=draw(st.none() | ident),
        cache_control=draw(cache),
    )


# --- stream events --------------------------------------------------------------------------


def _chunks(draw: st.DrawFn, whole: str) -> list[str]:
    cuts = sorted(draw(st.lists(st.integers(0, len(whole)), max_size=4)))
    pieces, start = [], 0
    for cut in [*cuts, len(whole)]:
        pieces.append(whole[start:cut])
        start = cut
    return pieces


@st.composite
def part_events(draw: st.DrawFn, index: int) -> list[StreamEvent]:
    """One part's start, deltas and (usually) end, as some upstream decoder would emit them."""
    kind = draw(st.sampled_from(["text", "text", "thinking", "call", "call", "whole_call", "other"]))
    events: list[StreamEvent] = []
    if kind == "text":
        events.append(PartStart(index, TextPart("")))
        events += [PartDelta(index, TextDelta(c)) for c in _chunks(draw, draw(text))]
    elif kind == "thinking":
        events.append(PartStart(index, ThinkingPart()))
        events += [PartDelta(index, ThinkingDelta(c)) for c in _chunks(draw, draw(text))]
        if draw(st.booleans()):
            events.append(PartDelta(index, SignatureDelta(draw(ident), draw(st.sampled_from(PROTOCOLS)))))
    elif kind == "call":
        events.append(PartStart(index, ToolCallPart(draw(ident), draw(ident))))
        args = orjson.dumps(draw(json_object)).decode()
        events += [PartDelta(index, ToolArgumentsDelta(c)) for c in _chunks(draw, args)]
    elif kind == "whole_call":
        events.append(
            PartStart(index, ToolCallPart(draw(st.just("") | ident), draw(ident), draw(json_object)))
        )
    else:
        events.append(
            PartStart(
                index,
                draw(
                    st.sampled_from(
                        [
                            MediaPart("image", "image/png", data="iVBOR"),
                            ToolResultPart("x"),
                            OpaquePart("gemini", {"executableCode": {}}),
                            OpaquePart(
                                NAME,
                                {
                                    "item": {
                                        "id": f"ws_{index}",
                                        "type": "web_search_call",
                                        "status": "completed",
                                        "action": {"type": "search"},
                                    }
                                },
                            ),
                        ]
                    )
                ),
            )
        )
    if draw(st.integers(0, 9)) > 0:
        events.append(PartEnd(index))
    return events


@st.composite
def event_sequences(draw: st.DrawFn) -> list[StreamEvent]:
    """ResponseStart, the parts' events interleaved (starts in index order), then an ending:
    ResponseEnd, a StreamError, or nothing (a cut stream)."""
    count = draw(st.integers(0, 5))
    queues = [draw(part_events(i)) for i in range(count)]
    events: list[StreamEvent] = [
        ResponseStart(draw(st.sampled_from(["", "msg_1", "resp_up", "chatcmpl-9"])), "m")
    ]
    started = 0
    while any(queues):
        ready = [i for i, q in enumerate(queues) if q and (i < started or i == started)]
        i = draw(st.sampled_from(ready))
        if i == started:
            started += 1
        events.append(queues[i].pop(0))
    ending = draw(st.sampled_from(["end", "end", "end", "error", "cut"]))
    if ending == "end":
        usage = Usage(draw(st.integers(0, 10**6)), draw(st.integers(0, 10**5)))
        finish = draw(
            st.sampled_from(
                [
                    None,
                    "stop",
                    "length",
                    "tool_use",
                    "stop_sequence",
                    "content_filter",
                    "refusal",
                    "pause",
                    "error",
                ]
            )
        )
        events.append(ResponseEnd(finish, usage))  # type: ignore[arg-type]
    elif ending == "error":
        cut = draw(st.integers(1, len(events)))
        events = [
            *events[:cut],
            StreamError(draw(st.sampled_from([429, 500, 502])), "upstream_error", draw(text)),
        ]
    return events
