"""At most four ``cache_control`` breakpoints per request (protocols.md §1.5).

Requests translated from other protocols may carry more; the earliest ones in Anthropic's
prefix order (tools, then system, then messages) are removed, because the later breakpoints
cover longer prefixes. The top-level automatic breakpoint counts as one and is kept.
"""

from __future__ import annotations

from typing import Any

from bytespike.canonical.degradation import Degradations

MAX_CACHE_BREAKPOINTS = 4


def cap_cache_breakpoints(body: dict[str, Any], deg: Degradations) -> None:
    """Remove the earliest breakpoints beyond the limit, replacing (never mutating) the
    block dicts, which may be shared with the canonical request."""
    holders: list[tuple[list[Any], int]] = []

    def scan(blocks: Any) -> None:
        if not isinstance(blocks, list):
            return
        for k, block in enumerate(blocks):
            if isinstance(block, dict) and block.get("cache_control") is not None:
                holders.append((blocks, k))
            if isinstance(block, dict) and block.get("type") == "tool_result":
                scan(block.get("content"))

    scan(body.get("tools"))
    scan(body.get("system"))
    for message in body.get("messages", ()):
        scan(message.get("content"))
    excess = len(holders) + (body.get("cache_control") is not None) - MAX_CACHE_BREAKPOINTS
    if excess <= 0:
        return
    deg.drop(
        "cache_control", f"Anthropic allows {MAX_CACHE_BREAKPOINTS} breakpoints; the earliest were removed"
    )
    for blocks, k in holders[:excess]:
        blocks[k] = {key: v for key, v in blocks[k].items() if key != "cache_control"}
