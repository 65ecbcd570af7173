"""Normalized token usage: the one definition every decoder produces and pricing reads.

DESIGN.md §2: ``input_tokens`` INCLUDES cache-read and cache-write tokens; ``output_tokens``
INCLUDES reasoning tokens. Each vendor reports these differently (Anthropic's input excludes
cache tokens; OpenAI and Gemini include cached reads; Gemini's candidates exclude thoughts), so
the per-protocol decoders convert once and nothing downstream can double-count.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens of one model call, normalized (see module docstring)."""

    input_tokens: int = 0
    """All prompt tokens, cached or not."""
    output_tokens: int = 0
    """All generated tokens, reasoning included."""
    cache_read_tokens: int = 0
    """Part of ``input_tokens`` served from the prompt cache."""
    cache_write_tokens: int = 0
    """Part of ``input_tokens`` written to the prompt cache."""
    reasoning_tokens: int = 0
    """Part of ``output_tokens`` spent on thinking/reasoning."""

    @property
    def uncached_input_tokens(self) -> int:
        """Prompt tokens billed at the plain input rate."""
        return max(self.input_tokens - self.cache_read_tokens - self.cache_write_tokens, 0)

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def is_empty(self) -> bool:
        return self.input_tokens == 0 and self.output_tokens == 0
