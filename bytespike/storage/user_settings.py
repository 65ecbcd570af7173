"""What a user changes about their own account from the console: password, verified email,
the wallet's low-balance threshold, and finding their console session keys."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bytespike.storage.accounts import as_utc
from bytespike.storage.schema import api_keys, users, wallets


async def set_password_hash(conn: AsyncConnection, user_id: int, password_hash: str | None) -> None:
    await conn.execute(users.update().where(users.c.id == user_id).values(password_hash=password_hash))


async def mark_email_verified(conn: AsyncConnection, user_id: int, now: datetime) -> None:
    await conn.execute(
        users.update()
        .where(users.c.id == user_id, users.c.email_verified_at.is_(None))
        .values(email_verified_at=now)
    )


async def email_verified_at(conn: AsyncConnection, user_id: int) -> datetime | None:
    return as_utc(await conn.scalar(sa.select(users.c.email_verified_at).where(users.c.id == user_id)))


async def set_low_balance_threshold(
    conn: AsyncConnection, wallet_id: int, micros: int, now: datetime
) -> None:
    await conn.execute(
        wallets.update()
        .where(wallets.c.id == wallet_id)
        .values(low_balance_threshold_micros=micros, updated_at=now)
    )


async def active_keys_named(conn: AsyncConnection, user_id: int, name: str) -> list[int]:
    rows = await conn.execute(
        sa.select(api_keys.c.id).where(
            api_keys.c.user_id == user_id, api_keys.c.name == name, api_keys.c.status == "active"
        )
    )
    return [int(r.id) for r in rows]
