"""Real PostgreSQL and Redis for tests: found through the environment, skipped when absent on a
developer's machine, and a failure (never a skip) under CI=true."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest

PG_ADMIN_URL = os.environ.get("BYTESPIKE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BYTESPIKE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _unavailable(what: str, exc: BaseException) -> None:
    message = f"{what} is not reachable ({exc!r})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}; CI=true requires it", pytrace=False)
    pytest.skip(message)


async def create_pg_database() -> str:
    """A fresh, uniquely named PostgreSQL database; returns its URL."""
    import asyncpg

    name = f"bytespike_test_{uuid.uuid4().hex[:12]}"
    try:
        conn = await asyncio.wait_for(asyncpg.connect(PG_ADMIN_URL), 5)
    except Exception as exc:
        _unavailable("PostgreSQL", exc)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


async def drop_pg_database(url: str) -> None:
    import asyncpg

    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def redis_or_skip() -> str:
    import redis.asyncio as redis

    client = redis.from_url(REDIS_URL)
    try:
        await asyncio.wait_for(client.ping(), 5)
    except Exception as exc:
        _unavailable("Redis", exc)
    finally:
        await client.aclose()
    return REDIS_URL


async def drop_redis_prefix(prefix: str) -> None:
    """Delete every Redis name a test created under its own ``prefix``."""
    import redis.asyncio as redis

    client = redis.from_url(REDIS_URL)
    try:
        names = [k async for k in client.scan_iter(match=prefix + "*")]
        if names:
            await client.delete(*names)
    finally:
        await client.aclose()
