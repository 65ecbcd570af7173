"""Tap on an OpenAI Chat SSE stream: usage chunk, first content, ``[DONE]``, error frames.

The gateway always asks the upstream for ``stream_options.include_usage`` so billing knows the
usage; when the caller did not ask for it, the usage-only chunk (``choices: []``) is dropped
before it reaches the caller (clients doing ``chunk.choices[0]`` crash on it, protocols.md §2.6).
"""

from __future__ import annotations

import orjson

from bytespike.errors import GatewayError
from bytespike.protocols.openai_chat.usage import decode_usage
from bytespike.protocols.sse import frame_fields
from bytespike.protocols.tap import StreamFacts

DROP = 2
"""`feed` result: do not forward this frame."""
TERMINAL = 1
"""`feed` result: the ``[DONE]`` frame."""
FORWARD = 0


class OpenAIChatStreamTap:
    __slots__ = ("_forward_usage", "facts")

    def __init__(self, *, forward_usage: bool) -> None:
        self.facts = StreamFacts()
        self._forward_usage = forward_usage

    def feed(self, frame: bytes) -> int:
        _, data = frame_fields(frame)
        if not data:
            return FORWARD
        if data == b"[DONE]":
            self.facts.finished = True
            return TERMINAL
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError:
            return FORWARD
        if not isinstance(chunk, dict):
            return FORWARD
        if chunk.get("error"):
            err = chunk["error"] if isinstance(chunk["error"], dict) else {"message": str(chunk["error"])}
            self.facts.error = GatewayError(
                502,
                "upstream_error",
                str(err.get("message") or "upstream error"),
                upstream_type=err.get("type"),
            )
            return DROP
        usage = chunk.get("usage")
        if usage:
            self.facts.usage = decode_usage(usage)
            self.facts.has_usage = True
        choices = chunk.get("choices")
        if not self.facts.content_started and choices:
            delta = choices[0].get("delta") or {}
            if (
                delta.get("content")
                or delta.get("tool_calls")
                or delta.get("reasoning_content")
                or delta.get("refusal")
            ):
                self.facts.content_started = True
        if usage and not choices and not self._forward_usage:
            return DROP
        return FORWARD
