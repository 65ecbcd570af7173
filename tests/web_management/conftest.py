"""In-process gateways on a fresh SQLite file and a fresh PostgreSQL database: ``api`` is one per
test; ``shared_api`` is one per module and backend, for tests that only add rows of their own."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.services import create_pg_database, drop_pg_database
from tests.web_management.support import Api


@pytest.fixture
async def api(database_url: str, tmp_path) -> AsyncIterator[Api]:
    server = Api(database_url, tmp_path)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def shared_api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Api]:
    tmp = tmp_path_factory.mktemp("shared")
    url = f"sqlite:///{tmp / 'bytespike.db'}" if request.param == "sqlite" else await create_pg_database()
    server = Api(url, tmp)
    try:
        await server.start()
        yield server
    finally:
        await server.stop()
        if request.param == "postgresql":
            await drop_pg_database(url)
