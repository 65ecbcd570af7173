"""A lean HTTP/1.1 client for the calls to vendors: keep-alive pools on asyncio transports, with
httptools' response parser.

Why not aiohttp here: every request through `aiohttp.ClientSession` builds a `ClientRequest`, a
`ClientResponse`, header multidicts, a `RequestInfo`, timer contexts and a payload object. On
these machines that was 125–177 µs of CPU per call, against 32 µs for this client
(`bench/client_cost.py`, medians of 4 interleaved rounds, two runs on 2026-12-06), and it was
the largest single cost in the gateway's profile. The gateway calls a handful of vendor origins with one
verb and a fully built body, so it needs little of what aiohttp offers. aiohttp remains the
project's client wherever that cost does not matter.

What this client does, and nothing more:

- ``POST`` (or any verb) with a complete body; HTTP/1.1 keep-alive; TLS through the default
  `ssl` context (system trust store), SNI and hostname checks.
- Bodies by ``Content-Length``, ``chunked`` (decoded by httptools) or closed by the server;
  ``gzip``/``deflate`` content decoded.
- One pool of idle connections per origin, newest first; connections idle longer than
  ``idle_timeout`` are closed instead of reused (servers drop idle connections, uvicorn after
  5 s), and a request whose *reused* connection fails before any response byte is sent once
  more on a new connection (the server closed it while idle: it never saw the request).
- ``connect_timeout`` for opening a connection, ``read_timeout`` for the longest silence while a
  response is awaited or read (not counted while the reader itself is not reading), checked by
  one watchdog per pool rather than a timer per exchange.
- Flow control: a response body buffer above ``HIGH_WATER`` pauses the socket.
"""

from __future__ import annotations

import asyncio
import ssl as ssl_module
from collections import deque
from collections.abc import Sequence
from urllib.parse import urlsplit

import httptools

from bytespike.upstreams.http1_response import HttpError, HttpTimeout, Response

_CACHE_MAX = 1024
"""Entries kept in the parsed-URL and request-head caches before they are emptied."""


class _Origin:
    """A parsed URL: where to connect and what to put in the request line."""

    __slots__ = ("host", "host_header", "key", "port", "target", "tls")

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise HttpError(f"unsupported URL {url!r}")
        self.tls = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.tls else 80)
        default_port = (443 if self.tls else 80) == self.port
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.host_header = host if default_port else f"{host}:{self.port}"
        self.target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.key = (self.tls, self.host, self.port)


class _Connection(asyncio.Protocol):
    """One socket to one origin, serving one exchange at a time."""

    def __init__(self, pool: Http1Pool, key: tuple) -> None:
        self.pool = pool
        self.key = key
        self.loop = pool.loop
        self.transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._headers: list[tuple[bytes, bytes]] = []
        self._head: asyncio.Future[Response] | None = None
        self._response: Response | None = None
        self._length_known = False
        self._keep_alive = False
        self._got_bytes = False
        self._paused = False
        self.last_activity = 0.0
        """Loop time of the last byte received (or of the request, or of a resumed read)."""
        self.closed = False
        self.exchanges = 0
        self.idle_since = 0.0

    # -- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._got_bytes = True
        self.last_activity = self.loop.time()
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:  # pragma: no cover - we never ask for an upgrade
            self.fail(HttpError("unexpected protocol upgrade"))
        except httptools.HttpParserError as exc:
            self.fail(HttpError(f"malformed response: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.pool.forget(self)
        resp = self._response
        if resp is not None and not resp._done and exc is None and not self._length_known:
            # A body without Content-Length or chunking ends when the server closes (RFC 9112 §6.3).
            self._response = None
            resp._finish()
            return
        self.fail(HttpError(f"connection lost: {exc}" if exc else "the server closed the connection"))

    def pause_writing(self) -> None:  # the request body is written in one go; nothing to pause
        pass

    def resume_writing(self) -> None:
        pass

    # -- httptools callbacks
    def on_message_begin(self) -> None:
        self._headers = []

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if 100 <= status < 200:
            return  # an interim response (100 Continue, 103 Early Hints): wait for the real one
        self._length_known = False
        for name, value in self._headers:
            lower = name.lower()
            if lower == b"content-length" or (lower == b"transfer-encoding" and b"chunked" in value.lower()):
                self._length_known = True
                break
        self._keep_alive = self._parser.should_keep_alive()
        resp = Response(self, status, self._headers)
        self._response = resp
        head, self._head = self._head, None
        if head is not None and not head.done():
            head.set_result(resp)

    def on_body(self, body: bytes) -> None:
        if self._response is not None:
            self._response._feed(body)

    def on_message_complete(self) -> None:
        if self._response is None:
            return  # the end of an interim response
        resp, self._response = self._response, None
        self.pool.not_waiting(self)
        resp._finish()

    # -- the exchange
    def send(self, head: bytes, body: bytes) -> asyncio.Future[Response]:
        """Write one request; the future resolves with the response once its headers arrive."""
        assert self.transport is not None and self._head is None and self._response is None
        self._head = self.loop.create_future()
        self._got_bytes = False
        self.exchanges += 1
        self.last_activity = self.loop.time()
        self.pool.waiting(self)
        if len(body) < 16 * 1024:
            self.transport.write(head + body)
        else:
            self.transport.writelines((head, body))
        return self._head

    @property
    def got_bytes(self) -> bool:
        return self._got_bytes

    def finished_with(self, resp: Response, *, reuse: bool) -> None:
        """The caller is done with ``resp`` (called once per response)."""
        self.pool.slot_freed()
        if self._response is resp:
            self._response = None
        if reuse and self._keep_alive and not self.closed and self._response is None:
            self.resume()
            self.pool.give_back(self)
        else:
            self.abort()

    def pause(self) -> None:
        if not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()

    def resume(self) -> None:
        if self._paused and self.transport is not None and not self.closed:
            self._paused = False
            self.last_activity = self.loop.time()  # a reader that stopped reading is not upstream silence
            self.transport.resume_reading()

    def abort(self) -> None:
        if not self.closed:
            self.closed = True
            if self.transport is not None:
                self.transport.close()
            self.pool.forget(self)

    @property
    def paused(self) -> bool:
        return self._paused

    def fail(self, error: HttpError) -> None:
        head, self._head = self._head, None
        if head is not None and not head.done():
            head.set_exception(error)
        resp, self._response = self._response, None
        if resp is not None:
            resp._finish(error)
        self.abort()


class Http1Pool:
    """Keep-alive connections per origin; one per process, closed in the app's lifespan."""

    def __init__(
        self,
        *,
        connect_timeout: float,
        read_timeout: float,
        limit: int = 4096,
        idle_timeout: float = 4.0,
        ssl_context: ssl_module.SSLContext | None = None,
    ) -> None:
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.idle_timeout = idle_timeout
        self._ssl = ssl_context
        """Trust for TLS origins; the default context (system trust store) is built on first use."""
        self._idle: dict[tuple, list[_Connection]] = {}
        self._all: set[_Connection] = set()
        self._limit = limit
        self._in_use = 0
        """Exchanges from `request` until their response is released (the connection limit)."""
        self._slot_waiters: deque[asyncio.Future[None]] = deque()
        self._waiting: set[_Connection] = set()
        """Connections awaiting or reading a response: what the silence watchdog looks at."""
        self._watchdog: asyncio.Task[None] | None = None
        self._origins: dict[str, _Origin] = {}
        self._heads: dict[tuple, bytes] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def _head(self, method: str, url: str, headers: Sequence[tuple[str, str]], length: int) -> tuple[_Origin, bytes]:
        """The parsed URL and the request head; both depend only on what a target sends every
        time (its URL, key and protocol headers), so they are built once and cached."""
        origin = self._origins.get(url)
        if origin is None:
            origin = _Origin(url)
            if len(self._origins) >= _CACHE_MAX:
                self._origins.clear()
            self._origins[url] = origin
        cache_key = (method, url, *headers)
        head = self._heads.get(cache_key)
        if head is None:
            head = _request_head(method, origin, headers)
            if len(self._heads) >= _CACHE_MAX:
                self._heads.clear()
            self._heads[cache_key] = head
        return origin, head + b"content-length: %d\r\n\r\n" % length

    async def request(
        self, method: str, url: str, headers: Sequence[tuple[str, str]], body: bytes = b""
    ) -> Response:
        """Send one request and return its response once the headers have arrived."""
        origin, head = self._head(method, url, headers, len(body))
        # A slot is held from here until the response is released or closed (`finished_with`).
        if self._in_use >= self._limit:
            await self._wait_for_slot()
        self._in_use += 1
        conn: _Connection | None = None
        try:
            for attempt in (0, 1):
                conn = self._idle_connection(origin.key)
                reused = conn is not None
                if conn is None:
                    conn = await self._connect(origin)
                try:
                    return await conn.send(head, body)
                except HttpTimeout:
                    raise
                except HttpError:
                    if attempt == 0 and reused and not conn.got_bytes:
                        continue  # closed by the server while idle, before it saw the request
                    raise
            raise AssertionError("unreachable")  # pragma: no cover
        except BaseException:
            # Failed or cancelled (even just after the headers arrived): nobody will release
            # this exchange, so its connection cannot be reused.
            if conn is not None:
                conn.abort()
            self.slot_freed()
            raise

    async def _wait_for_slot(self) -> None:
        while self._in_use >= self._limit:
            waiter = self.loop.create_future()
            self._slot_waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    self._wake_slot_waiter()  # woken, but leaving: pass the freed slot on
                raise
            finally:
                if waiter in self._slot_waiters:
                    self._slot_waiters.remove(waiter)

    def _wake_slot_waiter(self) -> None:
        while self._slot_waiters:
            waiter = self._slot_waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _idle_connection(self, key: tuple) -> _Connection | None:
        idle = self._idle.get(key)
        if not idle:
            return None
        oldest_usable = self.loop.time() - self.idle_timeout
        while idle:
            conn = idle.pop()
            if not conn.closed and conn.idle_since > oldest_usable:
                return conn
            conn.abort()
        return None

    async def _connect(self, origin: _Origin) -> _Connection:
        context: ssl_module.SSLContext | None = None
        if origin.tls:
            if self._ssl is None:
                self._ssl = ssl_module.create_default_context()
            context = self._ssl
        try:
            _, conn = await asyncio.wait_for(
                self.loop.create_connection(
                    lambda: _Connection(self, origin.key),
                    origin.host,
                    origin.port,
                    ssl=context,
                    server_hostname=origin.host if context is not None else None,
                ),
                self.connect_timeout,
            )
        except TimeoutError as exc:
            raise HttpTimeout(f"connecting to {origin.host}:{origin.port} took over {self.connect_timeout:g} s") from exc
        except (OSError, ssl_module.SSLError) as exc:
            raise HttpError(f"cannot connect to {origin.host}:{origin.port}: {exc}") from exc
        self._all.add(conn)
        return conn

    def give_back(self, conn: _Connection) -> None:
        conn.idle_since = self.loop.time()
        self._idle.setdefault(conn.key, []).append(conn)

    def slot_freed(self) -> None:
        self._in_use -= 1
        if self._slot_waiters:
            self._wake_slot_waiter()

    def waiting(self, conn: _Connection) -> None:
        self._waiting.add(conn)
        if self._watchdog is None:
            self._watchdog = self.loop.create_task(self._watch_silence(), name="http1-watchdog")

    def not_waiting(self, conn: _Connection) -> None:
        self._waiting.discard(conn)

    async def _watch_silence(self) -> None:
        """Fail exchanges whose server has been silent for ``read_timeout`` (up to a quarter of
        it late, at most 1 s), while any exchange is in progress."""
        period = min(1.0, self.read_timeout / 4)
        try:
            while self._waiting:
                await asyncio.sleep(period)
                now = self.loop.time()
                for conn in list(self._waiting):
                    if conn.closed:
                        self._waiting.discard(conn)
                    elif conn.paused:
                        conn.last_activity = now
                    elif now - conn.last_activity >= self.read_timeout:
                        self._waiting.discard(conn)
                        conn.fail(HttpTimeout(f"no data from the server for {self.read_timeout:g} s"))
        finally:
            self._watchdog = None

    def forget(self, conn: _Connection) -> None:
        self._all.discard(conn)
        self._waiting.discard(conn)

    @property
    def open_connections(self) -> int:
        return len(self._all)

    async def close(self) -> None:
        for conn in list(self._all):
            conn.abort()
        self._idle.clear()
        if self._watchdog is not None:
            self._watchdog.cancel()
        await asyncio.sleep(0)  # let the transports run their connection_lost


def _request_head(method: str, origin: _Origin, headers: Sequence[tuple[str, str]]) -> bytes:
    """The request line and headers, without Content-Length and the blank line."""
    lines = [f"{method} {origin.target} HTTP/1.1\r\nhost: {origin.host_header}\r\n"]
    for name, value in headers:
        if "\n" in value or "\r" in value or "\n" in name or "\r" in name:
            raise HttpError(f"header {name!r} holds a line break")
        lines.append(f"{name}: {value}\r\n")
    try:
        return "".join(lines).encode("latin-1")
    except UnicodeEncodeError as exc:
        raise HttpError(f"a request header is not latin-1: {exc}") from exc
