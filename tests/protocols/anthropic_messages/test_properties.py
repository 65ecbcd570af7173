"""Property tests: any canonical request encodes to a body Anthropic accepts (or a clear 400),
and any canonical event sequence encodes to a stream the official SDK accumulates."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from typing import Any

import anthropic
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bytespike.canonical.degradation import Degradations, StrictModeViolation
from bytespike.canonical.events import ResponseEnd, StreamError, StreamEvent
from bytespike.canonical.request import Request
from bytespike.errors import GatewayError
from bytespike.protocols.anthropic_messages.requests import check_request, decode_request, encode_request
from tests.protocols.anthropic_messages.sdk import sdk_stream_message
from tests.protocols.anthropic_messages.sse import check_stream, encode_events
from tests.protocols.anthropic_messages.strategies import event_sequences, expected_parts, requests

TOOL_ID = re.compile(r"^[a-zA-Z0-9_-]+$")


def blocks_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    out = [*body.get("system", [])]
    for m in body["messages"]:
        for b in m["content"]:
            out.append(b)
            if b.get("type") == "tool_result":
                out += b.get("content", [])
    return out


def check_anthropic_rules(body: dict[str, Any], version: str) -> None:
    messages = body["messages"]
    roles = [m["role"] for m in messages]
    assert all(a != b for a, b in itertools.pairwise(roles)), roles
    for k, m in enumerate(messages):
        assert m["content"], "no empty turn"
        texts = [b["text"] for b in m["content"] if b.get("type") == "text"]
        assert not texts or any(t.strip() for t in texts), "blank-only text"
        if m["role"] == "user":
            kinds = [b.get("type") == "tool_result" for b in m["content"]]
            assert kinds == sorted(kinds, reverse=True), "tool results first"
        if m["role"] == "system":
            assert k > 0 and roles[k - 1] in ("user", "assistant")
            assert k == len(messages) - 1 or roles[k + 1] == "assistant"
        for b in m["content"]:
            if b.get("type") == "tool_use":
                assert TOOL_ID.fullmatch(b["id"])
            if b.get("type") == "tool_result":
                assert TOOL_ID.fullmatch(b["tool_use_id"])
            if b.get("type") == "thinking":
                assert b["signature"], "only Anthropic-signed thinking"
    for b in blocks_of(body):
        if b.get("type") == "text":
            assert b["text"], "never an empty text block"
    breakpoints = sum("cache_control" in b for b in [*blocks_of(body), *body.get("tools", [])])
    assert breakpoints + ("cache_control" in body) <= 4
    if version >= "2026-10-21":
        assert not {"temperature", "top_p", "top_k"} & set(body)
    thinking = body.get("thinking", {}).get("type")
    if thinking == "enabled":
        assert 1024 <= body["thinking"]["budget_tokens"] < body["max_tokens"]
    if thinking not in (None, "disabled"):
        assert body.get("tool_choice", {}).get("type") not in ("any", "tool")
        assert "top_k" not in body and body.get("temperature", 1) == 1
    if "tool_choice" in body:
        assert body.get("tools")
    if "temperature" in body:
        assert 0 <= body["temperature"] <= 1


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    requests(), st.sampled_from(["2023-06-01", "2026-10-21"]), st.sampled_from([False, False, False, True])
)
def test_any_request_encodes_to_a_valid_body_or_a_clear_400(req: Request, version: str, strict: bool) -> None:
    try:
        body = encode_request(req, model="claude-x", deg=Degradations(strict=strict), version=version)
    except GatewayError as exc:
        assert exc.status == 400 and exc.param
        return
    except StrictModeViolation:
        assert strict
        return
    check_request(body)
    check_anthropic_rules(body, version)
    # What we send is a fixed point: decoding and encoding it again changes and drops nothing.
    deg = Degradations()
    assert encode_request(decode_request(body), model="claude-x", deg=deg, version=version) == body
    assert not deg.dropped


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event_sequences())
def test_any_event_sequence_encodes_to_a_stream_the_sdk_accumulates(events: list[StreamEvent]) -> None:
    sse = encode_events(events)
    check_stream(sse)
    if isinstance(events[-1], StreamError):
        try:
            sdk_stream_message(sse)
        except anthropic.APIStatusError:
            return
        raise AssertionError("the SDK must raise on an error event")
    message = sdk_stream_message(sse)
    expected = expected_parts(events)
    text = "".join(b.text for b in message.content if b.type == "text")  # type: ignore[union-attr]
    thinking = "".join(b.thinking for b in message.content if b.type == "thinking")  # type: ignore[union-attr]
    assert Counter(text) == Counter(expected["text"])
    assert Counter(thinking) == Counter(expected["thinking"])
    calls = [b.input for b in message.content if b.type == "tool_use"]  # type: ignore[union-attr]
    assert sorted(map(repr, calls)) == sorted(map(repr, expected["calls"]))
    end = events[-1]
    assert isinstance(end, ResponseEnd)
    if calls and end.finish_reason in ("stop", None):
        assert message.stop_reason == "tool_use"
