"""Tap on an Anthropic SSE stream: usage, first content, terminal frame, error frames.

``message_start`` carries input usage; ``message_delta`` carries cumulative totals that
overwrite it when present (protocols.md §1.7) — the same rule the official SDK applies.
"""

from __future__ import annotations

import orjson

from bytespike.errors import GatewayError
from bytespike.protocols.anthropic_messages.usage import decode_usage
from bytespike.protocols.sse import frame_fields
from bytespike.protocols.tap import StreamFacts


class AnthropicStreamTap:
    __slots__ = ("_raw_usage", "facts")

    def __init__(self) -> None:
        self.facts = StreamFacts()
        self._raw_usage: dict = {}

    def feed(self, frame: bytes) -> bool:
        """Record what ``frame`` says; returns True when it is the terminal frame (``message_stop``)."""
        event, data = frame_fields(frame)
        if event == b"content_block_delta" or event == b"content_block_start":
            if not self.facts.content_started and event == b"content_block_delta":
                self.facts.content_started = True
            return False
        if event == b"message_start":
            msg = orjson.loads(data).get("message") or {}
            self._raw_usage = dict(msg.get("usage") or {})
            self.facts.usage = decode_usage(self._raw_usage)
        elif event == b"message_delta":
            u = orjson.loads(data).get("usage") or {}
            self._raw_usage.update({k: v for k, v in u.items() if v is not None})
            self.facts.usage = decode_usage(self._raw_usage)
            self.facts.has_usage = True
        elif event == b"message_stop":
            self.facts.finished = True
            return True
        elif event == b"error":
            try:
                err = orjson.loads(data).get("error") or {}
            except orjson.JSONDecodeError:
                err = {}
            self.facts.error = GatewayError(
                502,
                "upstream_error",
                str(err.get("message") or "upstream error"),
                upstream_type=err.get("type"),
            )
        return False
