"""One response of the HTTP/1.1 client (upstreams/http1.py): its status, headers and body.

The connection feeds body pieces in as they arrive (`_feed`, `_finish`); the caller reads them
with `read()` or `iter_chunks()`, decoding ``gzip``/``deflate`` on the way, and hands the
connection back with `release()` (reused if the body was read to its end) or `close()`. Reading
pauses the socket while more than `HIGH_WATER` bytes wait to be read.
"""

from __future__ import annotations

import asyncio
import zlib
from collections import deque
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bytespike.upstreams.http1 import _Connection

HIGH_WATER = 256 * 1024
"""Buffered response bytes above which reading from the socket pauses."""


class HttpError(Exception):
    """The exchange failed: connection refused, reset, closed early, malformed response."""


class HttpTimeout(HttpError):
    """Connecting took longer than ``connect_timeout``, or the server was silent for ``read_timeout``."""


class Response:
    """Status, headers and body of one response; `release()` or `close()` it when done."""

    __slots__ = (
        "_buffered",
        "_chunks",
        "_conn",
        "_decoder",
        "_done",
        "_error",
        "_headers",
        "_raw_headers",
        "_waiter",
        "status",
    )

    def __init__(self, conn: _Connection, status: int, raw_headers: list[tuple[bytes, bytes]]) -> None:
        self._conn: _Connection | None = conn
        self.status = status
        self._raw_headers = raw_headers
        self._headers: dict[str, str] | None = None
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._done = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._decoder = None
        for name, value in raw_headers:
            if (
                len(name) == 16
                and name.lower() == b"content-encoding"
                and value.strip().lower() in (b"gzip", b"deflate", b"x-gzip")
            ):
                self._decoder = zlib.decompressobj(wbits=47)  # gzip or zlib, told by the header

    @property
    def headers(self) -> dict[str, str]:
        """Lower-case names; repeated headers joined with ``, `` (decoded on first use: the
        relay reads headers of errors and streams only)."""
        if self._headers is None:
            raw = self._raw_headers
            headers = {n.decode("latin-1").lower(): v.decode("latin-1") for n, v in raw}
            if len(headers) != len(raw):  # a repeated header: join its values (RFC 9110 §5.3)
                headers = {}
                for n, v in raw:
                    name, value = n.decode("latin-1").lower(), v.decode("latin-1")
                    headers[name] = f"{headers[name]}, {value}" if name in headers else value
            self._headers = headers
        return self._headers

    # -- fed by the connection
    def _feed(self, data: bytes) -> None:
        self._chunks.append(data)
        self._buffered += len(data)
        if self._buffered > HIGH_WATER and self._conn is not None:
            self._conn.pause()
        self._wake()

    def _finish(self, error: BaseException | None = None) -> None:
        if self._done:
            return
        self._done = True
        self._error = error
        self._wake()

    def _wake(self) -> None:
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)

    # -- read by the caller
    async def _next(self) -> bytes | None:
        """The next piece of the (still encoded) body; None at its end."""
        while not self._chunks:
            if self._done:
                if self._error is not None:
                    raise self._error
                return None
            conn = self._conn
            assert conn is not None
            self._waiter = conn.loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        data = self._chunks.popleft()
        self._buffered -= len(data)
        if self._buffered <= HIGH_WATER // 2 and self._conn is not None:
            self._conn.resume()
        return data

    def _decode(self, data: bytes | None) -> bytes:
        """Decoded body bytes; ``None`` (the end of the body) flushes the decoder."""
        if self._decoder is None:
            return data or b""
        try:
            return self._decoder.decompress(data) if data is not None else self._decoder.flush()
        except zlib.error as exc:
            raise HttpError(f"undecodable {self.headers.get('content-encoding')} body: {exc}") from exc

    async def read(self) -> bytes:
        """The whole body; the connection goes back to its pool."""
        parts = []
        try:
            while (data := await self._next()) is not None:
                parts.append(self._decode(data))
            if self._decoder is not None:
                parts.append(self._decode(None))
        except BaseException:
            self.close()
            raise
        self.release()
        return parts[0] if len(parts) == 1 else b"".join(parts)

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        """Body bytes as they arrive."""
        while (data := await self._next()) is not None:
            out = self._decode(data)
            if out:
                yield out
        if self._decoder is not None and (out := self._decode(None)):
            yield out

    def release(self) -> None:
        """Done with the response: its connection is reused if the body was read to the end."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.finished_with(self, reuse=self._done and self._error is None and not self._chunks)

    def close(self) -> None:
        """Done with the response, and its connection is closed whatever its state."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.finished_with(self, reuse=False)
