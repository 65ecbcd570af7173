"""Fixtures of the billing tests: one two-gateway cluster on PostgreSQL + Redis for the session,
and an HTTP client without a connection cap (the overdraw tests fire 200 requests at once)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.billing.support import Cluster


@pytest.fixture(scope="session")
async def cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:
    c = Cluster(tmp_path_factory.mktemp("billing"))
    try:
        await c.start()
        yield c
    finally:
        await c.stop()


@pytest.fixture(scope="session")
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as s:
        yield s
