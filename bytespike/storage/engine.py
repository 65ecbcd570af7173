"""Database engines and migrations for both backends.

``sqlite:///ABS/PATH`` maps to aiosqlite with WAL journaling; ``postgresql://`` maps to asyncpg.
Migrations are Alembic revisions shipped inside the package (``storage/migrations``), so an
installed gateway can upgrade its own database (``bytespike db upgrade``; ``serve`` does it by
itself on the embedded SQLite file). Alembic (with Mako and Pygments behind it, about 10 MiB of
a worker's memory) is imported only when a migration really has to run: `ensure_migrated`
compares the database's revision with the shipped head using plain SQL and a scan of the
revision files.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def async_url(database_url: str) -> str:
    """The SQLAlchemy URL with the async driver for a ``sqlite:///`` or ``postgresql://`` URL."""
    if database_url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + database_url.removeprefix("sqlite:///")
    if database_url.startswith("postgresql://"):
        return "postgresql+asyncpg://" + database_url.removeprefix("postgresql://")
    return database_url


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    # WAL: readers never block the writer; NORMAL: durable across process crashes (fsync at
    # checkpoints), which is what "a crash loses no billed request" needs for a process crash.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def create_engine(database_url: str, *, pool_size: int = 10) -> AsyncEngine:
    """An async engine for the URL; creates the SQLite file's directory when needed."""
    url = async_url(database_url)
    if url.startswith("sqlite+aiosqlite:///"):
        Path(url.removeprefix("sqlite+aiosqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, pool_size=pool_size, max_overflow=0)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def alembic_config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def _upgrade(sync_conn: sa.Connection, revision: str) -> None:
    from alembic import command

    cfg = alembic_config()
    cfg.attributes["connection"] = sync_conn
    command.upgrade(cfg, revision)


def _current(sync_conn: sa.Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(sync_conn).get_current_revision()


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` in one transaction."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, revision)


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(_current)


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


_REVISION = re.compile(r"^revision(?::[^=]*)?=\s*[\"']([^\"']+)[\"']", re.M)
_DOWN_REVISION = re.compile(r"^down_revision(?::[^=]*)?=\s*(?:[\"']([^\"']+)[\"']|None)", re.M)


def shipped_heads() -> set[str]:
    """The head revision(s) of the shipped migrations, read from the files without Alembic
    (tests check it against Alembic's own answer)."""
    revisions, parents = set(), set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        text = path.read_text()
        found = _REVISION.search(text)
        if found is not None:
            revisions.add(found.group(1))
        down = _DOWN_REVISION.search(text)
        if down is not None and down.group(1):
            parents.add(down.group(1))
    return revisions - parents


async def ensure_migrated(engine: AsyncEngine) -> bool:
    """Upgrade to the head unless the database is already there; True if migrations ran."""
    heads = shipped_heads()
    async with engine.connect() as conn:
        has_table = await conn.run_sync(lambda c: sa.inspect(c).has_table("alembic_version"))
        current = (
            set((await conn.execute(sa.text("SELECT version_num FROM alembic_version"))).scalars())
            if has_table
            else set()
        )
    if len(heads) == 1 and current == heads:
        return False
    await upgrade(engine)
    return True
