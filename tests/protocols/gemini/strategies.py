"""Hypothesis strategies: arbitrary canonical requests (as any protocol's decoder might produce
them) and arbitrary valid canonical stream event sequences."""

from __future__ import annotations

import base64
import itertools

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

PROTOCOLS = ("anthropic_messages", "openai_chat", "openai_responses", "gemini")
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

texts = st.text(max_size=12)
signatures = st.binary(min_size=1, max_size=24).map(lambda b: base64.b64encode(b).decode())
VALID_NAMES = ["get_weather", "lookup", "mcp.fs:read", "_private", "search-web"]
names = st.sampled_from(VALID_NAMES * 6 + ["bad name", "9lives", "x" * 130])
call_ids = st.one_of(
    st.sampled_from(["toolu_01A", "call_abc", "fc_1", "gcall_0011223344556677"]),
    st.text(min_size=1, max_size=8),
)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    texts,
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(texts, inner, max_size=3)),
    max_leaves=6,
)
json_objects = st.dictionaries(texts, json_values, max_size=3)
cache_controls = st.one_of(st.none(), st.builds(CacheControl, st.sampled_from([None, "5m", "1h"])))


@st.composite
def provider_data(draw: st.DrawFn) -> ProviderData | None:
    protocol = draw(st.sampled_from((None, *PROTOCOLS)))
    if protocol is None:
        return None
    if protocol == "gemini":
        return ProviderData("gemini", {"thoughtSignature": draw(signatures)})
    return ProviderData(protocol, {"id": draw(texts)})


text_parts = st.builds(TextPart, texts, cache_controls, provider_data())
media_parts = st.one_of(
    st.builds(
        MediaPart,
        st.sampled_from(["image", "document", "audio", "video"]),
        st.sampled_from([None, "image/png", "application/pdf", "audio/wav"]),
        data=st.sampled_from([PNG, "JVBERi0xLjQK"] * 5 + ["AAAA"]),
        filename=st.sampled_from([None, "a.png"]),
        cache_control=cache_controls,
    ),
    st.builds(
        MediaPart,
        st.just("image"),
        st.sampled_from([None, "image/jpeg"]),
        url=st.sampled_from(["https://example.com/a.jpg", f"data:image/png;base64,{PNG}", "data:bad"]),
        title=st.sampled_from([None, "T"]),
    ),
    st.builds(
        MediaPart,
        st.just("document"),
        file_id=st.sampled_from(["files/abc", "https://generativelanguage.googleapis.com/v1beta/files/x"]),
    ),
)
broken_media = st.sampled_from([MediaPart("image"), MediaPart("document", file_id="file-abc")])
thinking_parts = st.builds(
    ThinkingPart,
    texts,
    st.one_of(st.none(), signatures),
    st.sampled_from((None, *PROTOCOLS)),
    st.booleans(),
    provider_data(),
)
opaque_parts = st.one_of(
    st.just(OpaquePart("gemini", {"executableCode": {"language": "PYTHON", "code": "print(1)"}})),
    st.builds(OpaquePart, st.sampled_from(PROTOCOLS[:3]), st.just({"type": "server_tool_use"})),
)


@st.composite
def tool_calls(draw: st.DrawFn) -> ToolCallPart:
    return ToolCallPart(
        draw(call_ids), draw(names), draw(json_objects), draw(provider_data()), draw(cache_controls)
    )


@st.composite
def tool_results(draw: st.DrawFn, known_ids: list[str]) -> ToolResultPart:
    tool_call_id = draw(st.sampled_from(known_ids)) if known_ids and draw(st.booleans()) else draw(call_ids)
    content = draw(st.lists(st.one_of(text_parts, media_parts), max_size=2))
    return ToolResultPart(
        tool_call_id,
        tuple(content),
        draw(st.booleans()),
        draw(st.one_of(st.none(), names)),
        draw(cache_controls),
    )


@st.composite
def messages(draw: st.DrawFn) -> tuple[Message, ...]:
    out = []
    known_ids: list[str] = []
    for _ in range(draw(st.integers(1, 5))):
        role = draw(st.sampled_from(["user", "user", "assistant", "assistant", "system"]))
        parts: list[Part] = []
        if role == "user" and draw(st.integers(0, 3)):
            parts.append(TextPart(draw(st.text(min_size=1, max_size=12))))
        if draw(st.integers(0, 19)) == 0:
            parts.append(draw(broken_media))
        for _ in range(draw(st.integers(0, 4))):
            if role == "assistant":
                part = draw(st.one_of(text_parts, thinking_parts, tool_calls(), opaque_parts, media_parts))
                if isinstance(part, ToolCallPart):
                    known_ids.append(part.id)
            elif role == "user":
                part = draw(st.one_of(text_parts, media_parts, tool_results(known_ids), opaque_parts))
            else:
                part = draw(st.one_of(text_parts, media_parts))
            parts.append(part)
        out.append(Message(role, tuple(parts)))
    return tuple(out)


tool_definitions = st.builds(
    ToolDefinition,
    names,
    st.one_of(st.none(), texts),
    st.one_of(
        st.none(),
        st.just({"type": "object", "properties": {"q": {"type": "string"}}}),
        st.just({"oneOf": [{"type": "string"}]}),
    ),
    st.one_of(st.none(), st.booleans()),
    cache_controls,
)
tool_choices = st.one_of(
    st.none(),
    st.builds(
        ToolChoice,
        st.sampled_from(["auto", "none", "required", "tool"]),
        st.one_of(st.none(), names),
        st.one_of(st.none(), st.booleans()),
    ),
)
response_formats = st.one_of(
    st.none(),
    st.builds(
        ResponseFormat,
        st.sampled_from(["text", "json_object", "json_schema"]),
        st.one_of(st.none(), st.just({"type": "object", "additionalProperties": False})),
        st.one_of(st.none(), st.just("answer")),
        st.one_of(st.none(), st.booleans()),
    ),
)
reasonings = st.one_of(
    st.none(),
    st.builds(
        Reasoning,
        st.one_of(st.none(), st.booleans()),
        st.sampled_from([None, "none", "minimal", "low", "medium", "high", "xhigh", "max"]),
        st.one_of(st.none(), st.integers(1, 32768)),
        st.one_of(st.none(), st.booleans()),
    ),
)
extras = st.fixed_dictionaries(
    {},
    optional={
        "gemini": st.just(
            {"safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}]}
        ),
        "openai_chat": st.just({"logit_bias": {"50256": -100}}),
        "anthropic_messages": st.just({"metadata": {"user_id": "u"}}),
    },
)

requests = st.builds(
    Request,
    model=st.just("any-model"),
    messages=messages(),
    system=st.lists(text_parts, max_size=2).map(tuple),
    tools=st.lists(tool_definitions, max_size=3).map(tuple),
    tool_choice=tool_choices,
    max_tokens=st.one_of(st.none(), st.integers(1, 100000)),
    temperature=st.one_of(st.none(), st.floats(0, 2)),
    top_p=st.one_of(st.none(), st.floats(0, 1)),
    top_k=st.one_of(st.none(), st.integers(1, 100)),
    stop=st.lists(st.text(min_size=1, max_size=4), max_size=7).map(tuple),
    response_format=response_formats,
    reasoning=reasonings,
    user_id=st.one_of(st.none(), st.just("user-1")),
    cache_control=cache_controls,
    extras=extras,
)


# ------------------------------------------------------------------ stream events

usages = st.builds(
    Usage,
    st.integers(0, 10**6),
    st.integers(0, 10**5),
    st.integers(0, 1000),
    st.integers(0, 1000),
    st.integers(0, 1000),
).filter(lambda u: u.reasoning_tokens <= u.output_tokens)


def _fragments(draw: st.DrawFn, whole: str) -> list[str]:
    cuts = sorted(draw(st.sets(st.integers(1, max(len(whole) - 1, 1)), max_size=3)))
    points = [0, *[c for c in cuts if c < len(whole)], len(whole)]
    return [whole[a:b] for a, b in itertools.pairwise(points) if whole[a:b]]


@st.composite
def event_sequences(draw: st.DrawFn) -> list[StreamEvent]:
    """A valid canonical stream: parts opened in index order, their deltas and ends interleaved
    arbitrarily, then a `ResponseEnd` (or a `StreamError` somewhere)."""
    import orjson

    kinds = draw(st.lists(st.sampled_from(["text", "thinking", "call", "whole_call", "media"]), max_size=5))
    pending: dict[int, list[StreamEvent]] = {}
    for index, kind in enumerate(kinds):
        events: list[StreamEvent]
        match kind:
            case "text":
                events = [PartStart(index, TextPart("", provider_data=draw(provider_data())))]
                events += [PartDelta(index, TextDelta(t)) for t in draw(st.lists(texts, max_size=3))]
            case "thinking":
                events = [PartStart(index, ThinkingPart())]
                events += [PartDelta(index, ThinkingDelta(t)) for t in draw(st.lists(texts, max_size=3))]
                if draw(st.booleans()):
                    protocol = draw(st.sampled_from(PROTOCOLS))
                    events.append(PartDelta(index, SignatureDelta(draw(signatures), protocol)))
            case "call":
                events = [PartStart(index, ToolCallPart(draw(call_ids), draw(names)))]
                whole = orjson.dumps(draw(json_objects)).decode()
                events += [PartDelta(index, ToolArgumentsDelta(f)) for f in _fragments(draw, whole)]
            case "whole_call":
                events = [PartStart(index, ToolCallPart(draw(call_ids), draw(names), draw(json_objects)))]
            case _:
                events = [PartStart(index, MediaPart("image", "image/png", data=PNG))]
        events.append(PartEnd(index))
        pending[index] = events
    out: list[StreamEvent] = [ResponseStart("resp_1", "some-model")]
    opened = 0
    while pending:
        # Either open the next part or advance one already open (interleaving parallel parts).
        candidates = [i for i in pending if i < opened] + ([opened] if opened in pending else [])
        index = draw(st.sampled_from(candidates))
        if index == opened:
            opened += 1
        out.append(pending[index].pop(0))
        if not pending[index]:
            del pending[index]
    if draw(st.integers(0, 9)) == 0:
        cut = draw(st.integers(1, len(out)))
        return [*out[:cut], StreamError(503, "upstream_overloaded", "overloaded")]
    finish = draw(
        st.sampled_from([None, "stop", "length", "tool_use", "content_filter", "refusal", "pause", "error"])
    )
    return [*out, ResponseEnd(finish, draw(usages))]
