"""Fixtures shared by the whole suite: databases on both backends, real processes."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from hypothesis import settings as hypothesis_settings

from bytespike.storage.engine import create_engine, upgrade
from tests.support.services import create_pg_database, drop_pg_database

# CI replays the same examples every run (a red CI always means a regression, and is
# reproducible); developers' runs explore new examples each time.
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None)
hypothesis_settings.register_profile("dev", deadline=None)
hypothesis_settings.load_profile("ci" if os.environ.get("CI", "").lower() == "true" else "dev")

for _var in list(os.environ):
    # The official SDKs read these and would silently redirect or re-authenticate the tests.
    if _var.startswith(
        ("ANTHROPIC_", "OPENAI_", "GOOGLE_", "GEMINI_", "DEEPSEEK_", "BYTESPIKE_")
    ) and not _var.startswith("BYTESPIKE_TEST_"):
        del os.environ[_var]


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[str]:
    """An empty database of each backend (own file / own PostgreSQL database per test)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bytespike.db'}"
        return
    url = await create_pg_database()
    try:
        yield url
    finally:
        await drop_pg_database(url)


@pytest.fixture
async def engine(database_url: str):
    """A migrated engine on each backend."""
    eng = create_engine(database_url)
    await upgrade(eng)
    try:
        yield eng
    finally:
        await eng.dispose()


@pytest.fixture(scope="session")
async def gateway(tmp_path_factory: pytest.TempPathFactory):
    """One real gateway process in front of one real simulator process for the session."""
    from tests.support.gateway import GatewayHarness

    harness = GatewayHarness(tmp_path_factory.mktemp("gateway"))
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()
