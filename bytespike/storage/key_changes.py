"""Changes to existing API-key rows: listing, field updates, rotation and cascading revocation.

Queries only; who may change what, and which values are allowed, is decided in
``access/keys_admin.py``. Like `storage.keys`, nothing here ever sees a plaintext secret.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bytespike.storage.accounts import utcnow
from bytespike.storage.keys import key_from_row, select_keys
from bytespike.storage.records import KeyRecord
from bytespike.storage.schema import api_keys

EDITABLE_COLUMNS = frozenset(
    {
        "name",
        "group_id",
        "quota_micros",
        "rate_limit_5h_micros",
        "rate_limit_1d_micros",
        "rate_limit_7d_micros",
        "ip_whitelist",
        "ip_blacklist",
        "allowed_models",
        "scopes",
        "expires_at",
    }
)


async def is_secret_taken(conn: AsyncConnection, lookup_hash: str) -> bool:
    """True when a key's current or rotated-out secret has this digest."""
    found = await conn.scalar(
        sa.select(api_keys.c.id).where(
            sa.or_(api_keys.c.lookup_hash == lookup_hash, api_keys.c.previous_lookup_hash == lookup_hash)
        )
    )
    return found is not None


async def list_keys(
    conn: AsyncConnection,
    *,
    user_id: int,
    within: Sequence[int] | None = None,
    status: str | None = None,
    parent_key_id: int | None = None,
    after_id: int = 0,
    limit: int = 100,
) -> list[KeyRecord]:
    """The user's keys by ascending id after ``after_id``; ``within`` narrows to those ids.

    ``status`` is ``active``, ``expired`` (active but past ``expires_at``) or ``revoked``.
    """
    q = select_keys().where(api_keys.c.user_id == user_id, api_keys.c.id > after_id)
    if within is not None:
        q = q.where(api_keys.c.id.in_(list(within)))
    if status == "revoked":
        q = q.where(api_keys.c.status == "revoked")
    elif status in ("active", "expired"):
        now = utcnow()
        live = sa.or_(api_keys.c.expires_at.is_(None), api_keys.c.expires_at > now)
        q = q.where(api_keys.c.status == "active", live if status == "active" else sa.not_(live))
    if parent_key_id is not None:
        q = q.where(api_keys.c.parent_key_id == parent_key_id)
    rows = await conn.execute(q.order_by(api_keys.c.id).limit(limit))
    return [key_from_row(r) for r in rows]


async def descendant_ids(conn: AsyncConnection, key_id: int) -> list[int]:
    """Every key below ``key_id`` (children, grandchildren, …), breadth first."""
    found: list[int] = []
    frontier = [key_id]
    seen = {key_id}
    while frontier:
        rows = await conn.execute(sa.select(api_keys.c.id).where(api_keys.c.parent_key_id.in_(frontier)))
        frontier = [r.id for r in rows if r.id not in seen]
        seen.update(frontier)
        found.extend(frontier)
    return found


async def update_key(conn: AsyncConnection, key_id: int, changes: Mapping[str, Any]) -> None:
    unknown = set(changes) - EDITABLE_COLUMNS
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    values = dict(changes)
    for name in ("ip_whitelist", "ip_blacklist", "scopes"):
        if name in values:
            values[name] = list(values[name])
    if "allowed_models" in values and values["allowed_models"] is not None:
        values["allowed_models"] = list(values["allowed_models"])
    await conn.execute(api_keys.update().where(api_keys.c.id == key_id).values(**values, updated_at=utcnow()))


async def rotate_secret(
    conn: AsyncConnection,
    key_id: int,
    *,
    lookup_hash: str,
    secret_ciphertext: bytes,
    masked_key: str,
    previous_valid_until: datetime | None,
) -> list[tuple[str, datetime | None]]:
    """Install a new secret; the old one stays valid until ``previous_valid_until`` (None: never).

    Returns the lookup hash of each secret this takes away with when it stops (None: at once):
    the old current one, and an earlier rotated-out one whose grace period this ends."""
    row = (
        await conn.execute(
            sa.select(api_keys.c.lookup_hash, api_keys.c.previous_lookup_hash).where(api_keys.c.id == key_id)
        )
    ).one()
    old = row.lookup_hash
    keep_old = previous_valid_until is not None
    await conn.execute(
        api_keys.update()
        .where(api_keys.c.id == key_id)
        .values(
            lookup_hash=lookup_hash,
            secret_ciphertext=secret_ciphertext,
            masked_key=masked_key,
            previous_lookup_hash=old if keep_old else None,
            previous_valid_until=previous_valid_until if keep_old else None,
            updated_at=utcnow(),
        )
    )
    retired: list[tuple[str, datetime | None]] = [(old, previous_valid_until)]
    if row.previous_lookup_hash is not None:
        retired.append((row.previous_lookup_hash, None))
    return retired


async def revoke_keys(conn: AsyncConnection, key_ids: Sequence[int]) -> list[int]:
    """Revoke every still-active key of ``key_ids``; returns the ids that changed."""
    if not key_ids:
        return []
    active = list(
        (
            await conn.execute(
                sa.select(api_keys.c.id).where(
                    api_keys.c.id.in_(list(key_ids)), api_keys.c.status == "active"
                )
            )
        ).scalars()
    )
    if active:
        now = utcnow()
        await conn.execute(
            api_keys.update()
            .where(api_keys.c.id.in_(active))
            .values(
                status="revoked",
                revoked_at=now,
                updated_at=now,
                previous_lookup_hash=None,
                previous_valid_until=None,
            )
        )
    return active


async def org_key_ids(conn: AsyncConnection, *, org_id: int, user_id: int) -> list[int]:
    """Ids of the user's keys spending from the org's wallet (any status)."""
    rows = await conn.execute(
        sa.select(api_keys.c.id).where(api_keys.c.org_id == org_id, api_keys.c.user_id == user_id)
    )
    return [r.id for r in rows]
