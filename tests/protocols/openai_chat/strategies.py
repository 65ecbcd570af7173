"""Hypothesis strategies: canonical requests and stream-event sequences as any decoder may make them.

Requests mix every part kind in every role (so invalid placements reach the encoder's 400 paths),
names and ids OpenAI would reject, foreign signatures and provider data, cache breakpoints and
every generation knob. Event sequences follow the canonical stream contract (protocols.md §5.13):
parts start in index order, deltas of open parts interleave freely, a tool call may start
complete (Gemini), usage is known only at `ResponseEnd`, and a `StreamError` may cut it short.
"""

from __future__ import annotations

import base64
import itertools
from typing import Any

import orjson
from hypothesis import strategies as st

from bytespike.canonical.events import (
    PartDelta,
    PartEnd,
    PartStart,
    ResponseEnd,
    ResponseStart,
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

PROTOCOLS = ("openai_chat", "anthropic_messages", "gemini", "openai_responses")
FINISH_REASONS = (
    "stop",
    "length",
    "tool_use",
    "stop_sequence",
    "content_filter",
    "refusal",
    "pause",
    "error",
)

text = st.text(max_size=12)
tool_names = st.one_of(
    st.from_regex(r"[a-zA-Z0-9_-]{1,12}", fullmatch=True),
    st.sampled_from(["mcp.fs/read", "ns:tool", "a" * 100, "", "émoji🙂"]),
)
call_ids = st.one_of(
    st.sampled_from(
        ["call_1", "toolu_01A09q90qw90lq917835lq9", "c" * 60, "id with spaces", "x__thought__c2ln+/="]
    ),
    st.text(min_size=1, max_size=8),
)
cache_controls = st.none() | st.builds(CacheControl, st.sampled_from([None, "5m", "1h"]))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
arguments = st.dictionaries(st.text(max_size=6), json_values, max_size=3)
foreign_data = st.builds(
    ProviderData,
    st.sampled_from(PROTOCOLS[1:]),
    st.dictionaries(st.text(max_size=4), json_values, max_size=2),
)
base64_data = st.binary(max_size=12).map(lambda b: base64.b64encode(b).decode())

text_provider_data = (
    st.none()
    | foreign_data
    | st.sampled_from(
        [
            ProviderData("openai_chat", {"refusal": "part"}),
            ProviderData("openai_chat", {"refusal": "field"}),
            ProviderData("openai_chat", {"wire": {"prompt_cache_breakpoint": {"mode": "explicit"}}}),
        ]
    )
)
call_provider_data = (
    st.none()
    | foreign_data
    | st.sampled_from(
        [
            ProviderData("openai_chat", {"arguments": '{"a": 1}'}),
            ProviderData("openai_chat", {"type": "custom"}),
            ProviderData(
                "openai_chat", {"extra": {"extra_content": {"google": {"thought_signature": "c2ln"}}}}
            ),
        ]
    )
)

text_parts = st.builds(TextPart, text, cache_controls, text_provider_data)
media_parts = st.builds(
    MediaPart,
    st.sampled_from(["image", "document", "audio", "video"]),
    st.sampled_from(
        [None, "image/png", "application/pdf", "text/plain", "audio/wav", "audio/mpeg", "video/mp4"]
    ),
    st.none() | base64_data,
    st.none() | st.sampled_from(["https://example.com/a.png", "gs://bucket/x"]),
    st.none() | st.sampled_from(["file-abc123", "file_011CNha8", "files/xyz"]),
    st.none() | st.sampled_from(["a.pdf", "notes.txt"]),
    st.none() | text,
    cache_controls,
)
thinking_parts = st.builds(
    ThinkingPart,
    text,
    st.none() | st.text(min_size=1, max_size=8),
    st.none() | st.sampled_from(PROTOCOLS),
    st.booleans(),
    st.none() | foreign_data | st.just(ProviderData("openai_chat", {"field": "reasoning_content"})),
)
custom_calls = st.builds(
    ToolCallPart,
    call_ids,
    tool_names,
    st.builds(lambda s: {"input": s}, text),
    st.just(ProviderData("openai_chat", {"type": "custom"})),
)
tool_call_parts = (
    st.builds(ToolCallPart, call_ids, tool_names, arguments, call_provider_data, cache_controls)
    | custom_calls
)
tool_result_parts = st.builds(
    ToolResultPart,
    call_ids,
    st.lists(text_parts | media_parts, max_size=3).map(tuple),
    st.booleans(),
    st.none() | tool_names,
    cache_controls,
)
opaque_parts = st.builds(
    OpaquePart,
    st.sampled_from(PROTOCOLS),
    st.fixed_dictionaries({"type": st.sampled_from(["server_tool_use", "future_part"])}),
)
any_part = text_parts | media_parts | thinking_parts | tool_call_parts | tool_result_parts | opaque_parts


@st.composite
def messages(draw: st.DrawFn) -> Message:
    role = draw(st.sampled_from(["user", "assistant", "system"]))
    likely = {
        "user": text_parts | media_parts | tool_result_parts,
        "assistant": text_parts | thinking_parts | tool_call_parts,
        "system": text_parts,
    }[role]
    parts = draw(st.lists(st.one_of(likely, likely, likely, any_part), max_size=4))
    return Message(role, tuple(parts))


tool_definitions = st.builds(
    ToolDefinition,
    tool_names,
    st.none() | text,
    st.none() | st.just({"type": "object", "properties": {"x": {"type": "string"}}}),
    st.none() | st.booleans(),
    cache_controls,
)
tool_choices = st.builds(
    ToolChoice,
    st.sampled_from(["auto", "none", "required", "tool"]),
    st.none() | tool_names,
    st.none() | st.booleans(),
)
reasonings = st.builds(
    Reasoning,
    st.none() | st.booleans(),
    st.none() | st.sampled_from(["minimal", "low", "medium", "high", "xhigh", "max"]),
    st.none() | st.integers(0, 64000),
    st.none() | st.booleans(),
)
response_formats = st.builds(
    ResponseFormat,
    st.sampled_from(["text", "json_object", "json_schema"]),
    st.none() | st.just({"type": "object"}),
    st.none() | text,
    st.none() | st.booleans(),
)
extras = st.just({}) | st.fixed_dictionaries(
    {
        "anthropic_messages": st.just({"anthropic_version": "2023-06-01"}),
        "gemini": st.just({"safetySettings": []}),
    }
)


requests = st.builds(
    Request,
    model=st.just("claude-opus-4-8"),
    messages=st.lists(messages(), max_size=6).map(tuple),
    system=st.lists(text_parts, max_size=2).map(tuple),
    tools=st.lists(tool_definitions, max_size=3).map(tuple),
    tool_choice=st.none() | tool_choices,
    max_tokens=st.none() | st.integers(1, 100000),
    temperature=st.none() | st.floats(0, 2),
    top_p=st.none() | st.floats(0, 1),
    top_k=st.none() | st.integers(1, 100),
    stop=st.lists(st.text(min_size=1, max_size=4), max_size=6).map(tuple),
    stream=st.booleans(),
    response_format=st.none() | response_formats,
    reasoning=st.none() | reasonings,
    user_id=st.none() | st.text(max_size=80),
    cache_control=cache_controls,
    extras=extras,
)


def _fragments(draw: st.DrawFn, whole: str) -> list[str]:
    cuts = sorted(draw(st.lists(st.integers(0, len(whole)), max_size=4)))
    bounds = [0, *cuts, len(whole)]
    return [whole[a:b] for a, b in itertools.pairwise(bounds)]


@st.composite
def event_sequences(draw: st.DrawFn) -> tuple[list[StreamEvent], dict[str, Any]]:
    """(events, what a client should end up with: text, reasoning, refusal, tool calls)."""
    kinds = draw(
        st.lists(
            st.sampled_from(["text", "thinking", "refusal", "tool", "tool_complete", "media"]), max_size=5
        )
    )
    plans: list[list[StreamEvent]] = []
    expected: dict[str, Any] = {"text": "", "thinking": "", "refusal": "", "calls": []}
    for index, kind in enumerate(kinds):
        if kind in ("text", "thinking", "refusal"):
            pieces = draw(st.lists(st.text(max_size=5), max_size=3))
            if kind == "thinking":
                start: Any = ThinkingPart()
                deltas = [ThinkingDelta(p) for p in pieces]
            else:
                pd = ProviderData("openai_chat", {"refusal": "field"}) if kind == "refusal" else None
                start = TextPart("", provider_data=pd)
                deltas = [TextDelta(p) for p in pieces]
            expected[kind] += "".join(pieces)
            plans.append([PartStart(index, start), *(PartDelta(index, d) for d in deltas), PartEnd(index)])
        elif kind == "media":
            plans.append(
                [PartStart(index, MediaPart("image", url="https://example.com/i.png")), PartEnd(index)]
            )
        else:
            args = draw(arguments)
            call_id, name = f"call_{index}", draw(tool_names)
            expected["calls"].append((call_id, name, args))
            if kind == "tool_complete":
                plans.append([PartStart(index, ToolCallPart(call_id, name, args)), PartEnd(index)])
            else:
                whole = orjson.dumps(args).decode()
                fragments = [PartDelta(index, ToolArgumentsDelta(f)) for f in _fragments(draw, whole)]
                plans.append([PartStart(index, ToolCallPart(call_id, name)), *fragments, PartEnd(index)])
    events: list[StreamEvent] = [ResponseStart("msg_prop", "any-model")]
    started = 0
    cursors = [0] * len(plans)
    while any(c < len(p) for c, p in zip(cursors, plans, strict=True)):
        ready = [i for i in range(started) if cursors[i] < len(plans[i])]
        if started < len(plans):
            ready.append(started)
        i = draw(st.sampled_from(ready))
        started = max(started, i + 1)
        events.append(plans[i][cursors[i]])
        cursors[i] += 1
    usage = Usage(draw(st.integers(0, 10**6)), draw(st.integers(0, 10**5)), reasoning_tokens=0)
    events.append(ResponseEnd(draw(st.none() | st.sampled_from(FINISH_REASONS)), usage))
    if draw(st.booleans()) and len(events) > 1:
        cut = draw(st.integers(1, len(events) - 1))
        events = [*events[:cut], StreamError(503, "upstream_overloaded", "upstream: overloaded")]
        expected["error"] = True
    return events, expected
