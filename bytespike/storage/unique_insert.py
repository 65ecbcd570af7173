"""``INSERT … ON CONFLICT (column) DO NOTHING`` for both backends.

Idempotent writes (ledger movements, webhook events) insert first and learn from the result
whether they were the first: a check-then-insert lets two concurrent writers both pass the
check, and the loser then fails on the unique index (a 500 instead of a replay).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection


def insert_unless_present(conn: AsyncConnection, table: sa.Table, column: str) -> Any:
    """An insert into ``table`` that does nothing when ``column``'s unique value exists; with
    ``RETURNING`` it yields no row then. On PostgreSQL a concurrent uncommitted insert of the
    same value makes it wait for that transaction, so the answer is always final."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table).on_conflict_do_nothing(index_elements=[table.c[column]])
