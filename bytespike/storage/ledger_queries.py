"""Reading a wallet's ledger back, newest first (spec §3.9.3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bytespike.storage.accounts import as_utc
from bytespike.storage.schema import ledger_entries


@dataclass(frozen=True, slots=True)
class LedgerPage:
    items: list[dict[str, Any]]
    total: int


async def ledger_page(
    conn: AsyncConnection,
    *,
    wallet_id: int,
    kind: str | None,
    since: datetime | None,
    until: datetime | None,
    page: int,
    page_size: int,
) -> LedgerPage:
    where = [ledger_entries.c.wallet_id == wallet_id]
    if kind is not None:
        where.append(ledger_entries.c.kind == kind)
    if since is not None:
        where.append(ledger_entries.c.created_at >= since)
    if until is not None:
        where.append(ledger_entries.c.created_at < until)
    total = int(await conn.scalar(sa.select(sa.func.count()).select_from(ledger_entries).where(*where)) or 0)
    rows = await conn.execute(
        sa.select(ledger_entries)
        .where(*where)
        .order_by(ledger_entries.c.created_at.desc(), ledger_entries.c.id.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    items = []
    for r in rows:
        d = dict(r._mapping)
        d["created_at"] = as_utc(d["created_at"])
        items.append(d)
    return LedgerPage(items, total)
