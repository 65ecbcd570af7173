"""API-key rows: insert and the authentication lookup by HMAC digest."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bytespike.storage.accounts import DuplicateError, utcnow
from bytespike.storage.records import KeyRecord
from bytespike.storage.schema import api_keys, orgs, routing_groups, user_allowed_groups, users


@dataclass(frozen=True, slots=True)
class NewKey:
    """Everything needed to insert a key; the secret itself never reaches storage."""

    user_id: int
    wallet_id: int
    group_id: int
    name: str
    lookup_hash: str
    secret_ciphertext: bytes
    masked_key: str
    org_id: int | None = None
    parent_key_id: int | None = None
    quota_micros: int = 0
    rate_limit_5h_micros: int = 0
    rate_limit_1d_micros: int = 0
    rate_limit_7d_micros: int = 0
    ip_whitelist: Sequence[str] = ()
    ip_blacklist: Sequence[str] = ()
    allowed_models: Sequence[str] | None = None
    scopes: Sequence[str] = ()
    expires_at: datetime | None = None


async def insert_key(conn: AsyncConnection, new: NewKey) -> int:
    taken = await conn.scalar(
        sa.select(api_keys.c.id).where(
            sa.or_(
                api_keys.c.lookup_hash == new.lookup_hash, api_keys.c.previous_lookup_hash == new.lookup_hash
            )
        )
    )
    if taken is not None:
        raise DuplicateError("that key already exists")
    now = utcnow()
    return (
        await conn.execute(
            api_keys.insert()
            .values(
                user_id=new.user_id,
                org_id=new.org_id,
                wallet_id=new.wallet_id,
                parent_key_id=new.parent_key_id,
                group_id=new.group_id,
                name=new.name,
                lookup_hash=new.lookup_hash,
                secret_ciphertext=new.secret_ciphertext,
                masked_key=new.masked_key,
                quota_micros=new.quota_micros,
                rate_limit_5h_micros=new.rate_limit_5h_micros,
                rate_limit_1d_micros=new.rate_limit_1d_micros,
                rate_limit_7d_micros=new.rate_limit_7d_micros,
                ip_whitelist=list(new.ip_whitelist),
                ip_blacklist=list(new.ip_blacklist),
                allowed_models=list(new.allowed_models) if new.allowed_models is not None else None,
                scopes=list(new.scopes),
                expires_at=new.expires_at,
                created_at=now,
                updated_at=now,
            )
            .returning(api_keys.c.id)
        )
    ).scalar_one()


_KEY_COLUMNS = (
    *api_keys.c,
    routing_groups.c.name.label("group_name"),
    users.c.status.label("user_status"),
    users.c.tier.label("user_tier"),
    orgs.c.status.label("org_status"),
    routing_groups.c.is_public.label("group_is_public"),
    sa.exists()
    .where(
        user_allowed_groups.c.user_id == api_keys.c.user_id,
        user_allowed_groups.c.group_id == api_keys.c.group_id,
    )
    .label("group_granted"),
)
_KEY_JOIN = (
    api_keys.join(routing_groups, routing_groups.c.id == api_keys.c.group_id)
    .join(users, users.c.id == api_keys.c.user_id)
    .outerjoin(orgs, orgs.c.id == api_keys.c.org_id)
)


def _as_aware(value: datetime | None) -> datetime | None:
    # SQLite returns naive datetimes for timezone-aware columns; every stored value is UTC.
    if value is not None and value.tzinfo is None:
        from datetime import UTC

        return value.replace(tzinfo=UTC)
    return value


def _key(row: sa.Row, *, via_previous: bool = False) -> KeyRecord:
    return KeyRecord(
        id=row.id,
        user_id=row.user_id,
        org_id=row.org_id,
        wallet_id=row.wallet_id,
        parent_key_id=row.parent_key_id,
        group_id=row.group_id,
        group_name=row.group_name,
        name=row.name,
        masked_key=row.masked_key,
        status=row.status,
        quota_micros=row.quota_micros,
        used_micros=row.used_micros,
        rate_limit_5h_micros=row.rate_limit_5h_micros,
        rate_limit_1d_micros=row.rate_limit_1d_micros,
        rate_limit_7d_micros=row.rate_limit_7d_micros,
        ip_whitelist=tuple(row.ip_whitelist or ()),
        ip_blacklist=tuple(row.ip_blacklist or ()),
        allowed_models=tuple(row.allowed_models) if row.allowed_models is not None else None,
        scopes=tuple(row.scopes or ()),
        expires_at=_as_aware(row.expires_at),
        created_at=_as_aware(row.created_at),  # type: ignore[arg-type]
        user_status=row.user_status,
        user_tier=row.user_tier,
        org_status=row.org_status,
        secret_ciphertext=row.secret_ciphertext,
        previous_valid_until=_as_aware(row.previous_valid_until) if via_previous else None,
        is_previous_secret=via_previous,
        group_is_public=bool(row.group_is_public),
        group_granted=bool(row.group_granted),
        updated_at=_as_aware(row.updated_at),
        revoked_at=_as_aware(row.revoked_at),
    )


async def find_key_by_lookup_hash(conn: AsyncConnection, lookup_hash: str) -> KeyRecord | None:
    """The key whose current secret has this digest, or whose rotated-out secret still does."""
    row = (
        await conn.execute(
            sa.select(*_KEY_COLUMNS).select_from(_KEY_JOIN).where(api_keys.c.lookup_hash == lookup_hash)
        )
    ).one_or_none()
    if row is not None:
        return _key(row)
    row = (
        await conn.execute(
            sa.select(*_KEY_COLUMNS)
            .select_from(_KEY_JOIN)
            .where(api_keys.c.previous_lookup_hash == lookup_hash)
        )
    ).one_or_none()
    return _key(row, via_previous=True) if row is not None else None


async def get_key(conn: AsyncConnection, key_id: int) -> KeyRecord | None:
    row = (
        await conn.execute(sa.select(*_KEY_COLUMNS).select_from(_KEY_JOIN).where(api_keys.c.id == key_id))
    ).one_or_none()
    return _key(row) if row is not None else None


async def key_chain_used(conn: AsyncConnection, key_ids: Sequence[int]) -> dict[int, int]:
    rows = await conn.execute(
        sa.select(api_keys.c.id, api_keys.c.used_micros).where(api_keys.c.id.in_(key_ids))
    )
    return {r.id: r.used_micros for r in rows}


async def touch_key_status(conn: AsyncConnection, key_id: int, status: str) -> None:
    now = utcnow()
    await conn.execute(
        api_keys.update()
        .where(api_keys.c.id == key_id)
        .values(status=status, updated_at=now, revoked_at=now if status == "revoked" else None)
    )


async def find_active_key_by_name(conn: AsyncConnection, user_id: int, name: str) -> KeyRecord | None:
    row = (
        await conn.execute(
            sa.select(*_KEY_COLUMNS)
            .select_from(_KEY_JOIN)
            .where(api_keys.c.user_id == user_id, api_keys.c.name == name, api_keys.c.status == "active")
            .order_by(api_keys.c.id.desc())
            .limit(1)
        )
    ).one_or_none()
    return _key(row) if row is not None else None


def select_keys() -> sa.Select:
    """``SELECT`` of key rows with everything a `KeyRecord` needs; add your own ``WHERE``."""
    return sa.select(*_KEY_COLUMNS).select_from(_KEY_JOIN)


def key_from_row(row: sa.Row) -> KeyRecord:
    return _key(row)
