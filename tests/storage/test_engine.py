"""Migrations run on SQLite and PostgreSQL and produce the schema the code declares."""

from __future__ import annotations

import sqlalchemy as sa

from bytespike.storage.engine import create_engine, current_revision, head_revision, upgrade
from bytespike.storage.schema import metadata


async def test_upgrade_reaches_head_and_matches_declared_schema(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        assert await current_revision(engine) is None
        await upgrade(engine)
        assert await current_revision(engine) == head_revision()
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
            columns = await conn.run_sync(
                lambda c: {t: {col["name"] for col in sa.inspect(c).get_columns(t)} for t in metadata.tables}
            )
        assert set(metadata.tables) <= tables
        for name, table in metadata.tables.items():
            assert columns[name] == {c.name for c in table.c}, name
    finally:
        await engine.dispose()


async def test_upgrade_is_idempotent(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        await upgrade(engine)
        assert await current_revision(engine) == head_revision()
    finally:
        await engine.dispose()


async def test_sqlite_uses_wal(tmp_path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'w.db'}")
    try:
        async with engine.connect() as conn:
            mode = await conn.scalar(sa.text("PRAGMA journal_mode"))
        assert mode == "wal"
    finally:
        await engine.dispose()


def test_the_shipped_head_read_without_alembic_is_alembics_head() -> None:
    from bytespike.storage.engine import shipped_heads

    assert shipped_heads() == {head_revision()}


async def test_ensure_migrated_runs_migrations_once(tmp_path) -> None:
    from bytespike.storage.engine import ensure_migrated

    engine = create_engine(f"sqlite:///{tmp_path / 'e.db'}")
    try:
        assert await ensure_migrated(engine) is True
        assert await current_revision(engine) == head_revision()
        assert await ensure_migrated(engine) is False  # already at the head: nothing imported or run
    finally:
        await engine.dispose()
