"""What the relay hands back to the web layer: a whole reply or a stream, plus headers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

Headers = list[tuple[bytes, bytes]]


@dataclass(slots=True)
class Inbound:
    """One client request as the web layer decoded it."""

    protocol: str
    """Caller protocol: anthropic_messages, openai_chat, gemini."""
    endpoint: str
    """Route template for records, e.g. ``/v1/messages``."""
    body: Any
    body_size: int
    credential: str
    client_ip: str | None
    request_id: str
    started: float
    """``time.perf_counter()`` when the request arrived."""
    stream: bool = False
    model: str | None = None
    """Model named by the path (Gemini); the others carry it in the body."""
    vendor_headers: dict[str, str] = field(default_factory=dict)
    """Headers forwarded to a same-protocol upstream (``anthropic-version``, ``anthropic-beta``)."""
    strict: bool = False
    """``X-ByteSpike-Strict: true``: a translation that would drop a field is a 400 instead."""
    body_error: Any = None
    """A `GatewayError` found while reading the body (bad JSON, too large), raised after
    authentication so the error still carries the key's accounting headers."""


@dataclass(slots=True)
class Reply:
    status: int
    body: bytes
    headers: Headers


class ChunkStream(Protocol):
    def chunks(self) -> AsyncIterator[bytes]: ...

    async def finish(self, *, client_gone: bool) -> None: ...


@dataclass(slots=True)
class StreamReply:
    status: int
    headers: Headers
    stream: ChunkStream
