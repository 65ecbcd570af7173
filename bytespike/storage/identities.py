"""External identities (OpenID Connect issuer + subject) linked to users."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bytespike.storage.console_schema import user_identities


async def user_for_identity(conn: AsyncConnection, *, provider: str, subject: str) -> int | None:
    value = await conn.scalar(
        sa.select(user_identities.c.user_id).where(
            user_identities.c.provider == provider, user_identities.c.subject == subject
        )
    )
    return int(value) if value is not None else None


async def link_identity(
    conn: AsyncConnection, *, provider: str, subject: str, user_id: int, email: str, now: datetime
) -> None:
    await conn.execute(
        user_identities.insert().values(
            provider=provider, subject=subject, user_id=user_id, email=email, created_at=now
        )
    )


async def has_identity(conn: AsyncConnection, *, user_id: int, provider: str) -> bool:
    value = await conn.scalar(
        sa.select(user_identities.c.subject).where(
            user_identities.c.user_id == user_id, user_identities.c.provider == provider
        )
    )
    return value is not None
