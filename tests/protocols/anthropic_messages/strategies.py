"""Hypothesis strategies: arbitrary canonical requests and stream event sequences, shaped like
what any of the four decoders may hand to the Anthropic encoders."""

from __future__ import annotations

import itertools
import json
from typing import Any

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
A = "anthropic_messages"

texts = st.one_of(st.text(max_size=12), st.sampled_from(["", " ", "\n", "hello", "trailing "]))
cache = st.one_of(st.none(), st.builds(CacheControl, st.sampled_from([None, "5m", "1h"])))
tool_names = st.one_of(*[st.sampled_from(["get_weather", "Bash", "lookup-2"])] * 6, st.text(max_size=6))
tool_ids = st.one_of(st.sampled_from(["toolu_01", "call_x|y", "functions.Bash:0", ""]), st.text(max_size=8))
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=5)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
arguments = st.dictionaries(st.text(max_size=5), json_values, max_size=3)

provider_data = st.one_of(
    st.none(),
    st.builds(
        ProviderData,
        st.sampled_from(PROTOCOLS),
        st.fixed_dictionaries({}, optional={"citations": st.just([])}),
    ),
)

text_parts = st.builds(TextPart, texts, cache, provider_data)
valid_media_parts = st.one_of(
    st.builds(
        MediaPart,
        st.just("image"),
        media_type=st.just("image/png"),
        data=st.just("iVBORw0KGgo="),
        cache_control=cache,
    ),
    st.builds(MediaPart, st.just("image"), url=st.just("https://x.test/a.png")),
    st.builds(
        MediaPart,
        st.just("document"),
        media_type=st.just("application/pdf"),
        data=st.just("JVBERi0xLjQK"),
        title=st.sampled_from([None, "T"]),
    ),
    st.builds(MediaPart, st.just("document"), media_type=st.just("text/plain"), data=st.just("aGVsbG8=")),
)
media_parts = st.one_of(
    *[valid_media_parts] * 20,
    st.builds(
        MediaPart,
        st.sampled_from(["image", "document", "audio", "video"]),
        media_type=st.sampled_from(
            [None, "image/png", "image/heic", "application/pdf", "text/plain", "text/csv"]
        ),
        data=st.sampled_from([None, "iVBORw0KGgo=", "aGVsbG8=", "not base64"]),
        url=st.sampled_from([None, "https://x.test/a", "gs://b/a", "data:image/png;base64,AAAA"]),
        file_id=st.sampled_from([None, "file_011C", "file-abc"]),
        filename=st.sampled_from([None, "a.pdf"]),
        title=st.sampled_from([None, "T"]),
        cache_control=cache,
    ),
)
thinking_parts = st.builds(
    ThinkingPart,
    texts,
    signature=st.sampled_from([None, "", "sig"]),
    signature_protocol=st.sampled_from([None, *PROTOCOLS]),
    redacted=st.booleans(),
)
tool_calls = st.builds(ToolCallPart, tool_ids, tool_names, arguments, provider_data, cache)
tool_results = st.builds(
    ToolResultPart,
    tool_ids,
    st.lists(st.one_of(text_parts, media_parts), max_size=2).map(tuple),
    is_error=st.booleans(),
    cache_control=cache,
)
opaque_parts = st.builds(
    OpaquePart,
    st.sampled_from(PROTOCOLS),
    st.sampled_from(
        [
            {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}},
            {"type": "search_result"},
        ]
    ),
)
output_opaque_parts = st.builds(
    OpaquePart,
    st.sampled_from(PROTOCOLS),
    st.sampled_from(
        [
            {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "q"}},
            {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
        ]
    ),
)
"""Opaque blocks as they occur in answers (an Anthropic one only comes from Anthropic)."""
any_part: st.SearchStrategy[Part] = st.one_of(
    text_parts, media_parts, thinking_parts, tool_calls, tool_results, opaque_parts
)


@st.composite
def messages(draw: st.DrawFn) -> Message:
    role = draw(st.sampled_from(["user", "assistant", "system"]))
    typical = {
        "user": st.one_of(text_parts, tool_results, media_parts),
        "assistant": st.one_of(text_parts, thinking_parts, tool_calls, opaque_parts),
        "system": text_parts,
    }[role]
    parts = draw(st.lists(st.one_of(*[typical] * 6, any_part), max_size=4))
    return Message(role, tuple(parts))


schemas = st.one_of(
    st.none(),
    *[st.just({"type": "object", "properties": {"a": {"type": "string"}}})] * 8,
    st.just({"properties": {}}),
    st.just({"anyOf": [{"type": "object", "properties": {"a": {}}}, {"type": "object"}]}),
    st.just({"type": "array"}),
)
tools = st.builds(
    ToolDefinition,
    tool_names,
    st.one_of(st.none(), texts),
    schemas,
    st.one_of(st.none(), st.booleans()),
    cache,
)


@st.composite
def requests(draw: st.DrawFn) -> Request:
    return Request(
        model="any-model",
        messages=tuple(draw(st.lists(messages(), max_size=8))),
        system=tuple(draw(st.lists(text_parts, max_size=2))),
        tools=tuple(draw(st.lists(tools, max_size=2))),
        tool_choice=draw(
            st.one_of(
                st.none(),
                st.builds(
                    ToolChoice,
                    st.sampled_from(["auto", "none", "required", "tool"]),
                    st.one_of(st.none(), tool_names),
                    st.one_of(st.none(), st.booleans()),
                ),
            )
        ),
        max_tokens=draw(st.one_of(st.none(), st.integers(0, 40000))),
        temperature=draw(st.one_of(st.none(), st.floats(0, 2))),
        top_p=draw(st.one_of(st.none(), st.floats(0, 1))),
        top_k=draw(st.one_of(st.none(), st.integers(0, 100))),
        stop=tuple(draw(st.lists(texts, max_size=3))),
        stream=draw(st.booleans()),
        response_format=draw(
            st.one_of(
                st.none(),
                st.builds(
                    ResponseFormat,
                    st.sampled_from(["text", "json_object", "json_schema"]),
                    st.one_of(st.none(), st.just({"type": "object"})),
                ),
            )
        ),
        reasoning=draw(
            st.one_of(
                st.none(),
                st.builds(
                    Reasoning,
                    st.one_of(st.none(), st.booleans()),
                    st.sampled_from([None, "none", "minimal", "low", "high", "max", "weird"]),
                    st.one_of(st.none(), st.integers(0, 50000)),
                    st.one_of(st.none(), st.booleans()),
                ),
            )
        ),
        user_id=draw(st.sampled_from([None, "u-1", "a@b.co"])),
        cache_control=draw(cache),
        extras=draw(st.sampled_from([{}, {"openai_chat": {"seed": 1}}, {"gemini": {"safetySettings": []}}])),
    )


# -- stream event sequences ---------------------------------------------------------------------


def _fragments(draw: st.DrawFn, text: str) -> list[str]:
    cuts = sorted(draw(st.sets(st.integers(0, len(text)), max_size=4)))
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


@st.composite
def part_scripts(draw: st.DrawFn, index: int) -> list[StreamEvent]:
    """One part's own events in order: start, deltas, maybe its end."""
    kind = draw(st.sampled_from(["text", "thinking", "tool", "tool_complete", "opaque", "media", "redacted"]))
    events: list[StreamEvent] = []
    match kind:
        case "text":
            events.append(PartStart(index, TextPart(draw(st.sampled_from(["", "Hi "])))))
            events += [PartDelta(index, TextDelta(t)) for t in draw(st.lists(texts, max_size=3))]
        case "thinking":
            events.append(PartStart(index, ThinkingPart()))
            events += [PartDelta(index, ThinkingDelta(t)) for t in draw(st.lists(texts, max_size=3))]
            if draw(st.booleans()):
                events.append(PartDelta(index, SignatureDelta("sig", draw(st.sampled_from(PROTOCOLS)))))
        case "tool":
            args = json.dumps(draw(arguments))
            events.append(PartStart(index, ToolCallPart(draw(tool_ids), "f")))
            events += [PartDelta(index, ToolArgumentsDelta(f)) for f in _fragments(draw, args)]
        case "tool_complete":
            events.append(PartStart(index, ToolCallPart(draw(tool_ids), "g", draw(arguments))))
        case "opaque":
            events.append(PartStart(index, draw(output_opaque_parts)))
        case "media":
            events.append(PartStart(index, MediaPart("image", media_type="image/png", data="AAAA")))
        case "redacted":
            events.append(
                PartStart(index, ThinkingPart("", "data", draw(st.sampled_from(PROTOCOLS)), redacted=True))
            )
    if draw(st.booleans()):
        events.append(PartEnd(index))
    return events


@st.composite
def event_sequences(draw: st.DrawFn) -> list[StreamEvent]:
    scripts = [draw(part_scripts(i)) for i in range(draw(st.integers(0, 4)))]
    events: list[StreamEvent] = []
    if draw(st.booleans()):
        events.append(
            ResponseStart("resp_1", "any", draw(st.one_of(st.none(), st.builds(Usage, st.integers(0, 9)))))
        )
    positions = [0] * len(scripts)
    while active := [k for k, s in enumerate(scripts) if positions[k] < len(s)]:
        k = draw(st.sampled_from(active))
        events.append(scripts[k][positions[k]])
        positions[k] += 1
    usage = draw(st.builds(Usage, st.integers(0, 100), st.integers(0, 100)))
    if draw(st.integers(0, 5)) == 0:
        events.append(StreamError(503, "upstream_overloaded", "busy"))
    else:
        finish = draw(
            st.sampled_from(
                [
                    "stop",
                    "length",
                    "tool_use",
                    "stop_sequence",
                    "content_filter",
                    "refusal",
                    "pause",
                    "error",
                    None,
                ]
            )
        )
        events.append(ResponseEnd(finish, usage, draw(st.sampled_from([None, "END"]))))  # type: ignore[arg-type]
    return events


def expected_parts(events: list[StreamEvent]) -> dict[str, Any]:
    """What an Anthropic client must end up with: all text, all thinking, every tool input."""
    texts_: dict[str, list[str]] = {"text": [], "thinking": []}
    calls: list[dict[str, Any]] = []
    starts: dict[int, Part] = {}
    fragments: dict[int, list[str]] = {}
    for e in events:
        if isinstance(e, PartStart):
            starts[e.index] = e.part
            fragments[e.index] = []
            if isinstance(e.part, TextPart):
                texts_["text"].append(e.part.text)
        elif isinstance(e, PartDelta) and e.index in starts:
            d = e.delta
            if isinstance(d, TextDelta):
                texts_["text"].append(d.text)
            elif isinstance(d, ThinkingDelta):
                texts_["thinking"].append(d.text)
            elif isinstance(d, ToolArgumentsDelta):
                fragments[e.index].append(d.json_fragment)
    for i, part in starts.items():
        if isinstance(part, ToolCallPart):
            raw = "".join(fragments[i])
            calls.append({**part.arguments, **(json.loads(raw) if raw else {})})
    return {"text": "".join(texts_["text"]), "thinking": "".join(texts_["thinking"]), "calls": calls}
