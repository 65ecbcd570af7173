"""Server-sent-event framing shared by every protocol: split a byte stream into frames.

A frame ends at a blank line (``\\n\\n`` or ``\\r\\n\\r\\n``). `SSESplitter.feed` returns the complete
frames in a chunk (bytes, terminator included, so they can be forwarded unchanged) and keeps the
incomplete tail for the next chunk.
"""

from __future__ import annotations

import re

_BOUNDARY = re.compile(rb"\r\n\r\n|\n\n|\r\r")


class SSESplitter:
    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        data = self._buf + chunk if self._buf else chunk
        frames = []
        start = 0
        for m in _BOUNDARY.finditer(data):
            frames.append(data[start : m.end()])
            start = m.end()
        self._buf = data[start:]
        return frames

    @property
    def tail(self) -> bytes:
        """Bytes of an unfinished frame (non-empty after a truncated stream)."""
        return self._buf


def frame_fields(frame: bytes) -> tuple[bytes | None, bytes]:
    """(event name or None, data payload joined across ``data:`` lines) of one frame."""
    event = None
    data: list[bytes] = []
    for line in frame.splitlines():
        if line.startswith(b"data:"):
            data.append(line[6:] if line[5:6] == b" " else line[5:])
        elif line.startswith(b"event:"):
            event = line[6:].strip()
    return event, b"\n".join(data)
