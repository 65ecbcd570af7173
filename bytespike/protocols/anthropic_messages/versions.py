"""The ``anthropic-version`` values the gateway speaks and what separates them (protocols.md §0)."""

from __future__ import annotations

V2023_06_01 = "2023-06-01"
"""Old clients (Claude Code, SDK ≤ 1.x, curl): still send temperature/top_p/top_k."""
V2026_10_21 = "2026-10-21"
"""SDK ≥ 2.0: rejects temperature/top_p/top_k, documents in assistant turns and citations on
user text."""

SAMPLING_PARAMS = ("temperature", "top_p", "top_k")


def rejects_sampling_params(version: str) -> bool:
    """True from 2026-10-21 on (versions are ISO dates, so they compare as strings)."""
    return version >= V2026_10_21
