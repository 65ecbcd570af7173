"""What the relay learns from a response as it passes through, whatever the protocol."""

from __future__ import annotations

from dataclasses import dataclass, field

from bytespike.canonical.usage import Usage
from bytespike.errors import GatewayError


@dataclass(slots=True)
class StreamFacts:
    """Filled in by a protocol's stream tap as frames go by."""

    usage: Usage = field(default_factory=Usage)
    has_usage: bool = False
    """True once the upstream reported final usage."""
    content_started: bool = False
    """True once a content token (text, thinking, tool call) has been seen."""
    finished: bool = False
    """True once the protocol's terminal frame has been seen."""
    error: GatewayError | None = None
    """A mid-stream error frame from the upstream."""
