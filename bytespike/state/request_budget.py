"""Per-key request budgets for the free management API (spec §3.9: "~600/min per key").

`MemoryBudget` is a token bucket in this process; `RedisBudget` shares one fixed one-minute
window per key between every process. Both answer `take(key)` with ``None`` (allowed) or the
seconds to wait. A Redis failure lets the call through: these calls cost nothing, and refusing
every management call because Redis blinked would be worse than a brief lack of throttling.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

log = logging.getLogger("bytespike.state")


class RequestBudget(Protocol):
    async def take(self, key: str) -> float | None: ...

    async def close(self) -> None: ...


class MemoryBudget:
    def __init__(self, per_minute: int) -> None:
        self._capacity = float(per_minute)
        self._rate = per_minute / 60.0
        self._buckets: dict[str, tuple[float, float]] = {}

    async def take(self, key: str, now: float | None = None) -> float | None:
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.get(key, (self._capacity, now))
        tokens = min(self._capacity, tokens + (now - last) * self._rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self._rate
        if len(self._buckets) > 100_000:
            self._buckets.clear()
        self._buckets[key] = (tokens - 1.0, now)
        return None

    async def close(self) -> None:
        return None


class RedisBudget:
    def __init__(self, redis_url: str, per_minute: int, *, prefix: str = "bytespike:") -> None:
        import redis.asyncio as redis

        self._redis: Any = redis.from_url(redis_url)
        self._limit = per_minute
        self._prefix = prefix
        """``BYTESPIKE_REDIS_PREFIX``: deployments sharing one Redis keep separate budgets."""

    async def take(self, key: str) -> float | None:
        now = time.time()
        window = int(now // 60)
        name = f"{self._prefix}mgmt:{key}:{window}"
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(name)
                pipe.expire(name, 120)
                count, _ = await pipe.execute()
        except Exception as exc:
            log.warning("management rate limit unavailable (%s); allowing the call", exc)
            return None
        if int(count) > self._limit:
            return (window + 1) * 60 - now
        return None

    async def close(self) -> None:
        await self._redis.aclose()
