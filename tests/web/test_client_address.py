"""The client address a key's IP lists are checked against (web/client_address.py), through a
real ``bytespike serve``.

The session gateway configures no trusted proxy, so ``X-Forwarded-For`` must be ignored even from
127.0.0.1: uvicorn's own proxy-headers middleware trusts it from there by default, which would
let anyone on the host claim any address (issue 4 #2: "X-Forwarded-For trusted only from
configured proxy networks"). A second gateway trusts 127.0.0.0/8 (where the tests connect from)
and must take the client from the header, on the inference surfaces as on the others."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bytespike.web.client_address import client_ip
from tests.support.gateway import GatewayHarness

BODY = {"model": "gpt-5-4", "messages": [{"role": "user", "content": "hi"}]}
LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)


async def _call(gateway, secret: str, *forwarded_for: str) -> tuple[int, Any]:
    headers = [("authorization", f"Bearer {secret}"), *(("x-forwarded-for", h) for h in forwarded_for)]
    async with aiohttp.ClientSession() as session, session.post(
        gateway.url + "/v1/chat/completions", json=BODY, headers=headers
    ) as resp:
        return resp.status, await resp.json()


@pytest.fixture(scope="module")
async def proxied_gateway(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[GatewayHarness]:
    harness = GatewayHarness(
        tmp_path_factory.mktemp("proxied-gateway"), extra_env={"BYTESPIKE_TRUSTED_PROXIES": "127.0.0.0/8"}
    )
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


async def test_a_forwarded_address_from_an_untrusted_peer_grants_nothing(gateway) -> None:
    key = await gateway.funded_key(ip_whitelist=["203.0.113.0/24"])
    status, body = await _call(gateway, key.secret, "203.0.113.9")
    assert status == 403, body
    assert body["error"]["code"] == "permission_denied"


async def test_a_forwarded_address_from_an_untrusted_peer_is_not_held_against_it(gateway) -> None:
    key = await gateway.funded_key(ip_blacklist=["203.0.113.0/24"])
    status, body = await _call(gateway, key.secret, "203.0.113.9")
    assert status == 200, body


# ---------------------------------------------------------------- behind a trusted proxy


async def test_a_trusted_proxy_s_forwarded_address_is_the_client(proxied_gateway) -> None:
    allowed = await proxied_gateway.funded_key(ip_whitelist=["203.0.113.0/24"])
    status, body = await _call(proxied_gateway, allowed.secret, "203.0.113.9")
    assert status == 200, body
    denied = await proxied_gateway.funded_key(ip_blacklist=["203.0.113.0/24"])
    status, body = await _call(proxied_gateway, denied.secret, "203.0.113.9")
    assert status == 403 and "203.0.113.9" in body["error"]["message"], body


async def test_the_client_is_the_rightmost_hop_that_is_not_a_trusted_proxy(proxied_gateway) -> None:
    """What the caller wrote itself (left of the first proxy's entry) claims nothing, also when a
    proxy appended its entry as a second header line."""
    key = await proxied_gateway.funded_key(ip_whitelist=["203.0.113.0/24"])
    assert (await _call(proxied_gateway, key.secret, "198.51.100.1, 203.0.113.9, 127.0.0.5"))[0] == 200
    status, body = await _call(proxied_gateway, key.secret, "203.0.113.9", "198.51.100.1")
    assert status == 403 and "198.51.100.1" in body["error"]["message"], body


@pytest.mark.parametrize("path", ["/v1/models", "/v1/balance"])
async def test_the_models_list_and_the_management_api_read_the_same_address(proxied_gateway, path: str) -> None:
    key = await proxied_gateway.funded_key(ip_whitelist=["203.0.113.0/24"])
    async with aiohttp.ClientSession() as session:
        for forwarded, expected in (("203.0.113.9", 200), ("198.51.100.1", 403)):
            async with session.get(
                proxied_gateway.url + path,
                headers={"authorization": f"Bearer {key.secret}", "x-forwarded-for": forwarded},
            ) as resp:
                assert resp.status == expected, (forwarded, await resp.text())


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("10.0.0.1", [b"203.0.113.9"], "10.0.0.1"),  # not a trusted peer: the header is ignored
        ("127.0.0.1", [], "127.0.0.1"),
        ("127.0.0.1", [b"203.0.113.9, 127.0.0.2"], "203.0.113.9"),
        ("127.0.0.1", [b"127.0.0.3, 127.0.0.2"], "127.0.0.1"),  # proxies only
        ("127.0.0.1", [b"203.0.113.9, not-an-address"], "127.0.0.1"),  # malformed hop
        ("127.0.0.1", [b"203.0.113.9", b"198.51.100.1"], "198.51.100.1"),
        ("/run/bytespike.sock", [b"203.0.113.9"], "/run/bytespike.sock"),
    ],
)
def test_client_ip(peer: str, forwarded: list[bytes], expected: str) -> None:
    scope = {"client": (peer, 1234), "headers": [(b"x-forwarded-for", v) for v in forwarded]}
    assert client_ip(scope, LOOPBACK) == expected
    assert client_ip(scope, ()) == peer
