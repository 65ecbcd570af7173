"""Fixtures of the error-path tests: one raw aiohttp session, and a fresh key per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.errors.support import Account, open_account


@pytest.fixture(scope="session")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout, auto_decompress=True) as session:
        yield session


@pytest.fixture
def account(gateway: Any, http: aiohttp.ClientSession):  # type: ignore[no-untyped-def]
    """``await account(usd=..., group=..., quota_usd=..., ip_whitelist=[...])`` → `Account`."""

    async def make(usd: str = "10", **spec: Any) -> Account:
        return await open_account(gateway, http, usd, **spec)

    return make
