"""Usage records and the wallet debits they carry, written in batches (group commit).

`write_usage_batch` inserts many records in one transaction and, in that same transaction,
debits each wallet and grows each key's (and ancestor's) ``used_micros`` by the sum of the
records actually inserted. A record whose ``request_id`` exists already is skipped with its
debit, so replaying a batch after a crash bills nothing twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bytespike.storage.accounts import utcnow
from bytespike.storage.records import UsageRecord
from bytespike.storage.schema import api_keys, usage_records, wallets

_COLUMNS = [c.name for c in usage_records.c if c.name != "id"]


async def write_usage_batch(conn: AsyncConnection, records: Sequence[UsageRecord]) -> list[str]:
    """Insert ``records`` and apply their debits; returns the request ids newly written."""
    if not records:
        return []
    ids = [r.request_id for r in records]
    existing = set(
        (
            await conn.execute(
                sa.select(usage_records.c.request_id).where(usage_records.c.request_id.in_(ids))
            )
        ).scalars()
    )
    fresh: list[UsageRecord] = []
    seen: set[str] = set()
    for r in records:
        if r.request_id in existing or r.request_id in seen:
            continue
        seen.add(r.request_id)
        fresh.append(r)
    if not fresh:
        return []
    rows = []
    for r in fresh:
        d = asdict(r)
        rows.append({k: d[k] for k in _COLUMNS})
    await conn.execute(usage_records.insert(), rows)
    per_wallet: dict[int, int] = defaultdict(int)
    per_key: dict[int, int] = defaultdict(int)
    for r in fresh:
        per_wallet[r.wallet_id] += r.cost_micros
        for key_id in r.key_chain:
            per_key[key_id] += r.cost_micros
    now = utcnow()
    for wallet_id, amount in sorted(per_wallet.items()):
        if amount:
            await conn.execute(
                wallets.update()
                .where(wallets.c.id == wallet_id)
                .values(
                    balance_micros=wallets.c.balance_micros - amount,
                    lifetime_spent_micros=wallets.c.lifetime_spent_micros + amount,
                    updated_at=now,
                )
            )
    for key_id, amount in sorted(per_key.items()):
        if amount:
            await conn.execute(
                api_keys.update()
                .where(api_keys.c.id == key_id)
                .values(used_micros=api_keys.c.used_micros + amount)
            )
    return [r.request_id for r in fresh]


async def count_usage(conn: AsyncConnection, *, api_key_id: int | None = None) -> int:
    q = sa.select(sa.func.count()).select_from(usage_records)
    if api_key_id is not None:
        q = q.where(usage_records.c.api_key_id == api_key_id)
    return int(await conn.scalar(q) or 0)
