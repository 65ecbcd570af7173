"""Anthropic usage ⇄ canonical `Usage`.

Anthropic's ``input_tokens`` EXCLUDES cache reads and writes (protocols.md §1.6), so they are
added back on the way in and subtracted on the way out; ``output_tokens`` already includes
thinking (``output_tokens_details.thinking_tokens`` is a part of it).
"""

from __future__ import annotations

from typing import Any

from bytespike.canonical.usage import Usage


def decode_usage(u: Any) -> Usage:
    if not isinstance(u, dict):
        return Usage()
    read = int(u.get("cache_read_input_tokens") or 0)
    write = int(u.get("cache_creation_input_tokens") or 0)
    details = u.get("output_tokens_details") or {}
    thinking = int(details.get("thinking_tokens") or u.get("thinking_tokens") or 0)
    return Usage(
        input_tokens=int(u.get("input_tokens") or 0) + read + write,
        output_tokens=int(u.get("output_tokens") or 0),
        cache_read_tokens=read,
        cache_write_tokens=write,
        reasoning_tokens=thinking,
    )


def encode_usage(usage: Usage) -> dict[str, Any]:
    """The wire ``usage`` object: ``input_tokens`` without cache tokens, cache fields always
    present (0 when none: vllm-project/vllm PR #40912), thinking only when there was some."""
    out: dict[str, Any] = {
        "input_tokens": usage.uncached_input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_creation_input_tokens": usage.cache_write_tokens,
        "cache_read_input_tokens": usage.cache_read_tokens,
    }
    if usage.reasoning_tokens:
        out["output_tokens_details"] = {"thinking_tokens": usage.reasoning_tokens}
    return out
