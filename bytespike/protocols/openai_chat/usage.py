"""OpenAI Chat (and DeepSeek) usage → canonical `Usage`.

``prompt_tokens`` already includes cached tokens and ``completion_tokens`` includes reasoning
(protocols.md §2.5). DeepSeek reports cache hits as ``prompt_cache_hit_tokens`` instead.
"""

from __future__ import annotations

from typing import Any

from bytespike.canonical.usage import Usage


def decode_usage(u: Any) -> Usage:
    if not isinstance(u, dict):
        return Usage()
    pd = u.get("prompt_tokens_details") or {}
    cd = u.get("completion_tokens_details") or {}
    read = int(pd.get("cached_tokens") or u.get("prompt_cache_hit_tokens") or 0)
    return Usage(
        input_tokens=int(u.get("prompt_tokens") or 0),
        output_tokens=int(u.get("completion_tokens") or 0),
        cache_read_tokens=read,
        cache_write_tokens=int(pd.get("cache_write_tokens") or 0),
        reasoning_tokens=int(cd.get("reasoning_tokens") or 0),
    )


def encode_usage(usage: Usage) -> dict[str, Any]:
    """Canonical `Usage` → OpenAI ``CompletionUsage`` (protocols.md §5.9 "to C").

    The semantics already agree: ``prompt_tokens`` includes cached (and cache-write) tokens and
    ``completion_tokens`` includes reasoning, so nothing is added or subtracted — reporting
    uncached input here would under-bill, adding cache again would double-count (vllm PR #40912).
    """
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {
            "cached_tokens": usage.cache_read_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
        },
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }
