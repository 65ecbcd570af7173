"""Concurrency caps per account (spec §5.2): cap + 1 simultaneous streams across two gateway
processes → exactly one 429 ``concurrency_limit``; once they end, the whole cap is free again."""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
import sqlalchemy as sa

from bytespike.access.issuance import create_user
from bytespike.accounting.meter import TIER_CONCURRENCY
from bytespike.storage.schema import users
from tests.billing.support import Cluster
from tests.errors.support import ANTHROPIC, GEMINI, OPENAI, Err, Resp, call, check_error_object

SLOW = "Stream slowly. [[sim:chunks=10,chunk_delay_ms=100,words=10]]"
CONCURRENCY = Err(429, "concurrency_limit", "rate_limit_error", "rate_limit_error", "RESOURCE_EXHAUSTED")
PROTOS = (ANTHROPIC, OPENAI, GEMINI)


async def streams(client: aiohttp.ClientSession, cluster: Cluster, secret: str, n: int) -> list[tuple[str, Resp]]:
    async def one(i: int) -> tuple[str, Resp]:
        proto = PROTOS[i % 3]
        return proto, await call(client, cluster.url(i), proto, secret, stream=True, text=SLOW, max_tokens=32)

    return await asyncio.gather(*(one(i) for i in range(n)))


async def test_cap_plus_one_streams_get_exactly_one_429_and_the_cap_comes_back(cluster: Cluster, client) -> None:
    cap = TIER_CONCURRENCY["free"]
    key = await cluster.funded_key("5", concurrency=None)  # the free tier's cap
    results = await streams(client, cluster, key.secret, cap + 1)
    refused = [(p, r) for p, r in results if r.status == 429]
    assert len(refused) == 1, [r.status for _, r in results]
    assert all(r.status == 200 for _, r in results if r.status != 429)
    proto, resp = refused[0]
    check_error_object(proto, resp.json(), CONCURRENCY, contains=["concurrency_limit", f"limit {cap}"])
    assert resp.headers["retry-after"] == "1"
    await cluster.assert_nothing_held(key.wallet_id, [key.key_id], [key.user_id])
    again = await streams(client, cluster, key.secret, cap)
    assert [r.status for _, r in again] == [200] * cap, "the whole cap is available again"
    rows = await cluster.usage_rows(key_id=key.key_id)
    assert len(rows) == 2 * cap, "the refused request is free"


async def test_the_cap_follows_the_tier_and_the_limit_an_admin_sets(cluster: Cluster, client) -> None:
    """Enterprise is "custom" (spec §4.7): an admin sets the account's own limit through
    PATCH /api/v1/admin/users/{id}, and null gives the tier's back; every process applies it."""
    key = await cluster.funded_key("5", concurrency=None)
    admin = await create_user(cluster.engine, email=f"admin-{uuid.uuid4().hex[:8]}@example.test", password=None, admin=True)
    admin_key = await cluster.key(admin.email, scopes=["admin"])

    async def patch(body: dict) -> dict:
        async with client.patch(
            cluster.url(0) + f"/api/v1/admin/users/{key.user_id}",
            json=body,
            headers={"authorization": f"Bearer {admin_key.secret}"},
        ) as resp:
            assert resp.status == 200, await resp.text()
            return await resp.json()

    user = await patch({"tier": "pro", "concurrency_limit": 2})
    assert (user["tier"], user["concurrency_limit"]) == ("pro", 2)
    await asyncio.sleep(2.2)  # the processes re-read the account's cap after BYTESPIKE_WALLET_CACHE_TTL
    results = await streams(client, cluster, key.secret, 3)
    assert sorted(r.status for _, r in results) == [200, 200, 429], "the account's own limit wins over the tier"
    assert (await patch({"concurrency_limit": None}))["concurrency_limit"] is None
    await asyncio.sleep(2.2)
    results = await streams(client, cluster, key.secret, 8)
    assert [r.status for _, r in results] == [200] * 8, "pro allows 25"
    async with cluster.engine.connect() as conn:
        assert (await conn.execute(sa.select(users.c.tier).where(users.c.id == key.user_id))).scalar_one() == "pro"


async def test_keys_of_one_account_share_its_slots(cluster: Cluster, client) -> None:
    user_id, _, email = await cluster.user("5", concurrency=2)
    a, b = await cluster.key(email), await cluster.key(email)
    assert a.user_id == b.user_id == user_id
    results = await asyncio.gather(
        call(client, cluster.url(0), OPENAI, a.secret, stream=True, text=SLOW),
        call(client, cluster.url(1), OPENAI, b.secret, stream=True, text=SLOW),
        call(client, cluster.url(0), OPENAI, b.secret, stream=True, text=SLOW),
    )
    assert sorted(r.status for r in results) == [200, 200, 429]
