"""One admitted request: everything the relay knows about it, shared by its modules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bytespike.access.principal import Principal
from bytespike.relay.chaining import Chain
from bytespike.relay.outcome import Inbound
from bytespike.relay.translation import Translation
from bytespike.relay.vendor_items import ChatAudioIds
from bytespike.routing.catalogue import ModelEntry
from bytespike.state.hot import Hold
from bytespike.upstreams.targets import Target


@dataclass(slots=True)
class Call:
    """Everything known about one admitted request, shared with the stream relay."""

    inbound: Inbound
    principal: Principal
    model: ModelEntry
    target: Target
    upstream_protocol: str
    hold: Hold | None
    forward_usage: bool = True
    upstream_started: float = 0.0
    upstream_ms: float = 0.0
    translation: Translation | None = None
    """Set when caller and upstream speak different protocols."""
    body: Any = None
    """The body to relay: the caller's, or with a stored conversation in front (chaining)."""
    chain: Chain | None = None
    """Set for Responses callers: the stored history used and whether to store this exchange."""
    audio_ids: ChatAudioIds | None = None
    """Set for Chat callers asking OpenAI for audio: reads the audio ids the answer hands out."""
    upstream_stream: bool = False
    """Whether the upstream is called streaming: the caller's mode unless the model's vendor
    serves only the other (catalogue ``upstream_stream``, relay/stream_modes.py)."""
