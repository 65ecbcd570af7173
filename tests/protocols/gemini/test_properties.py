"""Property tests: any canonical request encodes to a valid Gemini request or a clear 400, and any
valid canonical event sequence encodes to a stream the SDK and our own decoder accept."""

from __future__ import annotations

from dataclasses import replace

import orjson
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bytespike.canonical.assembler import Assembler
from bytespike.canonical.degradation import Degradations, StrictModeViolation
from bytespike.canonical.events import StreamError, StreamEvent
from bytespike.canonical.parts import TextPart, ThinkingPart, ToolCallPart
from bytespike.canonical.request import Request
from bytespike.errors import GatewayError
from bytespike.protocols.gemini.requests import check_request, decode_request, encode_request
from bytespike.protocols.gemini.streaming import StreamDecoder, StreamEncoder
from bytespike.protocols.sse import SSESplitter
from tests.protocols.gemini.strategies import event_sequences, requests
from tests.protocols.gemini.validity import assert_valid_request, assert_valid_response

PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(req=requests, strict=st.booleans())
def test_any_request_encodes_to_a_valid_gemini_request_or_a_clear_400(req: Request, strict: bool) -> None:
    deg = Degradations(strict=strict)
    try:
        body = encode_request(req, model="gemini-3-pro-preview", deg=deg)
    except StrictModeViolation:
        assert strict
        event("strict-mode 400")
        return
    except GatewayError as exc:
        assert exc.status == 400 and exc.param
        event(f"400 {exc.param.split('.')[0].split('[')[0]}")
        return
    event("encoded")
    orjson.dumps(body)  # serializable
    check_request(body)
    assert_valid_request(body)
    again = decode_request(body)
    # What we send is a fixed point: Gemini's own request comes back unchanged.
    assert encode_request(again, model="gemini-3-pro-preview", deg=Degradations(strict=True)) == body
    # Every model turn with function calls carries a signature: Gemini's or the sentinel (§4.7).
    for content in body["contents"]:
        if content["role"] == "model" and any("functionCall" in p for p in content["parts"]):
            assert any("thoughtSignature" in p for p in content["parts"])


@PROPERTY_SETTINGS
@given(events=event_sequences())
def test_any_event_sequence_encodes_to_a_stream_the_sdk_and_our_decoder_accept(
    events: list[StreamEvent],
) -> None:
    encoder = StreamEncoder(model="m", request_id="req_1")
    stream = b"".join(encoder.encode(e) for e in events) + encoder.finish()
    frames = SSESplitter().feed(stream)
    errored = isinstance(events[-1], StreamError)
    for k, frame in enumerate(frames):
        payload = orjson.loads(frame[6:])
        if errored and k == len(frames) - 1:
            assert frame.startswith(b'data: {"error":')
            continue
        parsed = assert_valid_response(payload)
        assert parsed.response_id == "req_1"
        assert parsed.candidates and parsed.candidates[0].content and parsed.candidates[0].content.parts
    if errored:
        return
    assert "finishReason" in orjson.loads(frames[-1][6:])["candidates"][0]
    decoder = StreamDecoder()
    back_events = [e for f in frames for e in decoder.feed(f)] + decoder.finish()
    assert not any(isinstance(e, StreamError) for e in back_events)
    original, back = Assembler(), Assembler()
    for e in events:
        original.feed(e)
    for e in back_events:
        back.feed(e)
    sent, received = original.response(), back.response()

    def text(parts: tuple, kind: type) -> str:
        return "".join(p.text for p in parts if isinstance(p, kind))

    assert text(received.parts, TextPart) == text(sent.parts, TextPart)
    assert text(received.parts, ThinkingPart) == text(sent.parts, ThinkingPart)
    calls = sorted((p.name, orjson.dumps(p.arguments)) for p in sent.parts if isinstance(p, ToolCallPart))
    assert (
        sorted((p.name, orjson.dumps(p.arguments)) for p in received.parts if isinstance(p, ToolCallPart))
        == calls
    )
    # Gemini has no cache-write count: those tokens stay inside promptTokenCount.
    assert received.usage == replace(sent.usage, cache_write_tokens=0)
