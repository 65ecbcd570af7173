"""The contract every simulated vendor API fulfils, and what the app knows about a route.

`app.py` runs one pipeline for every model call (auth → JSON → decode → directives → faults →
plan → encode); each vendor module supplies the vendor-specific steps through `VendorApi`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import orjson

from bytespike.simulator.asgi import Headers, HttpAnswer
from bytespike.simulator.plan import ReplyPlan, TurnRequest
from bytespike.simulator.streaming import StreamEncoder

CREATED_AT = 1_767_225_600
"""Fixed creation timestamp (2026-01-01T00:00:00Z) so equal requests give equal bytes."""


class Operation(enum.Enum):
    GENERATE = "generate"
    COUNT_TOKENS = "count_tokens"


@dataclass(frozen=True, slots=True)
class Route:
    """What a request path asks for."""

    vendor: str
    """Key of the vendor in the app's vendor table (``anthropic``, ``openai_chat``, …)."""
    operation: Operation
    model: str | None = None
    """Model named in the path (Gemini); body-named models are read by the decoder."""
    stream: bool = False
    """The path itself asks for a stream (Gemini ``streamGenerateContent``)."""
    sse: bool = False
    """Gemini stream framing: SSE (``alt=sse``) rather than a JSON array."""


class VendorApi(Protocol):
    """Vendor-specific steps of the simulator's pipeline."""

    def check_auth(
        self, headers: Mapping[bytes, bytes], query: bytes, api_key: str | None
    ) -> HttpAnswer | None:
        """None when the request carries an acceptable key, else the vendor's auth error."""
        ...

    def error(self, status: int, message: str) -> HttpAnswer:
        """An HTTP error in the vendor's envelope."""
        ...

    def error_in_body(self, status: int, message: str) -> HttpAnswer:
        """HTTP 200 whose JSON body is the vendor's error object (a misbehaving upstream)."""
        ...

    def decode_turn(self, payload: dict[str, object], route: Route) -> TurnRequest:
        """Read what decides the answer; raises `fields.BadRequest`."""
        ...

    def encode_reply(self, plan: ReplyPlan, payload: dict[str, object]) -> HttpAnswer: ...

    def stream_encoder(self, plan: ReplyPlan, payload: dict[str, object], route: Route) -> StreamEncoder: ...

    def encode_count(self, tokens: int) -> HttpAnswer: ...


JSON_CONTENT_TYPE = (b"content-type", b"application/json")


def json_answer(status: int, payload: object, headers: Headers | None = None) -> HttpAnswer:
    return HttpAnswer(status, orjson.dumps(payload), [JSON_CONTENT_TYPE, *(headers or ())])
