"""Request budgets: the free management API's (spec §3.9: "~600/min per key") and the console's
sign-in attempts.

`MemoryBudget` is a token bucket in this process; `RedisBudget` shares one fixed one-minute
window per key between every process; `RedisBucketBudget` shares a token bucket with the same
refill as `MemoryBudget` (no burst at a window's edge, for limits that guard passwords). All
answer `take(key)` with ``None`` (allowed) or the seconds to wait. A Redis failure lets a
management call through: these calls cost nothing, and refusing every management call because
Redis blinked would be worse than a brief lack of throttling. `RedisBucketBudget` falls back to
its in-process bucket instead, so guessing passwords stays throttled per process.
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


# KEYS[1] bucket; ARGV capacity, refill per second, now (s). Returns the wait in seconds ("0": allowed).
_TAKE_TOKEN = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or capacity
local ts = tonumber(state[2]) or now
if now > ts then
  tokens = math.min(capacity, tokens + (now - ts) * rate)
  ts = now
end
local wait = 0
if tokens < 1 then
  wait = (1 - tokens) / rate
else
  tokens = tokens - 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(ts))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 1)
return tostring(wait)
"""


class RedisBucketBudget:
    """`MemoryBudget`'s token bucket, shared by every process through Redis (one script call)."""

    def __init__(self, redis_url: str, per_minute: int, *, prefix: str, timeout_s: float = 2.0) -> None:
        import redis.asyncio as redis

        self._redis: Any = redis.from_url(
            redis_url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )
        self._script = self._redis.register_script(_TAKE_TOKEN)
        self._capacity = per_minute
        self._rate = per_minute / 60.0
        self._prefix = prefix
        self._fallback = MemoryBudget(per_minute)

    async def take(self, key: str) -> float | None:
        try:
            wait = float(
                await self._script(keys=[self._prefix + key], args=[self._capacity, self._rate, time.time()])
            )
        except Exception as exc:
            log.warning("shared budget %s unavailable (%s); limiting in this process", self._prefix, exc)
            return await self._fallback.take(key)
        return wait if wait > 0 else None

    async def close(self) -> None:
        await self._redis.aclose()
