"""A caller's stream mode that the model's vendor does not serve (catalogue ``upstream_stream``).

- **Streaming caller, upstream that cannot stream** (``never``): the upstream is called without
  streaming, its answer decoded to the canonical `Response`, turned into the event sequence a
  stream of it would have produced (`events_of`) and encoded by the caller's own stream encoder.
  The whole answer is known before the first byte, so it is billed (and, for a Responses
  caller, stored) first and then sent as one well-formed stream.
- **Non-streaming caller, upstream that only streams** (``only``): the upstream stream is decoded
  frame by frame and folded by the one `Assembler`; the assembled `Response` is encoded as the
  caller's whole answer. An error the upstream sends in the stream, a drop or a stall become
  the caller's error reply (nothing reached the caller yet), unbilled.

Both directions also serve callers whose protocol the upstream speaks: the request is then
forwarded with only its stream flag changed (`set_stream_mode`), and the answer still goes
through the canonical model, with that protocol's codecs on both sides.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import orjson

from bytespike.canonical.assembler import Assembler, AssemblyError, events_of
from bytespike.canonical.events import StreamError, StreamEvent
from bytespike.canonical.response import Response
from bytespike.errors import GatewayError
from bytespike.protocols import gemini, openai_responses
from bytespike.protocols.sse import SSESplitter
from bytespike.relay.outcome import Reply, StreamReply
from bytespike.relay.translation import AnswerCodecs, answer_codecs, caller_options
from bytespike.relay.upstream_errors import answer_error_from_stream
from bytespike.upstreams.client import UpstreamResponse, UpstreamStreamError

if TYPE_CHECKING:
    from bytespike.relay.call import Call
    from bytespike.relay.gateway import Gateway


def set_stream_mode(body: dict[str, Any], protocol: str, *, stream: bool) -> None:
    """Switch a same-protocol body to the other stream mode (Gemini's is in the URL)."""
    if protocol == gemini.NAME:
        return
    body["stream"] = stream
    if not stream:
        body.pop("stream_options", None)  # OpenAI refuses stream_options without stream


def _codecs(call: Call) -> AnswerCodecs:
    if call.translation is not None:
        return answer_codecs(call.translation)
    protocol = call.upstream_protocol
    echo = call.inbound.body if protocol == openai_responses.NAME else None
    return AnswerCodecs(protocol, protocol, {}, caller_options(protocol, call.body, echo))


async def bridge_stream_modes(gateway: Gateway, call: Call) -> Reply | StreamReply:
    """Answer ``call`` whose upstream is called in the other stream mode than its caller's."""
    if call.inbound.stream:
        return await _synthesized_stream(gateway, call)
    return await _assembled_reply(gateway, call)


class WholeStream:
    """A stream whose every frame is known (and billed) before the first is sent."""

    def __init__(self, frames: bytes) -> None:
        self._frames = frames

    async def chunks(self) -> AsyncIterator[bytes]:
        yield self._frames

    async def finish(self, *, client_gone: bool) -> None:
        """Nothing to settle: the answer was billed before the stream started."""


async def _synthesized_stream(gateway: Gateway, call: Call) -> StreamReply:
    codecs = _codecs(call)
    whole = await gateway.read_whole(call)
    response = codecs.decode_response(whole)
    encoder = codecs.stream_encoder(slug=call.model.slug, request_id=call.inbound.request_id)
    frames = b"".join(encoder.encode(event) for event in events_of(response)) + encoder.finish()
    if call.chain is not None:
        call.chain.recorder.observe_stream(frames)
    if call.audio_ids is not None:
        call.audio_ids.observe_stream(frames)
    await gateway.settle(call, response.usage, rule="completed", ttft_ms=None)
    return StreamReply(200, gateway.reply_headers(call, stream=True), WholeStream(frames))


async def _assembled_reply(gateway: Gateway, call: Call) -> Reply:
    codecs = _codecs(call)
    resp = await gateway.open_stream(call)
    try:
        response = await _assemble(codecs, resp)
    except BaseException:
        resp.close()
        raise
    resp.release()
    out = codecs.encode_response(response, slug=call.model.slug, request_id=call.inbound.request_id)
    if call.chain is not None:
        call.chain.recorder.observe_body(out)
    if call.audio_ids is not None:
        call.audio_ids.observe_body(out)
    body = orjson.dumps(out)  # before settling: nothing after it may fail (Gateway.reply_headers)
    await gateway.settle(call, response.usage, rule="completed", ttft_ms=None)
    return Reply(200, body, gateway.reply_headers(call, stream=False))


async def _assemble(codecs: AnswerCodecs, resp: UpstreamResponse) -> Response:
    """The whole upstream stream folded into one response; its failures as `GatewayError`s."""
    decoder = codecs.stream_decoder()
    assembler = Assembler()
    splitter = SSESplitter()

    def fold(events: list[StreamEvent]) -> None:
        for event in events:
            if isinstance(event, StreamError):
                raise answer_error_from_stream(GatewayError(event.status, event.code, event.message))
            assembler.feed(event)

    try:
        async for chunk in resp.iter_chunks():
            for frame in splitter.feed(chunk):
                fold(decoder.feed(frame))
        fold(decoder.finish())
        if not assembler.finished or splitter.tail.strip():
            raise GatewayError(502, "upstream_error", "upstream: the stream ended before it was complete")
        return assembler.response()
    except UpstreamStreamError as exc:
        status, code = (504, "upstream_timeout") if exc.timeout else (502, "upstream_error")
        raise GatewayError(status, code, f"upstream: {exc}") from exc
    except AssemblyError as exc:
        raise GatewayError(502, "upstream_error", f"upstream: the stream was malformed: {exc}") from exc
