"""Which host an OpenAI Chat request is written for, and what DeepSeek accepts of the wire format.

``openai`` is OpenAI itself (and any host that takes the full format); ``deepseek`` is DeepSeek's
``/chat/completions``: text-only string contents, ``max_tokens`` (no ``max_completion_tokens``),
``thinking`` + ``reasoning_effort`` high/max, ``reasoning_content`` on assistant messages, no
``developer`` role, ``n``, ``seed``, ``parallel_tool_calls``, ``user`` or ``json_schema``
(https://api-docs.deepseek.com/api/create-chat-completion,
https://api-docs.deepseek.com/guides/thinking_mode).

The other OpenAI-compatible vendors (doubao, minimax, zhipu, moonshot, an operator's own) take
the ``openai`` flavor; what differs between them and OpenAI is where the token limit goes, which
the catalogue says per model (``max_tokens_field``) for translated and forwarded bodies alike.
"""

from __future__ import annotations

from typing import Any, Literal

Flavor = Literal["openai", "deepseek"]
MAX_TOKENS_FIELD_OF_FLAVOR: dict[Flavor, str] = {
    "openai": "max_completion_tokens",
    "deepseek": "max_tokens",
}
"""Where each flavor's host reads the token limit when `encode_request` is not told (the
catalogue's ``max_tokens_field`` tells it per model: ``max_completion_tokens`` or ``max_tokens``)."""

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


def adapt_max_tokens_field(body: dict[str, Any], field: str) -> None:
    """Rename a forwarded Chat body's ``max_completion_tokens`` to ``max_tokens`` for a host that
    reads only ``max_tokens`` (it would ignore the other and answer at its own default length);
    the limit is kept. A caller's legacy ``max_tokens`` is left alone for every host: the
    ``max_completion_tokens`` hosts accept it too, with the meaning the caller chose."""
    if field == "max_tokens" and "max_completion_tokens" in body:
        value = body.pop("max_completion_tokens")
        if value is not None:
            body["max_tokens"] = value
