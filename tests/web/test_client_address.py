"""The client address a key's IP lists are checked against, through a real ``bytespike serve``.

No trusted proxy is configured in these tests, so ``X-Forwarded-For`` must be ignored even from
127.0.0.1: uvicorn's own proxy-headers middleware trusts it from there by default, which would
let anyone on the host claim any address (issue 4 #2: "X-Forwarded-For trusted only from
configured proxy networks")."""

from __future__ import annotations

from typing import Any

import aiohttp

BODY = {"model": "gpt-5-4", "messages": [{"role": "user", "content": "hi"}]}


async def _call(gateway, secret: str, forwarded_for: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.post(
        gateway.url + "/v1/chat/completions",
        json=BODY,
        headers={"authorization": f"Bearer {secret}", "x-forwarded-for": forwarded_for},
    ) as resp:
        return resp.status, await resp.json()


async def test_a_forwarded_address_from_an_untrusted_peer_grants_nothing(gateway) -> None:
    key = await gateway.funded_key(ip_whitelist=["203.0.113.0/24"])
    status, body = await _call(gateway, key.secret, "203.0.113.9")
    assert status == 403, body
    assert body["error"]["code"] == "permission_denied"


async def test_a_forwarded_address_from_an_untrusted_peer_is_not_held_against_it(gateway) -> None:
    key = await gateway.funded_key(ip_blacklist=["203.0.113.0/24"])
    status, body = await _call(gateway, key.secret, "203.0.113.9")
    assert status == 200, body
