"""Tap on a Gemini SSE stream: usageMetadata (last one wins), first content, error frames.

Gemini has no terminator frame; the chunk carrying ``finishReason`` is the last one (§4.4).
"""

from __future__ import annotations

import orjson

from bytespike.errors import GatewayError
from bytespike.protocols.gemini.usage import decode_usage
from bytespike.protocols.sse import frame_fields
from bytespike.protocols.tap import StreamFacts


class GeminiStreamTap:
    __slots__ = ("facts",)

    def __init__(self) -> None:
        self.facts = StreamFacts()

    def feed(self, frame: bytes) -> bool:
        """Returns True for the chunk that carries ``finishReason``."""
        _, data = frame_fields(frame)
        if not data:
            return False
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError:
            return False
        if not isinstance(chunk, dict):
            return False
        if isinstance(chunk.get("error"), dict):
            err = chunk["error"]
            self.facts.error = GatewayError(
                502,
                "upstream_error",
                str(err.get("message") or "upstream error"),
                upstream_type=err.get("status"),
            )
            return False
        um = chunk.get("usageMetadata")
        if um:
            self.facts.usage = decode_usage(um)
            self.facts.has_usage = True
        terminal = False
        for cand in chunk.get("candidates") or ():
            if not self.facts.content_started and (cand.get("content") or {}).get("parts"):
                self.facts.content_started = True
            if cand.get("finishReason"):
                terminal = True
        if terminal:
            self.facts.finished = True
        return terminal
