"""OpenAI Responses usage ↔ canonical `Usage` (protocols.md §3.2, §5.9).

The wire already uses the canonical semantics: ``input_tokens`` INCLUDES
``input_tokens_details.cached_tokens`` (and ``cache_write_tokens``), ``output_tokens`` INCLUDES
``output_tokens_details.reasoning_tokens``. So nothing is added or subtracted either way — adding
the cached tokens again is the double count vLLM shipped (vllm-project/vllm PR #40912).
"""

from __future__ import annotations

from typing import Any

from bytespike.canonical.usage import Usage


def _count(d: Any, key: str) -> int:
    v = d.get(key) if isinstance(d, dict) else None
    return v if isinstance(v, int) and not isinstance(v, bool) and v > 0 else 0


def decode_usage(u: Any) -> Usage:
    if not isinstance(u, dict):
        return Usage()
    details = u.get("input_tokens_details")
    return Usage(
        input_tokens=_count(u, "input_tokens"),
        output_tokens=_count(u, "output_tokens"),
        cache_read_tokens=_count(details, "cached_tokens"),
        cache_write_tokens=_count(details, "cache_write_tokens"),
        reasoning_tokens=_count(u.get("output_tokens_details"), "reasoning_tokens"),
    )


def encode_usage(usage: Usage) -> dict[str, Any]:
    """The ``ResponseUsage`` object; every field the SDK type marks required is present."""
    return {
        "input_tokens": usage.input_tokens,
        "input_tokens_details": {
            "cached_tokens": usage.cache_read_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
        },
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.total_tokens,
    }
