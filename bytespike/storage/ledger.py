"""Wallet movements that are not API requests: top-ups, bonuses, refunds, admin adjustments.

Each movement is idempotent on its ``idempotency_key`` (a payment id, an admin request id):
replaying it returns the entry already written and moves nothing.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bytespike.storage.accounts import utcnow
from bytespike.storage.records import LedgerEntryRecord
from bytespike.storage.schema import ledger_entries, wallets
from bytespike.storage.unique_insert import insert_unless_present

CREDIT_KINDS = frozenset({"topup", "bonus", "refund", "admin_credit", "subscription_renew"})
DEBIT_KINDS = frozenset({"admin_debit"})


def _entry(row: sa.Row) -> LedgerEntryRecord:
    return LedgerEntryRecord(
        id=row.id,
        wallet_id=row.wallet_id,
        kind=row.kind,
        amount_micros=row.amount_micros,
        balance_after_micros=row.balance_after_micros,
        idempotency_key=row.idempotency_key,
        note=row.note,
        created_at=row.created_at,
        source=dict(row.source or {}),
    )


async def apply_movement(
    conn: AsyncConnection,
    *,
    wallet_id: int,
    kind: str,
    amount_micros: int,
    idempotency_key: str,
    source: dict[str, Any] | None = None,
    note: str | None = None,
) -> tuple[LedgerEntryRecord, bool]:
    """Move ``amount_micros`` (positive credits, negative debits) in the caller's transaction.

    Returns the entry and whether it was newly written (False on an idempotent replay: the
    entry returned is the one already written, which the caller compares with what it asked
    for). Race-free: concurrent calls with one key write one entry and move the wallet once.
    """
    if kind in CREDIT_KINDS and amount_micros <= 0:
        raise ValueError(f"{kind} must be a positive amount")
    if kind in DEBIT_KINDS and amount_micros >= 0:
        raise ValueError(f"{kind} must be a negative amount")
    if kind not in CREDIT_KINDS | DEBIT_KINDS:
        raise ValueError(f"unknown ledger kind {kind!r}")
    now = utcnow()
    # Insert first, skipping on a duplicate key, so two writers of one idempotency key never
    # both pass a "does it exist?" check: on PostgreSQL the second INSERT waits for the first
    # transaction and then does nothing; on SQLite writers are serialized by the database lock.
    # The balance is moved only by the writer whose row went in.
    inserted = (
        await conn.execute(
            insert_unless_present(conn, ledger_entries, "idempotency_key")
            .values(
                wallet_id=wallet_id,
                kind=kind,
                amount_micros=amount_micros,
                balance_after_micros=0,
                idempotency_key=idempotency_key,
                source=source or {},
                note=note,
                created_at=now,
            )
            .returning(ledger_entries.c.id)
        )
    ).scalar_one_or_none()
    if inserted is None:
        prior = (
            await conn.execute(
                sa.select(ledger_entries).where(ledger_entries.c.idempotency_key == idempotency_key)
            )
        ).one()
        return _entry(prior), False
    values: dict[str, Any] = {"balance_micros": wallets.c.balance_micros + amount_micros, "updated_at": now}
    if kind in ("topup", "bonus", "subscription_renew"):
        values["lifetime_topup_micros"] = wallets.c.lifetime_topup_micros + amount_micros
    balance_after = (
        await conn.execute(
            wallets.update()
            .where(wallets.c.id == wallet_id)
            .values(**values)
            .returning(wallets.c.balance_micros)
        )
    ).scalar_one()
    row = (
        await conn.execute(
            ledger_entries.update()
            .where(ledger_entries.c.id == inserted)
            .values(balance_after_micros=balance_after)
            .returning(*ledger_entries.c)
        )
    ).one()
    return _entry(row), True

