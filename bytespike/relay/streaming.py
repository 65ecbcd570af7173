"""Relaying an upstream SSE stream to the caller, frame by frame, and billing how it ended.

Bytes are forwarded as the upstream sends them (one write per upstream read, never buffered
beyond an incomplete frame); a frame processor (`relay/frames.py`) either passes frames through
with a usage tap or translates them. The caller's terminal frame is held back until the usage
record is committed, so a billed 2xx is durable before its last byte (DESIGN.md §3). How each
ending is billed is docs/billing.md:

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
from typing import Any

from bytespike.errors import GatewayError
from bytespike.protocols.codecs import CODECS
from bytespike.protocols.sse import SSESplitter
from bytespike.relay.call import Call
from bytespike.relay.gateway import Gateway
from bytespike.relay.upstream_errors import remap_stream_error
from bytespike.upstreams.client import UpstreamResponse, UpstreamStreamError

log = logging.getLogger("bytespike.relay")

DRAIN_SECONDS = 30.0
"""How long the upstream is read on after the client left, to learn the real usage."""
DRAIN_BYTES = 8 << 20


class RelayStream:
    def __init__(self, gateway: Gateway, call: Call, resp: UpstreamResponse, frames: Any) -> None:
        self._gateway = gateway
        self._call = call
        self._resp = resp
        self._upstream = resp.iter_chunks()
        self._splitter = SSESplitter()
        self._frames = frames
        self._delivered_content = False
        self._done = False
        self._ttft_ms: float | None = None

    def _error_frame(self, err: GatewayError) -> bytes:
        err = remap_stream_error(err)
        encode = getattr(self._frames, "error_frame", None)
        if encode is not None:
            return encode(err)
        return CODECS[self._call.inbound.protocol].encode_stream_error(err)

    # Called by the web layer: ``async for chunk in stream.chunks()`` then ``await stream.finish()``.
    async def chunks(self) -> AsyncIterator[bytes]:
        frames = self._frames
        facts = frames.facts
        held: list[bytes] = []
        try:
            async for chunk in self._upstream:
                out: list[bytes] = []
                for frame in self._splitter.feed(chunk):
                    now, terminal = frames.process(frame)
                    if now:
                        out.append(now)
                    if terminal:
                        held.append(terminal)
                    if facts.error is not None:
                        break
                if facts.error is not None:
                    if out:
                        yield b"".join(out)
                    self._fail()
                    yield self._error_frame(facts.error)
                    return
                if out:
                    if facts.content_started and not self._delivered_content:
                        self._delivered_content = True
                        self._ttft_ms = (time.perf_counter() - self._call.inbound.started) * 1000
                    yield b"".join(out)
        except UpstreamStreamError as exc:
            self._fail()
            status, code = (504, "upstream_timeout") if exc.timeout else (502, "upstream_error")
            yield self._error_frame(GatewayError(status, code, f"upstream: {exc}"))
            return
        now, terminal = frames.at_eof()
        if terminal:
            held.append(terminal)
        if facts.error is None and (not facts.finished or self._splitter.tail.strip()):
            facts.error = GatewayError(
                502, "upstream_error", "upstream: the stream ended before it was complete"
            )
        if facts.error is not None:
            if now:
                yield now
            self._fail()
            yield self._error_frame(facts.error)
            return
        if now:
            held.insert(0, now)
        if facts.content_started and not self._delivered_content:
            self._delivered_content = True
        self._done = True
        try:
            await self._gateway.settle(self._call, facts.usage, rule="completed", ttft_ms=self._ttft_ms)
        except GatewayError as err:
            # The charge could not be recorded (billing state or database down): the stream ends
            # with an error frame instead of its terminal frame, and is not billed.
            self._resp.close()
            yield self._error_frame(err)
            return
        self._resp.release()
        if held:
            yield b"".join(held)

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
        facts = self._frames.facts
        if facts.error is None and facts.has_usage:
            try:
                await self._gateway.settle(
                    self._call, facts.usage, rule="client_disconnected", ttft_ms=self._ttft_ms
                )
            except GatewayError as err:
                log.warning(
                    "stream %s: could not bill after the client left: %s", self._call.inbound.request_id, err
                )
        else:
            log.info(
                "stream %s: client left and the upstream gave no usage; not billed",
                self._call.inbound.request_id,
            )
            self._gateway.release(self._call)

    async def _drain(self) -> None:
        read = 0
        frames = self._frames
        async for chunk in self._upstream:
            read += len(chunk)
            for frame in self._splitter.feed(chunk):
                frames.process(frame)
            if (frames.facts.finished and frames.facts.has_usage) or read > DRAIN_BYTES:
                return
