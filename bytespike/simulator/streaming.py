"""Sending a simulated stream: SSE framing, chunk pacing and mid-stream faults.

Each vendor module turns a reply plan into a `StreamEncoder` (an ordered list of frames plus the
vendor's in-band error frame). `send_stream` writes one frame per ASGI ``send`` so a client can
measure inter-chunk gaps, waits ``chunk_delay`` before every content frame but the first, and
applies the ``drop_after`` / ``midstream_error`` directives by counting content frames.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import NamedTuple, Protocol

import orjson

from bytespike.simulator.asgi import Headers, Send, SimulatedDrop

HEAD = 0
"""A frame that carries no generated content (starts, stops, pings, usage)."""
CONTENT = 1
"""A frame that carries a delta of thinking, text or tool arguments; faults count these."""
FINAL = 2
"""The frame that carries the finish reason; a pending fault fires before it at the latest."""


class Frame(NamedTuple):
    data: bytes
    kind: int
    """Bit set of `CONTENT` and `FINAL` (`HEAD` is none)."""


class StreamEncoder(Protocol):
    """One vendor's rendering of one streamed reply."""

    content_type: bytes
    headers: Headers
    """Extra response headers (the vendor's request id)."""

    def frames(self) -> Iterator[Frame]:
        """All frames of a successful stream, in order (generated lazily)."""
        ...

    def error_frames(self, message: str) -> list[bytes]:
        """The vendor's in-band error, sent instead of the rest of the stream."""
        ...


def sse_event(event: str, payload: object) -> bytes:
    """A named SSE event (Anthropic, OpenAI Responses)."""
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


def sse_data(payload: object, separator: bytes = b"\n\n") -> bytes:
    """A data-only SSE event (OpenAI Chat, Gemini)."""
    return b"data: " + orjson.dumps(payload) + separator


async def send_stream(
    send: Send,
    encoder: StreamEncoder,
    chunk_delay_ms: float,
    fault_after: int | None = None,
    is_drop: bool = False,
) -> None:
    """Stream ``encoder``'s frames; after ``fault_after`` content frames, drop or send an error.

    A pending fault fires before the frame carrying the finish reason at the latest, so a faulted
    stream never completes normally even when it asks for more content frames than the reply has.
    """
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", encoder.content_type),
                (b"cache-control", b"no-cache"),
                *encoder.headers,
            ],
        }
    )
    delay_s = chunk_delay_ms / 1000
    content_sent = 0
    for frame in encoder.frames():
        if fault_after is not None and (
            frame.kind & FINAL or (frame.kind & CONTENT and content_sent >= fault_after)
        ):
            await _fault(send, encoder, is_drop)
            return
        if frame.kind & CONTENT:
            if delay_s and content_sent:
                await asyncio.sleep(delay_s)
            content_sent += 1
        await send({"type": "http.response.body", "body": frame.data, "more_body": True})
    if fault_after is not None:
        await _fault(send, encoder, is_drop)
        return
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _fault(send: Send, encoder: StreamEncoder, is_drop: bool) -> None:
    if is_drop:
        raise SimulatedDrop("simulated connection drop mid-stream")
    for data in encoder.error_frames("Simulated mid-stream failure"):
        await send({"type": "http.response.body", "body": data, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})
