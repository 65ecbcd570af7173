"""The lean HTTP/1.1 client against scripted servers: framing, reuse, retries, timeouts, TLS."""

from __future__ import annotations

import asyncio
import datetime
import gzip
import ipaddress
import ssl
from collections.abc import Awaitable, Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bytespike.upstreams.http1 import Http1Pool, HttpError, HttpTimeout
from bytespike.upstreams.http1_response import HIGH_WATER

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class Server:
    """A TCP server running ``handler`` per connection; counts connections."""

    def __init__(self, handler: Handler, ssl_context: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.ssl_context = ssl_context
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> Server:
        async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            try:
                await self.handler(reader, writer)
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                writer.close()

        self.server = await asyncio.start_server(on_connection, "127.0.0.1", 0, ssl=self.ssl_context)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    def url(self, path: str = "/x", scheme: str = "http") -> str:
        assert self.server is not None
        return f"{scheme}://127.0.0.1:{self.server.sockets[0].getsockname()[1]}{path}"


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """The request head and body (by Content-Length)."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return head, await reader.readexactly(length)


def answer(body: bytes, *extra: str, status: str = "200 OK") -> bytes:
    lines = [f"HTTP/1.1 {status}", f"content-length: {len(body)}", *extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def pool(**kw: float) -> Http1Pool:
    return Http1Pool(connect_timeout=kw.get("connect", 2), read_timeout=kw.get("read", 2), limit=int(kw.get("limit", 64)))


async def echo_forever(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:
        _, body = await read_request(reader)
        writer.write(answer(b"got:" + body, "x-multi: a", "x-multi: b"))
        await writer.drain()


async def test_request_line_headers_and_body_reach_the_server_and_the_connection_is_reused() -> None:
    seen: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head, body = await read_request(reader)
            seen.append(head + body)
            writer.write(answer(b"ok " + body))
            await writer.drain()

    async with Server(handler) as server:
        p = pool()
        for i in range(3):
            resp = await p.request("POST", server.url("/v1/chat?alt=sse"), [("x-api-key", "k")], b"body%d" % i)
            assert resp.status == 200 and await resp.read() == b"ok body%d" % i
        await p.close()
    assert server.connections == 1  # keep-alive: three exchanges, one connection
    first = seen[0].decode()
    assert first.startswith("POST /v1/chat?alt=sse HTTP/1.1\r\n")
    assert "\r\nhost: 127.0.0.1:" in first and "\r\nx-api-key: k\r\n" in first
    assert "\r\ncontent-length: 5\r\n" in first and first.endswith("\r\n\r\nbody0")


async def test_repeated_headers_are_joined_and_names_lower_cased() -> None:
    async with Server(echo_forever) as server:
        p = pool()
        resp = await p.request("POST", server.url(), [], b"")
        assert resp.headers["x-multi"] == "a, b" and resp.headers["content-length"] == "4"
        await resp.read()
        await p.close()


async def test_chunked_bodies_stream_piece_by_piece() -> None:
    release = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-type: text/event-stream\r\n\r\n")
        writer.write(b"6\r\nfirst\n\r\n")
        await writer.drain()
        await release.wait()  # the second piece only after the client has seen the first
        writer.write(b"7\r\nsecond\n\r\n0\r\n\r\n")
        await writer.drain()
        await reader.read()

    async with Server(handler) as server:
        p = pool()
        resp = await p.request("POST", server.url(), [], b"{}")
        pieces = []
        async for chunk in resp.iter_chunks():
            pieces.append(chunk)
            release.set()
        resp.release()
        assert pieces == [b"first\n", b"second\n"]
        await p.close()


async def test_a_body_without_length_ends_when_the_server_closes() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nall of it")
        await writer.drain()

    async with Server(handler) as server:
        p = pool()
        resp = await p.request("POST", server.url(), [], b"")
        assert await resp.read() == b"all of it"
        assert p.open_connections == 0  # not kept: the server closed it
        await p.close()


async def test_gzip_bodies_are_decoded() -> None:
    payload = b'{"text": "' + b"z" * 5000 + b'"}'

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer(gzip.compress(payload), "content-encoding: gzip"))
        await writer.drain()
        await reader.read()

    async with Server(handler) as server:
        p = pool()
        resp = await p.request("POST", server.url(), [], b"")
        assert await resp.read() == payload
        await p.close()


async def test_a_connection_the_server_closed_while_idle_is_replaced_without_an_error() -> None:
    async def one_exchange_then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer(b"ok"))  # keep-alive promised …
        await writer.drain()
        # … but the server closes the idle connection right after (what idle timeouts do).

    async with Server(one_exchange_then_close) as server:
        p = pool()
        for _ in range(3):
            resp = await p.request("POST", server.url(), [], b"")
            assert await resp.read() == b"ok"
            await asyncio.sleep(0.05)
        await p.close()
    assert server.connections == 3


async def test_idle_connections_older_than_the_idle_timeout_are_not_reused() -> None:
    async with Server(echo_forever) as server:
        p = Http1Pool(connect_timeout=2, read_timeout=2, idle_timeout=0.1)
        await (await p.request("POST", server.url(), [], b"a")).read()
        await asyncio.sleep(0.2)
        await (await p.request("POST", server.url(), [], b"b")).read()
        await p.close()
    assert server.connections == 2


async def test_a_drop_mid_body_is_an_error_for_the_reader_and_never_a_short_success() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly part")
        await writer.drain()

    async with Server(handler) as server:
        p = pool()
        resp = await p.request("POST", server.url(), [], b"")
        with pytest.raises(HttpError):
            await resp.read()
        resp2 = await p.request("POST", server.url(), [], b"")
        with pytest.raises(HttpError):
            async for _ in resp2.iter_chunks():
                pass
        resp2.close()
        await p.close()


async def test_a_silent_server_times_out_before_and_after_the_headers() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(5)

    async def stalls_mid_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n")
        await writer.drain()
        await asyncio.sleep(5)

    p = pool(read=0.3)
    async with Server(silent) as server:
        with pytest.raises(HttpTimeout):
            await p.request("POST", server.url(), [], b"")
    async with Server(stalls_mid_body) as server:
        resp = await p.request("POST", server.url(), [], b"")
        got = []
        with pytest.raises(HttpTimeout):
            async for chunk in resp.iter_chunks():
                got.append(chunk)
        resp.close()
        assert got == [b"abc"]
    await p.close()


async def test_a_reader_that_stops_reading_pauses_the_socket_instead_of_buffering_everything() -> None:
    size = 8 << 20

    async def big(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % size)
        for _ in range(size // 65536):
            writer.write(b"x" * 65536)
            await writer.drain()

    async with Server(big) as server:
        p = pool(read=5)
        resp = await p.request("POST", server.url(), [], b"")
        await asyncio.sleep(0.5)  # the server would have sent everything by now if nothing pushed back
        assert resp._buffered < 2 * HIGH_WATER + (1 << 20)
        total = 0
        async for chunk in resp.iter_chunks():
            total += len(chunk)
        resp.release()
        assert total == size
        await p.close()


async def test_the_connection_limit_holds_a_slot_until_the_response_is_released() -> None:
    async with Server(echo_forever) as server:
        p = Http1Pool(connect_timeout=2, read_timeout=2, limit=1)
        first = await p.request("POST", server.url(), [], b"1")
        second = asyncio.ensure_future(p.request("POST", server.url(), [], b"2"))
        await asyncio.sleep(0.1)
        assert not second.done()
        assert await first.read() == b"got:1"  # read() releases: the slot passes on
        assert await (await asyncio.wait_for(second, 2)).read() == b"got:2"
        await p.close()


async def test_an_unread_response_closes_its_connection_rather_than_reusing_it() -> None:
    async with Server(echo_forever) as server:
        p = pool()
        resp = await p.request("POST", server.url(), [], b"1")
        resp.close()
        await (await p.request("POST", server.url(), [], b"2")).read()
        await p.close()
    assert server.connections == 2


async def test_interim_responses_are_skipped() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n" + answer(b"final"))
        await writer.drain()
        await reader.read()

    async with Server(handler) as server:
        p = pool()
        resp = await p.request("POST", server.url(), [], b"")
        assert resp.status == 200 and await resp.read() == b"final"
        await p.close()


async def test_refused_connections_malformed_responses_and_header_injection_are_errors() -> None:
    p = pool()
    async with Server(echo_forever) as server:
        url = server.url()
    with pytest.raises(HttpError):
        await p.request("POST", url, [], b"")  # nothing listens there any more

    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        await writer.drain()
        await reader.read()

    async with Server(garbage) as server:
        with pytest.raises(HttpError):
            await p.request("POST", server.url(), [], b"")
        with pytest.raises(HttpError):
            await p.request("POST", server.url(), [("anthropic-beta", "x\r\nx-evil: 1")], b"")
    await p.close()


def _self_signed() -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


async def test_tls_verifies_the_server_and_refuses_an_untrusted_one(tmp_path) -> None:
    cert_pem, key_pem = _self_signed()
    (tmp_path / "c.pem").write_bytes(cert_pem)
    (tmp_path / "k.pem").write_bytes(key_pem)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(tmp_path / "c.pem", tmp_path / "k.pem")
    async with Server(echo_forever, server_ctx) as server:
        trusting = ssl.create_default_context(cafile=str(tmp_path / "c.pem"))
        p = Http1Pool(connect_timeout=2, read_timeout=2, ssl_context=trusting)
        resp = await p.request("POST", server.url(scheme="https"), [], b"secret")
        assert await resp.read() == b"got:secret"
        await p.close()
        default = pool()  # the system trust store does not know this certificate
        with pytest.raises(HttpError, match="CERTIFICATE_VERIFY_FAILED"):
            await default.request("POST", server.url(scheme="https"), [], b"")
        await default.close()


async def test_connect_timeout_covers_a_tls_handshake_that_never_completes() -> None:
    async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)

    async with Server(mute) as server:
        p = pool(connect=0.3)
        with pytest.raises(HttpTimeout):
            await p.request("POST", server.url(scheme="https"), [], b"")
        await p.close()


async def test_a_request_cancelled_while_waiting_frees_its_slot_and_its_connection() -> None:
    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(0.5)
        writer.write(answer(b"late"))
        await writer.drain()
        await reader.read()

    async with Server(slow) as server:
        p = Http1Pool(connect_timeout=2, read_timeout=2, limit=1)
        pending = asyncio.ensure_future(p.request("POST", server.url(), [], b""))
        await asyncio.sleep(0.1)
        pending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await pending
        await asyncio.sleep(0)
        assert p.open_connections == 0
        resp = await asyncio.wait_for(p.request("POST", server.url(), [], b""), 2)  # the slot is free
        assert await resp.read() == b"late"
        await p.close()


async def test_a_request_cancelled_while_queued_for_a_slot_leaves_the_queue_working() -> None:
    async with Server(echo_forever) as server:
        p = Http1Pool(connect_timeout=2, read_timeout=2, limit=1)
        first = await p.request("POST", server.url(), [], b"1")
        gives_up = asyncio.ensure_future(p.request("POST", server.url(), [], b"2"))
        waits = asyncio.ensure_future(p.request("POST", server.url(), [], b"3"))
        await asyncio.sleep(0.05)
        gives_up.cancel()
        await first.read()
        assert await (await asyncio.wait_for(waits, 2)).read() == b"got:3"
        assert gives_up.cancelled()
        await p.close()
