"""Emailed one-time codes: email verification (6 digits) and password reset (a link token).

Only an HMAC digest of each code is stored. A code is good once, until it expires, and for a
few wrong guesses: every failed check of a user's live code counts, and the code dies after
``MAX_ATTEMPTS``.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bytespike.storage.accounts import as_utc
from bytespike.storage.console_schema import email_codes

MAX_ATTEMPTS = 5


async def replace_code(
    conn: AsyncConnection, *, user_id: int, purpose: str, digest: str, now: datetime, expires_at: datetime
) -> None:
    """Store a new code for ``purpose``; any earlier unused one stops working."""
    await conn.execute(
        email_codes.update()
        .where(
            email_codes.c.user_id == user_id,
            email_codes.c.purpose == purpose,
            email_codes.c.used_at.is_(None),
        )
        .values(used_at=now)
    )
    await conn.execute(
        email_codes.insert().values(
            user_id=user_id, purpose=purpose, code_digest=digest, expires_at=expires_at, created_at=now
        )
    )


async def consume_code(
    conn: AsyncConnection, *, user_id: int, purpose: str, digest: str, now: datetime
) -> bool:
    """True (and the code is used up) when ``digest`` matches the user's live code."""
    row = (
        await conn.execute(
            sa.select(email_codes)
            .where(
                email_codes.c.user_id == user_id,
                email_codes.c.purpose == purpose,
                email_codes.c.used_at.is_(None),
            )
            .order_by(email_codes.c.id.desc())
            .limit(1)
        )
    ).one_or_none()
    if row is None or as_utc(row.expires_at) <= now or row.attempts >= MAX_ATTEMPTS:  # type: ignore[operator]
        return False
    if row.code_digest != digest:
        await conn.execute(
            email_codes.update().where(email_codes.c.id == row.id).values(attempts=email_codes.c.attempts + 1)
        )
        return False
    await conn.execute(email_codes.update().where(email_codes.c.id == row.id).values(used_at=now))
    return True


async def user_for_token(conn: AsyncConnection, *, purpose: str, digest: str, now: datetime) -> int | None:
    """The user a live link token (password reset) belongs to, without using it up."""
    row = (
        await conn.execute(
            sa.select(email_codes.c.user_id, email_codes.c.expires_at).where(
                email_codes.c.purpose == purpose,
                email_codes.c.code_digest == digest,
                email_codes.c.used_at.is_(None),
            )
        )
    ).one_or_none()
    if row is None or as_utc(row.expires_at) <= now:  # type: ignore[operator]
        return None
    return int(row.user_id)
