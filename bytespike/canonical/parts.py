"""Content parts: the atoms every protocol's messages are made of.

One class per kind of content. Vendor-only data (thinking signatures, Gemini
``thoughtSignature``, OpenAI encrypted reasoning, item ids) lives in ``provider_data``, tagged
with the protocol that issued it, and is echoed back only to that protocol (DESIGN.md §2).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class CacheControl:
    """A prompt-cache breakpoint: Anthropic ``cache_control`` or OpenAI ``prompt_cache_breakpoint``
    (the end of a reusable prefix); only Anthropic upstreams take it from another protocol."""

    ttl: str | None = None
    """The lifetime the caller asked for, in its vendor's terms (Anthropic ``"5m"``/``"1h"``, OpenAI
    ``"30m"``/``"12h"``); None means the vendor default. Encoders report a lifetime they cannot set."""


@dataclass(frozen=True, slots=True)
class ProviderData:
    """Opaque vendor data attached to a part, echoed only to ``protocol``."""

    protocol: str
    """Wire protocol that produced it: anthropic_messages, openai_chat, openai_responses, gemini."""
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class TextPart:
    text: str
    cache_control: CacheControl | None = None
    provider_data: ProviderData | None = None


@dataclass(frozen=True, slots=True)
class MediaPart:
    """An image, document (PDF/plain text), audio or video input."""

    kind: str
    """``image``, ``document``, ``audio`` or ``video``."""
    media_type: str | None = None
    """MIME type, e.g. ``image/png``, ``application/pdf``."""
    data: str | None = None
    """Base64 payload (without a ``data:`` prefix), when inline."""
    url: str | None = None
    """Remote URL, when referenced."""
    file_id: str | None = None
    """Vendor file id (not portable: only its own vendor understands it)."""
    filename: str | None = None
    title: str | None = None
    cache_control: CacheControl | None = None
    detail: str | None = None
    """How finely an image is to be read, in OpenAI's words (``low``, ``high``, ``original``);
    None is the vendor default (OpenAI's ``auto``). Only OpenAI takes it per image."""


@dataclass(frozen=True, slots=True)
class ThinkingPart:
    """Reasoning text (possibly summarized) and the vendor's proof of it."""

    text: str = ""
    signature: str | None = None
    """Anthropic ``signature`` / Gemini ``thoughtSignature`` / OpenAI ``encrypted_content``.
    Meaningful only to ``provider_data.protocol`` (or the protocol named in ``signature_protocol``)."""
    signature_protocol: str | None = None
    """Which protocol issued ``signature``; None when there is none."""
    redacted: bool = False
    """Anthropic ``redacted_thinking``: ``signature`` holds its opaque ``data``."""
    provider_data: ProviderData | None = None


@dataclass(frozen=True, slots=True)
class ToolCallPart:
    """The model asks for a function call."""

    id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    """Parsed JSON arguments (always an object)."""
    provider_data: ProviderData | None = None
    """e.g. Gemini ``thoughtSignature`` on a functionCall part."""
    cache_control: CacheControl | None = None


@dataclass(frozen=True, slots=True)
class ToolResultPart:
    """The caller's answer to a tool call."""

    tool_call_id: str
    content: tuple[TextPart | MediaPart, ...] = ()
    is_error: bool = False
    name: str | None = None
    """Function name (Gemini ``functionResponse`` needs it; filled from history when missing)."""
    cache_control: CacheControl | None = None


@dataclass(frozen=True, slots=True)
class OpaquePart:
    """A block only one vendor understands (server-tool results, citations, …), kept verbatim."""

    protocol: str
    data: dict[str, Any]


Part = TextPart | MediaPart | ThinkingPart | ToolCallPart | ToolResultPart | OpaquePart
