"""Organisations, their members and their wallets (queries only; rules live in access/orgs.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bytespike.storage.accounts import as_utc, utcnow
from bytespike.storage.schema import org_members, orgs, users, wallets


@dataclass(frozen=True, slots=True)
class OrgRecord:
    id: int
    name: str
    status: str
    """``active`` or ``paused``; a paused org's keys are refused (403)."""
    wallet_id: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class MemberRecord:
    org_id: int
    user_id: int
    email: str
    role: str
    """``owner``, ``admin`` or ``member``."""
    created_at: datetime


_ORG_COLUMNS = (*orgs.c, wallets.c.id.label("wallet_id"))
_ORG_JOIN = orgs.join(wallets, wallets.c.org_id == orgs.c.id)


def _org(row: sa.Row) -> OrgRecord:
    return OrgRecord(row.id, row.name, row.status, row.wallet_id, as_utc(row.created_at))  # type: ignore[arg-type]


async def create_org(conn: AsyncConnection, *, name: str, owner_user_id: int) -> OrgRecord:
    """Insert an org, its wallet and its first member (the owner) in the caller's transaction."""
    now = utcnow()
    org_id = (
        await conn.execute(orgs.insert().values(name=name, created_at=now).returning(orgs.c.id))
    ).scalar_one()
    await conn.execute(wallets.insert().values(org_id=org_id, balance_micros=0, updated_at=now))
    await conn.execute(
        org_members.insert().values(org_id=org_id, user_id=owner_user_id, role="owner", created_at=now)
    )
    org = await get_org(conn, org_id)
    assert org is not None
    return org


async def get_org(conn: AsyncConnection, org_id: int) -> OrgRecord | None:
    row = (
        await conn.execute(sa.select(*_ORG_COLUMNS).select_from(_ORG_JOIN).where(orgs.c.id == org_id))
    ).one_or_none()
    return _org(row) if row is not None else None


async def list_orgs(conn: AsyncConnection, *, after_id: int = 0, limit: int = 100) -> list[OrgRecord]:
    rows = await conn.execute(
        sa.select(*_ORG_COLUMNS)
        .select_from(_ORG_JOIN)
        .where(orgs.c.id > after_id)
        .order_by(orgs.c.id)
        .limit(limit)
    )
    return [_org(r) for r in rows]


async def update_org(conn: AsyncConnection, org_id: int, *, name: str | None, status: str | None) -> None:
    values = {k: v for k, v in (("name", name), ("status", status)) if v is not None}
    if values:
        await conn.execute(orgs.update().where(orgs.c.id == org_id).values(**values))


async def members(conn: AsyncConnection, org_id: int) -> list[MemberRecord]:
    rows = await conn.execute(
        sa.select(org_members, users.c.email)
        .select_from(org_members.join(users, users.c.id == org_members.c.user_id))
        .where(org_members.c.org_id == org_id)
        .order_by(org_members.c.user_id)
    )
    return [MemberRecord(r.org_id, r.user_id, r.email, r.role, as_utc(r.created_at)) for r in rows]  # type: ignore[arg-type]


async def membership(conn: AsyncConnection, org_id: int, user_id: int) -> str | None:
    """The user's role in the org, or None when not a member."""
    return await conn.scalar(
        sa.select(org_members.c.role).where(org_members.c.org_id == org_id, org_members.c.user_id == user_id)
    )


async def first_membership(conn: AsyncConnection, user_id: int) -> tuple[OrgRecord, str] | None:
    """The user's oldest org membership (what /me/account shows), or None."""
    row = (
        await conn.execute(
            sa.select(*_ORG_COLUMNS, org_members.c.role.label("member_role"))
            .select_from(_ORG_JOIN.join(org_members, org_members.c.org_id == orgs.c.id))
            .where(org_members.c.user_id == user_id)
            .order_by(org_members.c.created_at, orgs.c.id)
            .limit(1)
        )
    ).one_or_none()
    return (_org(row), row.member_role) if row is not None else None


async def memberships(conn: AsyncConnection, user_id: int) -> list[tuple[OrgRecord, str]]:
    """Every org the user belongs to and their role in it, oldest membership first."""
    rows = await conn.execute(
        sa.select(*_ORG_COLUMNS, org_members.c.role.label("member_role"))
        .select_from(_ORG_JOIN.join(org_members, org_members.c.org_id == orgs.c.id))
        .where(org_members.c.user_id == user_id)
        .order_by(org_members.c.created_at, orgs.c.id)
    )
    return [(_org(row), row.member_role) for row in rows]


async def set_member(conn: AsyncConnection, org_id: int, user_id: int, role: str) -> None:
    if await membership(conn, org_id, user_id) is None:
        await conn.execute(
            org_members.insert().values(org_id=org_id, user_id=user_id, role=role, created_at=utcnow())
        )
    else:
        await conn.execute(
            org_members.update()
            .where(org_members.c.org_id == org_id, org_members.c.user_id == user_id)
            .values(role=role)
        )


async def remove_member(conn: AsyncConnection, org_id: int, user_id: int) -> bool:
    result = await conn.execute(
        org_members.delete().where(org_members.c.org_id == org_id, org_members.c.user_id == user_id)
    )
    return bool(result.rowcount)


async def count_owners(conn: AsyncConnection, org_id: int) -> int:
    return int(
        await conn.scalar(
            sa.select(sa.func.count())
            .select_from(org_members)
            .where(org_members.c.org_id == org_id, org_members.c.role == "owner")
        )
        or 0
    )
