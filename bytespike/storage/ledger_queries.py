"""Reading a wallet's ledger back, newest first (spec §3.9.3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bytespike.storage.accounts import as_utc
from bytespike.storage.schema import ledger_entries, usage_records


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


@dataclass(frozen=True, slots=True)
class BilledRequest:
    """What a rebate needs to know about one billed request (its usage record)."""

    request_id: str
    wallet_id: int
    user_id: int | None
    api_key_id: int | None
    model: str
    cost_micros: int


async def billed_request(conn: AsyncConnection, request_id: str) -> BilledRequest | None:
    row = (
        await conn.execute(
            sa.select(
                usage_records.c.request_id,
                usage_records.c.wallet_id,
                usage_records.c.user_id,
                usage_records.c.api_key_id,
                usage_records.c.model,
                usage_records.c.cost_micros,
            ).where(usage_records.c.request_id == request_id)
        )
    ).one_or_none()
    return BilledRequest(*row) if row is not None else None
