"""Users, their wallets and the routing-group rows (queries only; rules live in access/)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bytespike.storage.records import UserRecord, WalletRecord
from bytespike.storage.schema import routing_groups, users, wallets


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes for timezone-aware columns; every stored value is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class DuplicateError(Exception):
    """A unique value (email, custom key, idempotency key) already exists."""


def _user(row: sa.Row) -> UserRecord:
    return UserRecord(
        id=row.id,
        email=row.email,
        role=row.role,
        tier=row.tier,
        status=row.status,
        concurrency_limit=row.concurrency_limit,
        created_at=as_utc(row.created_at),  # type: ignore[arg-type]
    )


user_from_row = _user


def _wallet(row: sa.Row) -> WalletRecord:
    return WalletRecord(
        id=row.id,
        user_id=row.user_id,
        org_id=row.org_id,
        balance_micros=row.balance_micros,
        lifetime_topup_micros=row.lifetime_topup_micros,
        lifetime_spent_micros=row.lifetime_spent_micros,
    )


async def create_user(
    conn: AsyncConnection,
    *,
    email: str,
    password_hash: str | None,
    role: str = "user",
    verified: bool = False,
) -> UserRecord:
    """Insert a user and its personal wallet in the caller's transaction."""
    now = utcnow()
    email = email.strip().lower()
    exists = await conn.scalar(sa.select(users.c.id).where(users.c.email == email))
    if exists is not None:
        raise DuplicateError(f"a user with email {email} already exists")
    user_id = (
        await conn.execute(
            users.insert()
            .values(
                email=email,
                password_hash=password_hash,
                role=role,
                created_at=now,
                email_verified_at=now if verified else None,
            )
            .returning(users.c.id)
        )
    ).scalar_one()
    await conn.execute(wallets.insert().values(user_id=user_id, balance_micros=0, updated_at=now))
    row = (await conn.execute(sa.select(users).where(users.c.id == user_id))).one()
    return _user(row)


async def get_user_by_email(conn: AsyncConnection, email: str) -> UserRecord | None:
    row = (await conn.execute(sa.select(users).where(users.c.email == email.strip().lower()))).one_or_none()
    return _user(row) if row else None


async def get_user_wallet(conn: AsyncConnection, user_id: int) -> WalletRecord:
    row = (await conn.execute(sa.select(wallets).where(wallets.c.user_id == user_id))).one()
    return _wallet(row)


async def get_wallet(conn: AsyncConnection, wallet_id: int) -> WalletRecord | None:
    row = (await conn.execute(sa.select(wallets).where(wallets.c.id == wallet_id))).one_or_none()
    return _wallet(row) if row else None


async def wallet_balances(conn: AsyncConnection, wallet_ids: Iterable[int]) -> dict[int, int]:
    ids = list(wallet_ids)
    rows = await conn.execute(sa.select(wallets.c.id, wallets.c.balance_micros).where(wallets.c.id.in_(ids)))
    return {r.id: r.balance_micros for r in rows}


async def sync_groups(conn: AsyncConnection, groups: dict[str, tuple[str, bool]]) -> dict[str, int]:
    """Make sure every configured group has a row (its numeric ``group_id``); returns name → id."""
    existing = {
        r.name: r.id for r in await conn.execute(sa.select(routing_groups.c.id, routing_groups.c.name))
    }
    now = utcnow()
    for name, (description, is_public) in groups.items():
        if name not in existing:
            existing[name] = (
                await conn.execute(
                    routing_groups.insert()
                    .values(name=name, description=description, is_public=is_public, created_at=now)
                    .returning(routing_groups.c.id)
                )
            ).scalar_one()
        else:
            await conn.execute(
                routing_groups.update()
                .where(routing_groups.c.id == existing[name])
                .values(description=description, is_public=is_public)
            )
    return existing


async def get_group_id(conn: AsyncConnection, name: str) -> int | None:
    return await conn.scalar(sa.select(routing_groups.c.id).where(routing_groups.c.name == name))


async def wallet_thresholds(conn: AsyncConnection, wallet_id: int) -> int:
    """The wallet's low-balance threshold in micro-USD."""
    return int(
        await conn.scalar(sa.select(wallets.c.low_balance_threshold_micros).where(wallets.c.id == wallet_id))
        or 0
    )
