"""Checkout sessions (Stripe or the development provider) and the webhook events processed.

A payment row is written when the checkout starts and marked ``paid`` when the provider
confirms it; the wallet is credited by `accounting.topups`, idempotent on the payment id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bytespike.storage.accounts import as_utc
from bytespike.storage.console_schema import payment_events, payments
from bytespike.storage.unique_insert import insert_unless_present


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    id: int
    provider: str
    checkout_id: str
    user_id: int
    wallet_id: int
    amount_micros: int
    status: str
    payment_id: str | None
    created_at: datetime
    paid_at: datetime | None


def _payment(row: sa.Row) -> PaymentRecord:
    return PaymentRecord(
        row.id,
        row.provider,
        row.checkout_id,
        row.user_id,
        row.wallet_id,
        row.amount_micros,
        row.status,
        row.payment_id,
        as_utc(row.created_at),  # type: ignore[arg-type]
        as_utc(row.paid_at),
    )


async def insert_payment(
    conn: AsyncConnection,
    *,
    provider: str,
    checkout_id: str,
    user_id: int,
    wallet_id: int,
    amount_micros: int,
    now: datetime,
) -> PaymentRecord:
    row = (
        await conn.execute(
            payments.insert()
            .values(
                provider=provider,
                checkout_id=checkout_id,
                user_id=user_id,
                wallet_id=wallet_id,
                amount_micros=amount_micros,
                created_at=now,
            )
            .returning(*payments.c)
        )
    ).one()
    return _payment(row)


async def set_checkout_id(conn: AsyncConnection, payment_id: int, checkout_id: str) -> None:
    await conn.execute(payments.update().where(payments.c.id == payment_id).values(checkout_id=checkout_id))


async def get_payment(conn: AsyncConnection, payment_row_id: int) -> PaymentRecord | None:
    row = (await conn.execute(sa.select(payments).where(payments.c.id == payment_row_id))).one_or_none()
    return _payment(row) if row is not None else None


async def payment_by_checkout(conn: AsyncConnection, checkout_id: str) -> PaymentRecord | None:
    row = (await conn.execute(sa.select(payments).where(payments.c.checkout_id == checkout_id))).one_or_none()
    return _payment(row) if row is not None else None


async def mark_paid(conn: AsyncConnection, payment_row_id: int, *, payment_id: str, now: datetime) -> bool:
    """Pending → paid; False when it was not pending (already paid or cancelled)."""
    result = await conn.execute(
        payments.update()
        .where(payments.c.id == payment_row_id, payments.c.status == "pending")
        .values(status="paid", payment_id=payment_id, paid_at=now)
    )
    return bool(result.rowcount)


async def mark_cancelled(conn: AsyncConnection, payment_row_id: int) -> None:
    await conn.execute(
        payments.update()
        .where(payments.c.id == payment_row_id, payments.c.status == "pending")
        .values(status="cancelled")
    )


async def record_event(
    conn: AsyncConnection, *, event_id: str, provider: str, type: str, now: datetime
) -> bool:
    """Remember a webhook event; False when it was processed before (a replay).

    Race-free: of two deliveries of one event at once, exactly one gets True (the other's
    insert waits for the first transaction on PostgreSQL, then does nothing)."""
    inserted = await conn.scalar(
        insert_unless_present(conn, payment_events, "event_id")
        .values(event_id=event_id, provider=provider, type=type, received_at=now)
        .returning(payment_events.c.event_id)
    )
    return inserted is not None
