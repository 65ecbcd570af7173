"""The management request budget and key-change notices, in memory and on the local Redis."""

from __future__ import annotations

import asyncio
import uuid

from bytespike.state.key_events import KeyEvents
from bytespike.state.request_budget import MemoryBudget, RedisBudget
from tests.support.services import redis_or_skip


async def test_memory_budget_is_a_token_bucket_per_key() -> None:
    budget = MemoryBudget(per_minute=60)
    assert all([await budget.take("a", now=0.0) is None for _ in range(60)])
    wait = await budget.take("a", now=0.0)
    assert wait is not None and 0.9 < wait <= 1.0
    assert await budget.take("b", now=0.0) is None
    assert await budget.take("a", now=1.0) is None  # one token back per second


async def test_redis_budget_is_shared_between_processes() -> None:
    url = await redis_or_skip()
    one, two = RedisBudget(url, per_minute=3), RedisBudget(url, per_minute=3)
    key = f"test-{uuid.uuid4().hex}"
    try:
        results = [await one.take(key), await two.take(key), await one.take(key), await two.take(key)]
        assert results[:3] == [None, None, None] and results[3] is not None and results[3] > 0
    finally:
        await one.close()
        await two.close()


async def test_redis_budgets_live_under_the_configured_prefix() -> None:
    """``BYTESPIKE_REDIS_PREFIX`` separates deployments sharing one Redis: same prefix, one
    budget; another prefix, another budget; and the counter's name carries the prefix."""
    import redis.asyncio as aioredis

    url = await redis_or_skip()
    mine, theirs = f"bstest:{uuid.uuid4().hex[:8]}:", f"bstest:{uuid.uuid4().hex[:8]}:"
    a, b, other = (RedisBudget(url, per_minute=2, prefix=p) for p in (mine, mine, theirs))
    key = f"key:{uuid.uuid4().hex[:8]}"
    client = aioredis.Redis.from_url(url)
    try:
        assert [await a.take(key), await b.take(key)] == [None, None]
        assert await a.take(key) is not None, "the same prefix shares one budget"
        assert await other.take(key) is None, "another prefix has its own"
        names = [k.decode() async for k in client.scan_iter(match=mine + "*")]
        assert len(names) == 1 and names[0].startswith(f"{mine}mgmt:{key}:")
        assert [k async for k in client.scan_iter(match=f"bytespike:mgmt:{key}:*")] == []
    finally:
        keys = [k async for k in client.scan_iter(match=f"bstest:*mgmt:{key}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
        for budget in (a, b, other):
            await budget.close()


async def test_key_events_stay_within_their_prefix() -> None:
    url = await redis_or_skip()
    mine, theirs = f"bstest:{uuid.uuid4().hex[:8]}:", f"bstest:{uuid.uuid4().hex[:8]}:"
    seen: dict[str, list[int]] = {"peer": [], "stranger": []}
    sender = KeyEvents(lambda: None, url, prefix=mine)
    peer = KeyEvents(lambda: seen["peer"].append(1), url, prefix=mine)
    stranger = KeyEvents(lambda: seen["stranger"].append(1), url, prefix=theirs)
    for events in (sender, peer, stranger):
        await events.start()
    try:
        assert sender.channel == mine + "keys:changed"
        before = {name: len(v) for name, v in seen.items()}
        await sender.publish()
        for _ in range(100):
            if len(seen["peer"]) > before["peer"]:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)  # time for a stray delivery to the other prefix
        assert len(seen["peer"]) > before["peer"]
        assert len(seen["stranger"]) == before["stranger"]
    finally:
        for events in (sender, peer, stranger):
            await events.close()


async def test_key_events_reach_every_subscriber() -> None:
    url = await redis_or_skip()
    seen_a: list[int] = []
    seen_b: list[int] = []
    a = KeyEvents(lambda: seen_a.append(1), url)
    b = KeyEvents(lambda: seen_b.append(1), url)
    await a.start()
    await b.start()
    try:
        before_a, before_b = len(seen_a), len(seen_b)
        await a.publish()
        for _ in range(100):
            if len(seen_b) > before_b:
                break
            await asyncio.sleep(0.01)
        assert len(seen_b) > before_b and len(seen_a) > before_a
    finally:
        await a.close()
        await b.close()


async def test_without_redis_only_this_process_is_told() -> None:
    seen: list[int] = []
    events = KeyEvents(lambda: seen.append(1))
    await events.start()
    await events.publish()
    await events.close()
    assert seen == [1] and not events.is_shared
