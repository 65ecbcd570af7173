"""Which host an OpenAI Chat request is written for, and what DeepSeek accepts of the wire format.

``openai`` is OpenAI itself (and any host that takes the full format); ``deepseek`` is DeepSeek's
``/chat/completions``: text-only string contents, ``max_tokens`` (no ``max_completion_tokens``),
``thinking`` + ``reasoning_effort`` high/max, ``reasoning_content`` on assistant messages, no
``developer`` role, ``n``, ``seed``, ``parallel_tool_calls``, ``user`` or ``json_schema``
(https://api-docs.deepseek.com/api/create-chat-completion,
https://api-docs.deepseek.com/guides/thinking_mode).
"""

from __future__ import annotations

from typing import Literal

Flavor = Literal["openai", "deepseek"]

DEEPSEEK_FIELDS = frozenset(
    {"frequency_penalty", "presence_penalty", "logprobs", "top_logprobs", "stream_options", "max_tokens"}
)
"""Top-level fields outside the canonical model that DeepSeek accepts."""
DEEPSEEK_THINKING_REJECTS = frozenset({"logprobs", "top_logprobs"})
"""Thinking mode (DeepSeek's default) answers 400 to these; the sampling knobs are ignored."""
DEEPSEEK_MESSAGE_KEYS = frozenset({"name", "prefix", "content"})
"""Message keys outside the canonical model that DeepSeek accepts (``prefix``: beta prefix completion)."""


def deepseek_effort(effort: str) -> str:
    """DeepSeek's two effort levels: it maps low/medium to high and xhigh to max itself (thinking
    mode guide); minimal has no counterpart, so it goes to the lower one as well."""
    return "max" if effort in ("xhigh", "max") else "high"
