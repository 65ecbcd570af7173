"""Property tests: any canonical request encodes to a valid Responses body (or a clear 400), and
any canonical event sequence encodes to a stream the OpenAI SDK accepts."""

from __future__ import annotations

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bytespike.canonical.assembler import Assembler
from bytespike.canonical.degradation import Degradations, StrictModeViolation
from bytespike.canonical.events import PartStart, ResponseEnd, StreamError, StreamEvent
from bytespike.canonical.parts import MediaPart, OpaquePart, Part, TextPart, ThinkingPart, ToolCallPart
from bytespike.canonical.request import Request
from bytespike.errors import GatewayError
from bytespike.protocols.openai_responses import NAME
from bytespike.protocols.openai_responses.requests import check_request, decode_request, encode_request
from bytespike.protocols.openai_responses.responses import encode_finish
from bytespike.protocols.openai_responses.streaming import StreamDecoder, StreamEncoder
from bytespike.protocols.openai_responses.tools import wire_tool_name
from tests.protocols.openai_responses.strategies import event_sequences, requests
from tests.protocols.openai_responses.support import frames, sdk_events, sdk_final_response, validate_request
from tests.protocols.openai_responses.test_stream_encoder import check_lifecycle

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(requests(), st.booleans())
def test_any_request_encodes_to_a_valid_body_or_a_clear_refusal(req: Request, strict: bool) -> None:
    try:
        body = encode_request(req, model="gpt-5-4", deg=Degradations(strict=strict))
    except StrictModeViolation as exc:
        assert strict and exc.field
        return
    except GatewayError as exc:
        assert exc.status == 400 and exc.param
        return
    check_request(body)
    validate_request(body)
    again = decode_request(body)
    # Our own output is a fixed point of decode → encode.
    assert encode_request(again, model="gpt-5-4", deg=Degradations(strict=True)) == body


def _rendered(events: list[StreamEvent]) -> list[int]:
    """Indices of the parts a Responses stream shows as output items, in the order they started."""
    shown: list[int] = []
    for e in events:
        if isinstance(e, PartStart) and e.index not in shown:
            part = e.part
            if isinstance(part, TextPart | ThinkingPart | ToolCallPart | MediaPart) or (
                isinstance(part, OpaquePart) and part.protocol == NAME
            ):
                shown.append(e.index)
    return shown


def _assembled(events: list[StreamEvent]) -> dict[int, Part]:
    """Canonical index → the part the assembler builds from ``events``."""
    assembler = Assembler()
    for e in events:
        assembler.feed(e)
    indices = sorted({e.index for e in events if isinstance(e, PartStart)})
    return dict(zip(indices, assembler.response().parts, strict=True))


@SETTINGS
@given(event_sequences())
def test_any_event_sequence_encodes_to_a_stream_the_sdk_accepts(events: list[StreamEvent]) -> None:
    encoder = StreamEncoder(model="m", request_id="req_prop")
    body = b"".join(encoder.encode(e) for e in events) + encoder.finish()
    wire = check_lifecycle(body)
    raw = sdk_events(body)
    assert len(raw) == len(wire)
    end = events[-1]
    if not isinstance(end, ResponseEnd) or encode_finish(end.finish_reason)[0] != "completed":
        assert wire[-1]["type"] in ("response.incomplete", "response.failed")
        return
    final = sdk_final_response(body)
    expected = _assembled(events)
    order = _rendered(events)
    assert len(final.output) == len(order)
    for item, index in zip(final.output, order, strict=True):
        part = expected[index]
        if isinstance(part, TextPart):
            assert item.content[0].text == part.text
        elif isinstance(part, ThinkingPart):
            assert "".join(s.text for s in item.summary) == part.text
        elif isinstance(part, ToolCallPart):
            assert orjson.loads(item.arguments or "{}") == part.arguments
            assert item.name == wire_tool_name(part.name)


@SETTINGS
@given(event_sequences())
def test_our_decoder_reads_back_what_our_encoder_wrote(events: list[StreamEvent]) -> None:
    encoder = StreamEncoder(model="m", request_id="req_prop")
    body = b"".join(encoder.encode(e) for e in events) + encoder.finish()
    decoder = StreamDecoder()
    back = [e for f in frames(body) for e in decoder.feed(f)] + decoder.finish()
    end = events[-1]
    if not isinstance(end, ResponseEnd) or end.finish_reason == "error":
        assert isinstance(back[-1], StreamError)
        return
    assert back[-1] == ResponseEnd(back[-1].finish_reason, end.usage)  # type: ignore[union-attr]
    by_index, again = _assembled(events), _assembled(back)
    sent = [_summary(by_index[i]) for i in _rendered(events)]
    assert [x for x in sent if x is not None] == [x for p in again.values() if (x := _summary(p)) is not None]


def _summary(part: object) -> tuple[object, ...] | None:
    """What must survive a Responses stream: text, reasoning text + own signature, calls."""
    if isinstance(part, TextPart):
        return ("text", part.text)
    if isinstance(part, ThinkingPart):
        own = part.signature if part.signature_protocol == "openai_responses" else None
        return ("thinking", part.text, own)
    if isinstance(part, ToolCallPart):
        return ("call", wire_tool_name(part.name), part.arguments)
    return None
