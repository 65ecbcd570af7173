"""What the hot state (re)loads from the database, read in one snapshot.

`read_snapshot` returns, for the entities a load needs, wallet balances, keys' lifetime spend
(and the spend counted by per-model caps, named by negative ids),
keys' billed requests of the last week (for the rolling windows; a key's spend includes its
sub-keys'), which of the load's journaled request ids are committed, and the wallet's recent
ledger entry ids. On PostgreSQL it runs in one REPEATABLE READ transaction, so all of it is
one instant. On SQLite the reads are ordered so that a commit landing between two of them can
only make the loaded value stricter, never looser (committed ids first, ledger ids last).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bytespike.storage import model_quotas
from bytespike.storage.schema import api_keys, ledger_entries, usage_records, users, wallets

MAX_DESCENDANT_DEPTH = 16
IDS_PER_QUERY = 900


@dataclass(frozen=True, slots=True)
class Snapshot:
    wallets: dict[int, int] = field(default_factory=dict)
    key_used: dict[int, int] = field(default_factory=dict)
    key_spend: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    """(unix ms, cost) per billed request of the key or a descendant, newest week."""
    committed: frozenset[str] = frozenset()
    ledger_ids: dict[int, frozenset[int]] = field(default_factory=dict)


def _ms(value: datetime) -> int:
    if value.tzinfo is None:  # SQLite hands back naive UTC
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


async def _descendants(conn: AsyncConnection, key_id: int) -> list[int]:
    found: list[int] = []
    frontier = [key_id]
    for _ in range(MAX_DESCENDANT_DEPTH):
        rows = (
            await conn.execute(sa.select(api_keys.c.id).where(api_keys.c.parent_key_id.in_(frontier)))
        ).scalars()
        frontier = [r for r in rows if r not in found]
        if not frontier:
            break
        found += frontier
    return found


async def _read(
    conn: AsyncConnection,
    wallet_ids: Sequence[int],
    key_ids: Sequence[int],
    window_key_ids: Sequence[int],
    request_ids: Iterable[str],
    spend_since: datetime,
    ledger_since: datetime,
) -> Snapshot:
    ids = list(request_ids)
    found: set[str] = set()
    # In slices: one bound parameter per id, and PostgreSQL refuses more than 32,767 of them in
    # a statement (SQLite builds before 3.32, 999). Same snapshot, so still one instant.
    for start in range(0, len(ids), IDS_PER_QUERY):
        chunk = ids[start : start + IDS_PER_QUERY]
        found.update(
            (
                await conn.execute(
                    sa.select(usage_records.c.request_id).where(usage_records.c.request_id.in_(chunk))
                )
            ).scalars()
        )
    committed = frozenset(found)
    balances: dict[int, int] = {}
    if wallet_ids:
        rows = await conn.execute(
            sa.select(wallets.c.id, wallets.c.balance_micros).where(wallets.c.id.in_(list(wallet_ids)))
        )
        balances = {r.id: int(r.balance_micros) for r in rows}
    used: dict[int, int] = {}
    if key_ids:
        rows = await conn.execute(
            sa.select(api_keys.c.id, api_keys.c.used_micros).where(api_keys.c.id.in_([k for k in key_ids if k > 0]))
        )
        used = {r.id: int(r.used_micros) for r in rows}
        # Negative ids are per-model caps (storage/model_quotas.py): their spend is summed.
        caps = await model_quotas.spent(conn, [-k for k in key_ids if k < 0])
        used.update({model_quotas.cap_entity_id(row_id): value for row_id, value in caps.items()})
    spend: dict[int, list[tuple[int, int]]] = {}
    for key_id in window_key_ids:
        subtree = [key_id, *await _descendants(conn, key_id)]
        rows = await conn.execute(
            sa.select(usage_records.c.created_at, usage_records.c.cost_micros).where(
                usage_records.c.api_key_id.in_(subtree),
                usage_records.c.created_at >= spend_since,
                usage_records.c.cost_micros > 0,
            )
        )
        spend[key_id] = [(_ms(r.created_at), int(r.cost_micros)) for r in rows]
    ledger: dict[int, frozenset[int]] = {}
    if wallet_ids:
        rows = await conn.execute(
            sa.select(ledger_entries.c.wallet_id, ledger_entries.c.id).where(
                ledger_entries.c.wallet_id.in_(list(wallet_ids)), ledger_entries.c.created_at >= ledger_since
            )
        )
        grouped: dict[int, set[int]] = {}
        for r in rows:
            grouped.setdefault(r.wallet_id, set()).add(r.id)
        ledger = {w: frozenset(v) for w, v in grouped.items()}
    return Snapshot(balances, used, spend, committed, ledger)


async def read_snapshot(
    engine: AsyncEngine,
    *,
    wallet_ids: Sequence[int] = (),
    key_ids: Sequence[int] = (),
    window_key_ids: Sequence[int] = (),
    request_ids: Iterable[str] = (),
    spend_window: timedelta = timedelta(days=7, hours=1),
    ledger_window: timedelta = timedelta(minutes=10),
) -> Snapshot:
    now = datetime.now(UTC)
    async with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn = await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            return await _read(
                conn, wallet_ids, key_ids, window_key_ids, request_ids, now - spend_window, now - ledger_window
            )


async def recent_ledger(
    engine: AsyncEngine, wallet_id: int, since: timedelta = timedelta(minutes=10)
) -> list[tuple[int, int]]:
    """(entry id, amount) of the wallet's ledger movements of the last ``since``."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(ledger_entries.c.id, ledger_entries.c.amount_micros).where(
                ledger_entries.c.wallet_id == wallet_id,
                ledger_entries.c.created_at >= datetime.now(UTC) - since,
            )
        )
        return [(r.id, int(r.amount_micros)) for r in rows]


async def account_concurrency(engine: AsyncEngine, user_id: int) -> tuple[str, int | None] | None:
    """(tier, explicit concurrency limit or None) of a user."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                sa.select(users.c.tier, users.c.concurrency_limit).where(users.c.id == user_id)
            )
        ).one_or_none()
    return (row.tier, row.concurrency_limit) if row is not None else None
