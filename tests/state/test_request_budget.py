"""`RedisBucketBudget`: one token bucket for every process, refilled like `MemoryBudget`, and an
in-process bucket when Redis cannot be reached (sign-in attempts stay throttled)."""

from __future__ import annotations

import uuid

from bytespike.state.request_budget import RedisBucketBudget
from tests.support.processes import free_port
from tests.support.services import redis_or_skip


async def test_the_bucket_is_shared_and_refills() -> None:
    url = await redis_or_skip()
    prefix = f"test-{uuid.uuid4().hex}:"
    one = RedisBucketBudget(url, 6, prefix=prefix)
    two = RedisBucketBudget(url, 6, prefix=prefix)
    try:
        taken = [await (one if i % 2 else two).take("k") for i in range(7)]
        assert taken[:6] == [None] * 6
        wait = taken[6]
        assert wait is not None and 0 < wait <= 10  # a token every 10 s
        assert await one.take("other") is None  # per key
    finally:
        await one.close()
        await two.close()


async def test_an_unreachable_redis_falls_back_to_a_bucket_in_this_process() -> None:
    budget = RedisBucketBudget(f"redis://127.0.0.1:{free_port()}/0", 2, prefix="x:", timeout_s=0.5)
    try:
        taken = [await budget.take("k") for _ in range(3)]
        assert taken[:2] == [None, None] and taken[2] is not None and taken[2] > 0
    finally:
        await budget.close()
