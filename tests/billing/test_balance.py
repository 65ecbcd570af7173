"""``/v1/balance`` and ``/api/v1/me/account`` read the hot state live (spec §3.9.1, §9 #1):
``available`` is net of the holds of requests in flight in any process and returns to the full
balance when they fail; the spend window is the tightest of the key's whole chain, with its
reset, exactly as the ``X-RateLimit-*`` headers of the same reply say."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from bytespike.money import micros_to_usd
from tests.billing.support import Cluster
from tests.errors.support import OPENAI, Resp, call, send

SLOW_FAILURE = "Hi [[sim:latency_ms=700,error=502]]"
"""Slow enough to be seen in flight, within the cluster's 1 s upstream read timeout."""


async def _get(client: aiohttp.ClientSession, base: str, path: str, secret: str) -> Resp:
    r = await send(client, base, "GET", path, headers=[("authorization", f"Bearer {secret}")])
    assert r.status == 200, r
    return r


async def _held_while_in_flight(client: aiohttp.ClientSession, base: str, secret: str) -> dict[str, Any]:
    """Poll /v1/balance until a hold shows (the slow request has been admitted)."""
    for _ in range(100):
        wallet = (await _get(client, base, "/v1/balance", secret)).json()["wallet"]
        if wallet["held_micros"]:
            return wallet
        await asyncio.sleep(0.01)
    raise AssertionError("the in-flight request's hold never showed")


async def _full_again(client: aiohttp.ClientSession, base: str, secret: str, balance: int) -> None:
    """The failure's release runs in the background: give it a moment, then both endpoints
    show the whole balance again."""
    for _ in range(100):
        wallet = (await _get(client, base, "/v1/balance", secret)).json()["wallet"]
        if wallet["held_micros"] == 0:
            break
        await asyncio.sleep(0.01)
    assert (wallet["held_micros"], wallet["available_micros"], wallet["held_usd"]) == (0, balance, 0.0)
    account = (await _get(client, base, "/api/v1/me/account", secret)).json()["balance"]
    assert account["available_usd"] == balance / 1_000_000


async def _hold_shows_then_goes(client: aiohttp.ClientSession, slow_base: str, read_base: str, secret: str) -> None:
    balance = 10_000_000
    slow = asyncio.create_task(call(client, slow_base, OPENAI, secret, text=SLOW_FAILURE))
    wallet = await _held_while_in_flight(client, read_base, secret)
    held = wallet["held_micros"]
    assert wallet["available_micros"] == balance - held and wallet["balance_usd"] == 10.0
    account = (await _get(client, read_base, "/api/v1/me/account", secret)).json()["balance"]
    assert account["available_usd"] == round((balance - held) / 1_000_000, 2)
    assert not slow.done(), "the request was still in flight while the hold was read"
    failed = await slow
    assert failed.status == 502
    await _full_again(client, read_base, secret, balance)


async def test_available_is_net_of_a_running_requests_hold_on_the_embedded_default(gateway, client) -> None:
    key = await gateway.funded_key("10")
    assert (await _get(client, gateway.url, "/v1/balance", key.secret)).json()["wallet"]["held_micros"] == 0
    await _hold_shows_then_goes(client, gateway.url, gateway.url, key.secret)


async def test_available_is_net_of_a_hold_placed_by_another_process(cluster: Cluster, client) -> None:
    key = await cluster.funded_key("10")
    await _hold_shows_then_goes(client, cluster.url(0), cluster.url(1), key.secret)


async def test_balance_window_is_the_tightest_of_the_chain_as_the_headers_say(cluster: Cluster, client) -> None:
    _, _, email = await cluster.user("10")
    parent = await cluster.key(
        email,
        rate_limit_5h_usd="1",
        scopes=["inference", "billing:read", "keys:read", "keys:write"],
    )
    created = await send(
        client,
        cluster.url(0),
        "POST",
        "/api/v1/keys",
        json={"name": "child", "parent_key_id": parent.key_id, "rate_limit_1d": 5, "scopes": ["inference", "billing:read"]},
        headers=[("authorization", f"Bearer {parent.secret}")],
    )
    assert created.status == 201, created
    child = created.json()  # inherits the 5 h cap of $1; the parent's window also counts its own spend
    assert (await call(client, cluster.url(1), OPENAI, parent.secret)).status == 200
    spent = await call(client, cluster.url(0), OPENAI, child["key"])
    assert spent.status == 200
    for base in (cluster.url(0), cluster.url(1)):
        r = await _get(client, base, "/v1/balance", child["key"])
        b = r.json()
        window = b["window"]
        assert (window["window"], window["key_id"]) == ("5h", parent.key_id), "the parent's cap is the tighter"
        assert micros_to_usd(window["limit_micros"]) == r.headers["x-ratelimit-limit"] == "1.00"
        assert micros_to_usd(window["remaining_micros"]) == r.headers["x-ratelimit-remaining"]
        assert window["reset"] == int(r.headers["x-ratelimit-reset"]) and window["reset"] > 0
        assert window["remaining_usd"] == float(r.headers["x-ratelimit-remaining"])
        assert window["remaining_micros"] == 1_000_000 - window["used_micros"] and window["used_micros"] > 0
        assert r.headers["x-ratelimit-remaining"] == spent.headers["x-ratelimit-remaining"]
        assert sorted((w["key_id"], w["window"]) for w in b["windows"]) == sorted(
            [(parent.key_id, "5h"), (child["id"], "5h"), (child["id"], "1d")]
        )
