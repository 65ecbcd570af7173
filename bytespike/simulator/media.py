"""``GET /_sim/media/<name>``: files for tests of media the gateway fetches by URL.

Query parameters: ``type`` (the Content-Type, default ``image/png``), ``size`` (body length in
bytes: a 1×1 PNG padded with zeros, or cut), ``redirect`` (answer 302 to that location instead).
The body is deterministic, so a test can compare what reached the vendor byte for byte.
"""

from __future__ import annotations

import base64
from urllib.parse import parse_qs

from bytespike.simulator.asgi import HttpAnswer

MEDIA_PREFIX = "/_sim/media/"
PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAAABJRU5ErkJggg=="
)
MAX_SIZE = 64 << 20


def media_body(size: int | None = None) -> bytes:
    """The body served for ``size`` (None: the PNG itself)."""
    if size is None:
        return PNG_1X1
    return (PNG_1X1 + bytes(max(size - len(PNG_1X1), 0)))[:size]


def media_answer(query: bytes) -> HttpAnswer:
    params = {k: v[-1] for k, v in parse_qs(query.decode("latin-1")).items()}
    if "redirect" in params:
        return HttpAnswer(302, b"", [(b"location", params["redirect"].encode("latin-1"))])
    try:
        size = int(params["size"]) if "size" in params else None
    except ValueError:
        size = None
    if size is not None and not 0 <= size <= MAX_SIZE:
        size = None
    content_type = params.get("type", "image/png").encode("latin-1")
    return HttpAnswer(200, media_body(size), [(b"content-type", content_type)])
