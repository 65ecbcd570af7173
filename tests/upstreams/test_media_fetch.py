"""The guarded media fetcher against a local server: what it fetches, and every refusal."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from bytespike.upstreams.media_fetch import MediaFetcher, MediaFetchError, MediaPolicy

PNG = b"\x89PNG\r\n\x1a\n" + bytes(100)
LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


async def _png(request: web.Request) -> web.Response:
    return web.Response(body=PNG, content_type="image/png")


async def _html(request: web.Request) -> web.Response:
    return web.Response(text="<html></html>", content_type="text/html")


async def _big_chunked(request: web.Request) -> web.StreamResponse:
    """2,000 bytes without a Content-Length, so only counting the body can stop it."""
    resp = web.StreamResponse(headers={"content-type": "image/png"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    for _ in range(20):
        await resp.write(bytes(100))
    await resp.write_eof()
    return resp


async def _slow(request: web.Request) -> web.Response:
    await asyncio.sleep(5)
    return web.Response(body=PNG, content_type="image/png")


async def _redirect(request: web.Request) -> web.Response:
    raise web.HTTPFound(request.query["to"])


@pytest.fixture
async def server() -> AsyncIterator[str]:
    app = web.Application()
    app.add_routes(
        [
            web.get("/png", _png),
            web.get("/html", _html),
            web.get("/big", _big_chunked),
            web.get("/slow", _slow),
            web.get("/redirect", _redirect),
        ]
    )
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def _fetch(policy: MediaPolicy, url: str, accept: tuple[str, ...] = ("image/",)):  # type: ignore[no-untyped-def]
    fetcher = MediaFetcher(policy)
    try:
        return await fetcher.fetch(url, accept)
    finally:
        await fetcher.close()


async def _refused(policy: MediaPolicy, url: str, reason: str, accept: tuple[str, ...] = ("image/",)) -> None:
    with pytest.raises(MediaFetchError, match=reason):
        await _fetch(policy, url, accept)


async def test_an_allowed_address_is_fetched(server: str) -> None:
    fetched = await _fetch(MediaPolicy(allow_networks=LOOPBACK), server + "/png")
    assert (fetched.media_type, fetched.data) == ("image/png", PNG)


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/x.png",
        "http://192.168.1.1/x.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/x.png",
        "http://[::1]/x.png",
        "http://[::ffff:127.0.0.1]/x.png",
        "http://[fe80::1]/x.png",
        "http://0.0.0.0/x.png",
    ],
)
async def test_a_non_public_address_is_refused_before_connecting(url: str) -> None:
    await _refused(MediaPolicy(timeout_s=2), url, "is not a public address")


async def test_a_name_is_checked_after_resolution(server: str) -> None:
    """localhost is a name: the resolver the connection uses refuses its loopback addresses."""
    port = server.rsplit(":", 1)[1]
    await _refused(
        MediaPolicy(), f"http://localhost:{port}/png", "localhost resolves to .*not a public address"
    )
    fetched = await _fetch(MediaPolicy(allow_networks=LOOPBACK), f"http://localhost:{port}/png")
    assert fetched.data == PNG


@pytest.mark.parametrize(
    "url", ["ftp://example.com/x.png", "file:///etc/passwd", "data:image/png;base64,AAAA"]
)
async def test_only_http_urls(url: str) -> None:
    await _refused(MediaPolicy(), url, "only http and https")


async def test_size_cap_holds_without_a_content_length(server: str) -> None:
    policy = MediaPolicy(allow_networks=LOOPBACK, max_bytes=1000)
    await _refused(policy, server + "/big", "over the 1000-byte limit")
    await _refused(
        MediaPolicy(allow_networks=LOOPBACK, max_bytes=50), server + "/png", "over the 50-byte limit"
    )


async def test_content_type_must_match(server: str) -> None:
    policy = MediaPolicy(allow_networks=LOOPBACK)
    await _refused(policy, server + "/html", "content type is text/html, not image/\\*")
    await _refused(policy, server + "/png", "not application/pdf", accept=("application/pdf",))


async def test_redirects_are_checked_again(server: str) -> None:
    policy = MediaPolicy(allow_networks=LOOPBACK)
    fetched = await _fetch(policy, f"{server}/redirect?to={server}/png")
    assert fetched.data == PNG
    await _refused(policy, f"{server}/redirect?to=http://169.254.169.254/", "169.254.169.254 is not a public")
    loop = f"{server}/redirect?to=/redirect%3Fto%3D/redirect%253Fto%253D/redirect%25253Fto%25253D/png"
    await _refused(policy, loop, "more than 3 redirects")


async def test_timeout_and_errors(server: str) -> None:
    await _refused(MediaPolicy(allow_networks=LOOPBACK, timeout_s=0.3), server + "/slow", "within 0.3 s")
    await _refused(MediaPolicy(allow_networks=LOOPBACK), server + "/missing", "HTTP 404")
