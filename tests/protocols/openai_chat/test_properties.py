"""Property tests: any canonical request encodes to a valid body (or a clean 400), any canonical
event sequence encodes to a stream the official SDK accumulates."""

from __future__ import annotations

from typing import Any

import openai
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bytespike.canonical.degradation import Degradations, StrictModeViolation
from bytespike.canonical.request import Request
from bytespike.errors import GatewayError
from bytespike.protocols.openai_chat.identifiers import TOOL_CALL_ID, TOOL_NAME
from bytespike.protocols.openai_chat.requests import check_request, decode_request, encode_request
from tests.protocols.openai_chat import sdk_oracle, strategies
from tests.protocols.openai_chat.test_streaming import assemble, decode_sse, encode_all

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check_body(body: dict[str, Any], flavor: str) -> None:
    orjson.dumps(body)
    check_request(body)
    decode_request(body)
    for tool in body.get("tools", []):
        assert TOOL_NAME.fullmatch(tool["function"]["name"])
    call_ids: set[str] = set()
    for message in body["messages"]:
        for call in message.get("tool_calls", []):
            assert TOOL_CALL_ID.fullmatch(call["id"])
            assert TOOL_NAME.fullmatch(call.get("function", call.get("custom", {}))["name"])
            call_ids.add(call["id"])
        if message["role"] == "tool":
            assert TOOL_CALL_ID.fullmatch(message["tool_call_id"])
        if flavor == "deepseek":
            assert message["role"] in ("system", "user", "assistant", "tool")
            assert message["content"] is None or isinstance(message["content"], str)
    if flavor == "deepseek":
        assert "max_completion_tokens" not in body and "parallel_tool_calls" not in body
    assert len(body.get("stop", [])) <= (4 if flavor == "openai" else 16)


@SETTINGS
@given(req=strategies.requests, flavor=st.sampled_from(["openai", "deepseek"]), strict=st.booleans())
def test_any_request_encodes_to_a_valid_body_or_a_clean_400(req: Request, flavor: str, strict: bool) -> None:
    deg = Degradations(strict=strict)
    try:
        body = encode_request(req, model="target", deg=deg, flavor=flavor)  # type: ignore[arg-type]
    except GatewayError as err:
        assert err.status == 400 and err.param
        return
    except StrictModeViolation:
        assert strict
        return
    _check_body(body, flavor)
    if strict:
        assert deg.dropped == []


@SETTINGS
@given(req=strategies.requests)
def test_tool_ids_stay_paired_between_calls_and_results(req: Request) -> None:
    """A result answering a call in the canonical history answers the same call on the wire."""
    from bytespike.canonical.parts import ToolCallPart, ToolResultPart

    try:
        body = encode_request(req, model="target", deg=Degradations())
    except GatewayError:
        return
    canonical_pairs = {
        p.tool_call_id
        for m in req.messages
        for p in m.parts
        if isinstance(p, ToolResultPart)
        and any(
            isinstance(c, ToolCallPart) and c.id == p.tool_call_id for mm in req.messages for c in mm.parts
        )
    }
    wire_calls = {c["id"] for m in body["messages"] for c in m.get("tool_calls", [])}
    wire_results = [m["tool_call_id"] for m in body["messages"] if m["role"] == "tool"]
    assert sum(r in wire_calls for r in wire_results) >= len(canonical_pairs)


@SETTINGS
@given(plan=strategies.event_sequences(), include_usage=st.booleans())
def test_any_event_sequence_encodes_to_a_stream_the_sdk_accumulates(plan: Any, include_usage: bool) -> None:
    events, expected = plan
    sse = encode_all(events, include_usage=include_usage)
    if expected.get("error"):
        with pytest.raises(openai.APIError):
            sdk_oracle.stream(sse)
        assert b"[DONE]" not in sse
        return
    chunks, completion = sdk_oracle.stream(sse)
    message = completion.choices[0].message
    assert (message.content or "") == expected["text"]
    assert (message.refusal or "") == expected["refusal"]
    assert (message.model_extra or {}).get("reasoning_content", "") == expected["thinking"]
    calls = [(c.id, c.function.name, orjson.loads(c.function.arguments)) for c in message.tool_calls or []]
    assert calls == expected["calls"]
    assert (completion.usage is not None) == include_usage
    assert all(c.id == chunks[0].id for c in chunks)
    # ... and our own decoder reads it back to the same parts.
    resp = assemble(decode_sse(sse))
    assert [(p.id, p.name, p.arguments) for p in resp.parts if hasattr(p, "arguments")] == expected["calls"]
