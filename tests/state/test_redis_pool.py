"""Many concurrent requests share a bounded set of Redis connections and wait for one; they are
never told that Redis is unreachable just because every connection is busy."""

from __future__ import annotations

import asyncio
import uuid

from bytespike.state.hot import KeyCaps
from bytespike.state.redis import RedisState
from tests.support.services import drop_redis_prefix, redis_or_skip


async def test_more_concurrent_calls_than_connections_all_succeed() -> None:
    url = await redis_or_skip()
    prefix = f"bstest:{uuid.uuid4().hex[:10]}:"
    state = RedisState(url, prefix=prefix, max_connections=4)
    try:
        await state.start()
        calls = [state.observe(1, (KeyCaps(10, 0),)) for _ in range(300)]
        results = await asyncio.gather(*calls, return_exceptions=True)
        assert [r for r in results if isinstance(r, BaseException)] == []
        assert all(r.missing for r in results), "nothing loaded yet: every call says what is missing"
    finally:
        await state.close()
        await drop_redis_prefix(prefix)


async def test_the_default_pool_takes_more_than_a_hundred_concurrent_calls() -> None:
    """redis-py's own default pool fails the 101st concurrent call (MaxConnectionsError)."""
    url = await redis_or_skip()
    prefix = f"bstest:{uuid.uuid4().hex[:10]}:"
    state = RedisState(url, prefix=prefix)
    try:
        await state.start()
        results = await asyncio.gather(
            *[state.observe(1, (KeyCaps(10, 0),)) for _ in range(300)], return_exceptions=True
        )
        assert [r for r in results if isinstance(r, BaseException)] == []
    finally:
        await state.close()
        await drop_redis_prefix(prefix)
