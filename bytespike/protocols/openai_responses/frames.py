"""One Responses stream event as an SSE frame: ``event: <type>`` plus ``data`` (protocols.md §3.3)."""

from __future__ import annotations

from typing import Any

import orjson


def event_frame(payload: dict[str, Any]) -> bytes:
    """``payload`` must carry its ``type``; the OpenAI SDK reads ``data`` and dispatches on it."""
    return b"event: " + payload["type"].encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"
