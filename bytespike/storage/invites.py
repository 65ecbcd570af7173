"""Invite codes ``BS-XXXX-XXXX``: minted by an account, each admitting one sign-up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bytespike.storage.accounts import as_utc
from bytespike.storage.console_schema import invite_codes


@dataclass(frozen=True, slots=True)
class InviteRecord:
    code: str
    created_by_user_id: int | None
    used_by_user_id: int | None
    created_at: datetime
    used_at: datetime | None


def _invite(row: sa.Row) -> InviteRecord:
    return InviteRecord(
        row.code,
        row.created_by_user_id,
        row.used_by_user_id,
        as_utc(row.created_at),  # type: ignore[arg-type]
        as_utc(row.used_at),
    )


async def insert_invite(conn: AsyncConnection, *, code: str, created_by: int | None, now: datetime) -> None:
    await conn.execute(invite_codes.insert().values(code=code, created_by_user_id=created_by, created_at=now))


async def invites_by(conn: AsyncConnection, user_id: int) -> list[InviteRecord]:
    rows = await conn.execute(
        sa.select(invite_codes)
        .where(invite_codes.c.created_by_user_id == user_id)
        .order_by(invite_codes.c.created_at, invite_codes.c.code)
    )
    return [_invite(r) for r in rows]


async def redeem_invite(conn: AsyncConnection, *, code: str, user_id: int, now: datetime) -> bool:
    """Mark an unused code used by ``user_id``; False when unknown or already used."""
    result = await conn.execute(
        invite_codes.update()
        .where(
            invite_codes.c.code == code,
            invite_codes.c.used_by_user_id.is_(None),
            invite_codes.c.used_at.is_(None),
        )
        .values(used_by_user_id=user_id, used_at=now)
    )
    return bool(result.rowcount)


async def is_unused(conn: AsyncConnection, code: str) -> bool:
    row = await conn.scalar(
        sa.select(invite_codes.c.code).where(invite_codes.c.code == code, invite_codes.c.used_at.is_(None))
    )
    return row is not None
