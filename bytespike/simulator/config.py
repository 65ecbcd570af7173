"""Start-up settings of the vendor simulator.

One `SimulatorConfig` is built by whoever starts the simulator (CLI, demo mode, tests, benchmarks)
and handed to `create_simulator_app`. Per-request overrides come from `x-sim-*` headers and
`[[sim:…]]` directives (see `directives.py`); these are only the defaults.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """Defaults for every request the simulator answers."""

    api_key: str | None = None
    """The one key every request must carry; None accepts any non-empty key (a missing key is
    still refused, in the vendor's own shape)."""
    latency_ms: float = 0
    """Delay before the response status line (time to first byte)."""
    chunk_delay_ms: float = 0
    """Pause between two content frames of a stream (inter-chunk gap)."""
    chunks: int | None = None
    """Number of text deltas a stream is cut into; None means one delta per word."""
    record: int = 200
    """How many recent requests `GET /_sim/requests` keeps; 0 disables recording."""

    def __post_init__(self) -> None:
        if self.latency_ms < 0 or self.chunk_delay_ms < 0:
            raise ValueError("latency_ms and chunk_delay_ms must be >= 0")
        if self.chunks is not None and self.chunks < 1:
            raise ValueError("chunks must be >= 1 when set")
        if self.record < 0:
            raise ValueError("record must be >= 0")
