"""Users as administrators see them, routing groups, and per-user grants of exclusive groups."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bytespike.storage.accounts import user_from_row as _user
from bytespike.storage.accounts import utcnow
from bytespike.storage.records import UserRecord
from bytespike.storage.schema import routing_groups, user_allowed_groups, users


@dataclass(frozen=True, slots=True)
class GroupRecord:
    id: int
    name: str
    description: str
    is_public: bool


async def get_user(conn: AsyncConnection, user_id: int) -> UserRecord | None:
    row = (await conn.execute(sa.select(users).where(users.c.id == user_id))).one_or_none()
    return _user(row) if row is not None else None


async def password_hash(conn: AsyncConnection, email: str) -> tuple[UserRecord, str | None] | None:
    row = (await conn.execute(sa.select(users).where(users.c.email == email.strip().lower()))).one_or_none()
    return (_user(row), row.password_hash) if row is not None else None


async def list_users(
    conn: AsyncConnection, *, email: str | None = None, after_id: int = 0, limit: int = 100
) -> list[UserRecord]:
    q = sa.select(users).where(users.c.id > after_id)
    if email is not None:
        q = q.where(users.c.email == email.strip().lower())
    rows = await conn.execute(q.order_by(users.c.id).limit(limit))
    return [_user(r) for r in rows]


async def update_user(conn: AsyncConnection, user_id: int, **values: object) -> None:
    allowed = {"role", "status", "tier", "concurrency_limit"}
    if set(values) - allowed:
        raise ValueError(f"not editable: {sorted(set(values) - allowed)}")
    if values:
        await conn.execute(users.update().where(users.c.id == user_id).values(**values))


async def list_groups(conn: AsyncConnection) -> list[GroupRecord]:
    rows = await conn.execute(sa.select(routing_groups).order_by(routing_groups.c.id))
    return [GroupRecord(r.id, r.name, r.description, bool(r.is_public)) for r in rows]


async def get_group(conn: AsyncConnection, group_id: int) -> GroupRecord | None:
    r = (await conn.execute(sa.select(routing_groups).where(routing_groups.c.id == group_id))).one_or_none()
    return GroupRecord(r.id, r.name, r.description, bool(r.is_public)) if r is not None else None


async def granted_group_ids(conn: AsyncConnection, user_id: int) -> set[int]:
    rows = await conn.execute(
        sa.select(user_allowed_groups.c.group_id).where(user_allowed_groups.c.user_id == user_id)
    )
    return {r.group_id for r in rows}


async def grant_group(conn: AsyncConnection, user_id: int, group_id: int) -> bool:
    """Add the grant; False when it existed already."""
    if group_id in await granted_group_ids(conn, user_id):
        return False
    await conn.execute(
        user_allowed_groups.insert().values(user_id=user_id, group_id=group_id, created_at=utcnow())
    )
    return True


async def revoke_group(conn: AsyncConnection, user_id: int, group_id: int) -> bool:
    result = await conn.execute(
        user_allowed_groups.delete().where(
            user_allowed_groups.c.user_id == user_id, user_allowed_groups.c.group_id == group_id
        )
    )
    return bool(result.rowcount)
