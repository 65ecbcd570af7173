"""Relaying an upstream SSE stream to the caller, frame by frame, and billing how it ended.

Bytes are forwarded as the upstream sends them (one write per upstream read, never buffered
beyond an incomplete frame). A tap per protocol reads only what billing needs. The protocol's
terminal frame is held back until the usage record is committed, so a billed 2xx is durable
before its last byte (DESIGN.md §3). How each ending is billed is docs/billing.md:

- ``completed``: usage from the stream, billed.
- upstream error frame, drop, stall or truncation: free; the caller gets its protocol's error frame.
- client gone before any content: free.
- client gone after content: the upstream is read on (bounded) to learn the real usage, billed
  as ``client_disconnected``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

from bytespike.errors import GatewayError
from bytespike.protocols import anthropic_messages, gemini, openai_chat
from bytespike.protocols.anthropic_messages.streaming import AnthropicStreamTap
from bytespike.protocols.codecs import CODECS
from bytespike.protocols.gemini.streaming import GeminiStreamTap
from bytespike.protocols.openai_chat.streaming import DROP, TERMINAL, OpenAIChatStreamTap
from bytespike.protocols.sse import SSESplitter
from bytespike.relay.gateway import Call, Gateway
from bytespike.relay.upstream_errors import remap_stream_error
from bytespike.upstreams.client import UpstreamResponse, UpstreamStreamError

log = logging.getLogger("bytespike.relay")

DRAIN_SECONDS = 30.0
"""How long the upstream is read on after the client left, to learn the real usage."""
DRAIN_BYTES = 8 << 20


class RelayStream:
    def __init__(self, gateway: Gateway, call: Call, resp: UpstreamResponse) -> None:
        self._gateway = gateway
        self._call = call
        self._resp = resp
        self._upstream = resp.iter_chunks()
        self._splitter = SSESplitter()
        protocol = call.upstream_protocol
        if protocol == anthropic_messages.NAME:
            self._tap = AnthropicStreamTap()
        elif protocol == openai_chat.NAME:
            self._tap = OpenAIChatStreamTap(forward_usage=call.forward_usage)
        else:
            assert protocol == gemini.NAME
            self._tap = GeminiStreamTap()
        upstream_model = call.model.upstream_model
        self._model_from = f'"model":"{upstream_model}"'.encode()
        self._model_to = f'"model":"{call.model.slug}"'.encode()
        self._rewrite_model = upstream_model != call.model.slug and protocol != gemini.NAME
        self._delivered_content = False
        self._done = False
        self._ttft_ms: float | None = None

    # Called by the web layer: ``async for chunk in stream.chunks()`` then ``await stream.finish()``.
    async def chunks(self) -> AsyncIterator[bytes]:
        codec = CODECS[self._call.inbound.protocol]
        tap = self._tap
        facts = tap.facts
        held: list[bytes] = []
        try:
            async for chunk in self._upstream:
                out: list[bytes] = []
                for frame in self._splitter.feed(chunk):
                    action = tap.feed(frame)
                    if facts.error is not None:
                        break
                    if action is True or action == TERMINAL:
                        held.append(frame)
                        continue
                    if action == DROP:
                        continue
                    if self._rewrite_model:
                        frame = frame.replace(self._model_from, self._model_to)
                    out.append(frame)
                if facts.error is not None:
                    if out:
                        yield b"".join(out)
                    self._fail()
                    yield codec.encode_stream_error(remap_stream_error(facts.error))
                    return
                if out:
                    if facts.content_started and not self._delivered_content:
                        self._delivered_content = True
                        self._ttft_ms = (time.perf_counter() - self._call.inbound.started) * 1000
                    yield b"".join(out)
        except UpstreamStreamError as exc:
            self._fail()
            status, code = (504, "upstream_timeout") if exc.timeout else (502, "upstream_error")
            yield codec.encode_stream_error(GatewayError(status, code, f"upstream: {exc}"))
            return
        if not facts.finished or self._splitter.tail.strip():
            self._fail()
            yield codec.encode_stream_error(
                GatewayError(502, "upstream_error", "upstream: the stream ended before it was complete")
            )
            return
        if facts.content_started and not self._delivered_content:
            self._delivered_content = True
        self._done = True
        await self._gateway.settle(self._call, facts.usage, rule="completed", ttft_ms=self._ttft_ms)
        self._resp.release()
        if held:
            frames = b"".join(held)
            if self._rewrite_model:
                frames = frames.replace(self._model_from, self._model_to)
            yield frames

    def _fail(self) -> None:
        """Free: release the hold and drop the upstream connection."""
        self._done = True
        self._gateway.release(self._call)
        self._resp.close()

    async def finish(self, *, client_gone: bool) -> None:
        """Bill or release whatever the stream's ending demands; idempotent."""
        if self._done:
            return
        self._done = True
        if not client_gone or not self._delivered_content:
            # Gone before the first content token (or stopped by us): free.
            self._gateway.release(self._call)
            self._resp.close()
            return
        try:
            await asyncio.wait_for(self._drain(), DRAIN_SECONDS)
        except (TimeoutError, UpstreamStreamError):
            pass
        finally:
            self._resp.close()
        facts = self._tap.facts
        if facts.error is None and facts.has_usage:
            await self._gateway.settle(
                self._call, facts.usage, rule="client_disconnected", ttft_ms=self._ttft_ms
            )
        else:
            log.info(
                "stream %s: client left and the upstream gave no usage; not billed",
                self._call.inbound.request_id,
            )
            self._gateway.release(self._call)

    async def _drain(self) -> None:
        read = 0
        async for chunk in self._upstream:
            read += len(chunk)
            for frame in self._splitter.feed(chunk):
                self._tap.feed(frame)
            if (self._tap.facts.finished and self._tap.facts.has_usage) or read > DRAIN_BYTES:
                return
