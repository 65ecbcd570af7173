"""PostgreSQL and Redis for the scenarios that measure the scaled-out configuration.

The servers are the machine's own (``BENCH_POSTGRES_URL``, default
``postgresql://postgres@127.0.0.1:5432/postgres``, and ``BENCH_REDIS_URL``, default
``redis://127.0.0.1:6379/0``): each run creates a database of its own and uses a Redis key prefix
of its own, and drops the database afterwards, so it never touches anything else there.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


class ServiceMissing(RuntimeError):
    """PostgreSQL or Redis is not reachable."""


async def _admin(sql: str) -> None:
    import asyncpg

    try:
        conn = await asyncio.wait_for(asyncpg.connect(ADMIN_URL), 5)
    except Exception as exc:
        raise ServiceMissing(f"PostgreSQL at {ADMIN_URL} is not reachable ({exc!r})") from exc
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _ping_redis() -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        await asyncio.wait_for(client.ping(), 5)
    except Exception as exc:
        raise ServiceMissing(f"Redis at {REDIS_URL} is not reachable ({exc!r})") from exc
    finally:
        await client.aclose()


async def _drop_prefix(prefix: str) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        keys = [k async for k in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@contextmanager
def postgres_and_redis() -> Iterator[dict[str, str]]:
    """The gateway environment for a fresh database and a private Redis prefix; cleaned up after."""
    name = f"bytespike_bench_{uuid.uuid4().hex[:10]}"
    prefix = f"bytespike-bench-{uuid.uuid4().hex[:8]}:"
    asyncio.run(_ping_redis())
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield {
            "BYTESPIKE_DATABASE_URL": ADMIN_URL.rsplit("/", 1)[0] + "/" + name,
            "BYTESPIKE_REDIS_URL": REDIS_URL,
            "BYTESPIKE_REDIS_PREFIX": prefix,
        }
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        asyncio.run(_drop_prefix(prefix))
