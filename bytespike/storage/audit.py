"""The audit log: who did what to which key, user, org or wallet, and from where."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bytespike.storage.accounts import as_utc, utcnow
from bytespike.storage.schema import audit_log


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: int
    created_at: datetime
    actor_user_id: int | None
    actor_key_id: int | None
    action: str
    target_type: str
    target_id: str | None
    detail: dict[str, Any]
    ip: str | None


async def record(
    conn: AsyncConnection,
    *,
    action: str,
    target_type: str,
    target_id: object | None,
    actor_user_id: int | None,
    actor_key_id: int | None,
    ip: str | None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one entry in the caller's transaction (so the entry and the change commit together)."""
    await conn.execute(
        audit_log.insert().values(
            created_at=utcnow(),
            actor_user_id=actor_user_id,
            actor_key_id=actor_key_id,
            action=action,
            target_type=target_type,
            target_id=None if target_id is None else str(target_id),
            detail=detail or {},
            ip=ip,
        )
    )


async def list_entries(
    conn: AsyncConnection,
    *,
    action: str | None = None,
    actor_user_id: int | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditRecord]:
    """Newest first; ``before_id`` is the cursor."""
    q = sa.select(audit_log)
    if action is not None:
        q = q.where(audit_log.c.action == action)
    if actor_user_id is not None:
        q = q.where(audit_log.c.actor_user_id == actor_user_id)
    if before_id is not None:
        q = q.where(audit_log.c.id < before_id)
    rows = await conn.execute(q.order_by(audit_log.c.id.desc()).limit(limit))
    return [
        AuditRecord(
            r.id,
            as_utc(r.created_at),  # type: ignore[arg-type]
            r.actor_user_id,
            r.actor_key_id,
            r.action,
            r.target_type,
            r.target_id,
            dict(r.detail or {}),
            r.ip,
        )
        for r in rows
    ]
