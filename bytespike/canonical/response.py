"""A protocol-neutral model response and the finish reasons every protocol maps to."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from bytespike.canonical.parts import Part
from bytespike.canonical.usage import Usage

FinishReason = Literal[
    "stop", "length", "tool_use", "stop_sequence", "content_filter", "refusal", "pause", "error"
]
"""``stop``: natural end; ``length``: max tokens; ``tool_use``: wants tool results;
``stop_sequence``: matched one of ``stop``; ``content_filter``: safety block; ``refusal``;
``pause``: Anthropic ``pause_turn``; ``error``: the upstream failed the turn."""


@dataclass(frozen=True, slots=True)
class Response:
    id: str
    model: str
    parts: tuple[Part, ...]
    finish_reason: FinishReason | None
    usage: Usage
    stop_sequence: str | None = None
    provider_data: dict[str, Any] = field(default_factory=dict)
    """Response-level vendor data keyed by protocol (e.g. Responses ``id`` of the output items)."""
