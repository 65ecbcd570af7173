"""OpenAI Responses streams: the relay's tap, and the translating decoder and encoder.

`ResponsesStreamTap` reads what billing needs as frames pass through unchanged (fast path):
usage from the terminal ``response.completed``/``response.incomplete`` (the only event that
carries it, protocols.md §3.3), the first content delta, and ``error``/``response.failed``.
`StreamDecoder` and `StreamEncoder` translate to and from canonical events.
"""

from __future__ import annotations

import orjson

from bytespike.errors import GatewayError
from bytespike.protocols.openai_responses.stream_decoder import StreamDecoder
from bytespike.protocols.openai_responses.stream_encoder import StreamEncoder
from bytespike.protocols.openai_responses.usage import decode_usage
from bytespike.protocols.sse import frame_fields
from bytespike.protocols.tap import StreamFacts

__all__ = ["ResponsesStreamTap", "StreamDecoder", "StreamEncoder"]

TERMINAL_TYPES = frozenset({"response.completed", "response.incomplete"})
CONTENT_ITEM_TYPES = frozenset({"function_call", "custom_tool_call"})
"""Items that are content even when their arguments arrive without any delta."""


class ResponsesStreamTap:
    __slots__ = ("facts",)

    def __init__(self) -> None:
        self.facts = StreamFacts()

    def feed(self, frame: bytes) -> bool:
        """Record what ``frame`` says; True when it is the terminal ``response.completed`` or
        ``response.incomplete``."""
        event, data = frame_fields(frame)
        if event is not None and event.endswith(b".delta"):  # the bulk of a stream: no JSON parse
            self.facts.content_started = True
            return False
        if not data:
            return False
        try:
            payload = orjson.loads(data)
        except orjson.JSONDecodeError:
            return False
        if not isinstance(payload, dict):
            return False
        etype = payload.get("type")
        if not isinstance(etype, str):
            return False
        if etype.endswith(".delta"):
            self.facts.content_started = True
        elif etype in TERMINAL_TYPES:
            response = payload.get("response")
            usage = response.get("usage") if isinstance(response, dict) else None
            if isinstance(usage, dict):
                self.facts.usage = decode_usage(usage)
                self.facts.has_usage = True
            self.facts.finished = True
            return True
        elif etype in ("error", "response.failed") and self.facts.error is None:
            self.facts.error = _error_of(payload)
        elif etype.startswith("response.output_item."):
            item = payload.get("item")
            if isinstance(item, dict) and item.get("type") in CONTENT_ITEM_TYPES:
                self.facts.content_started = True
        return False


def _error_of(payload: dict) -> GatewayError:
    err = payload
    if payload.get("type") == "response.failed":
        response = payload.get("response")
        err = (response.get("error") if isinstance(response, dict) else None) or {}
    message = err.get("message") if isinstance(err, dict) else None
    code = err.get("code") if isinstance(err, dict) else None
    return GatewayError(
        502,
        "upstream_error",
        message if isinstance(message, str) and message else "upstream error",
        upstream_type=code if isinstance(code, str) else None,
    )
