"""Gemini ``usageMetadata`` ↔ canonical `Usage`.

``promptTokenCount`` includes ``cachedContentTokenCount``; ``candidatesTokenCount`` EXCLUDES
``thoughtsTokenCount`` (protocols.md §4.3), so thoughts are added to output here.
"""

from __future__ import annotations

from typing import Any

from bytespike.canonical.usage import Usage


def decode_usage(u: Any) -> Usage:
    if not isinstance(u, dict):
        return Usage()
    thoughts = int(u.get("thoughtsTokenCount") or 0)
    return Usage(
        input_tokens=int(u.get("promptTokenCount") or 0) + int(u.get("toolUsePromptTokenCount") or 0),
        output_tokens=int(u.get("candidatesTokenCount") or 0) + thoughts,
        cache_read_tokens=int(u.get("cachedContentTokenCount") or 0),
        reasoning_tokens=thoughts,
    )


def encode_usage(usage: Usage) -> dict[str, Any]:
    """``usageMetadata`` in Gemini's semantics (protocols.md §5.9 "to G").

    ``promptTokenCount`` includes cached (and cache-write) tokens; ``candidatesTokenCount``
    excludes ``thoughtsTokenCount``; ``totalTokenCount`` is their sum."""
    out: dict[str, Any] = {
        "promptTokenCount": usage.input_tokens,
        "candidatesTokenCount": max(usage.output_tokens - usage.reasoning_tokens, 0),
        "totalTokenCount": usage.input_tokens + usage.output_tokens,
    }
    if usage.cache_read_tokens:
        out["cachedContentTokenCount"] = usage.cache_read_tokens
    if usage.reasoning_tokens:
        out["thoughtsTokenCount"] = usage.reasoning_tokens
    return out
