"""A real ``bytespike serve`` with no trusted proxy configured ignores ``X-Forwarded-For`` for
IP allow/deny lists (spec §2.3: the address comes from the socket): the header can neither
claim an allowed address nor hide a denied one. (uvicorn's own proxy-header handling would
trust it from 127.0.0.1; serve.py turns that off.)"""

from __future__ import annotations

import aiohttp

from tests.errors.support import OPENAI, auth, body, route


async def test_forwarded_for_from_an_untrusted_peer_cannot_change_the_address(gateway) -> None:
    allow_other = await gateway.funded_key("1", ip_whitelist=["203.0.113.0/24"])
    deny_local = await gateway.funded_key("1", ip_blacklist=["127.0.0.1"])
    async with aiohttp.ClientSession() as http:
        for key, claimed in ((allow_other, "203.0.113.5"), (deny_local, "198.51.100.1")):
            async with http.post(
                gateway.url + route(OPENAI),
                json=body(OPENAI, "hi"),
                headers=[*auth(OPENAI, key.secret), ("x-forwarded-for", claimed)],
            ) as r:
                error = (await r.json())["error"]
                assert r.status == 403 and error["code"] == "permission_denied", error
                assert "127.0.0.1" in error["message"] and claimed not in error["message"]
