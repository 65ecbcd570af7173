"""Email + password sign-in (argon2id), answered with a short-lived management key.

There is no cookie session yet: a successful sign-in mints a key named ``console-session``
that expires after a day and holds the management scopes (plus ``admin`` for administrators)
but not ``inference``. Successes and failures are both audited; an unknown email costs the same
hashing work as a wrong password, so timing does not reveal which emails exist.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncEngine

from bytespike.access.scopes import ADMIN, BILLING_READ, KEYS_READ, KEYS_WRITE, MODELS_READ, USAGE_READ
from bytespike.access.secrets import KeySealer, generate_secret, mask
from bytespike.errors import GatewayError
from bytespike.storage import accounts, audit, directory
from bytespike.storage import keys as key_rows
from bytespike.storage.records import UserRecord

SESSION_KEY_NAME = "console-session"
SESSION_LIFETIME = timedelta(days=1)
SESSION_SCOPES = (MODELS_READ, USAGE_READ, BILLING_READ, KEYS_READ, KEYS_WRITE)
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("bytespike-timing-equalizer")


@dataclass(frozen=True, slots=True)
class Session:
    user: UserRecord
    key_id: int
    key: str
    """The session key's secret, shown once."""
    expires_at: datetime


def _verify(stored: str | None, password: str) -> bool:
    """argon2id verification (tens of milliseconds of CPU: run off the event loop)."""
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def _refused() -> GatewayError:
    return GatewayError(401, "invalid_credentials", "email or password is wrong")


async def sign_in(
    engine: AsyncEngine, sealer: KeySealer, *, email: str, password: str, ip: str | None
) -> Session:
    async with engine.connect() as conn:
        found = await directory.password_hash(conn, email)
    user, stored = found if found is not None else (None, None)
    ok = await asyncio.to_thread(_verify, stored, password)
    if not ok or user is None or user.status != "active":
        async with engine.begin() as conn:
            await audit.record(
                conn,
                action="user.sign_in_failed",
                target_type="user",
                target_id=user.id if user else None,
                actor_user_id=user.id if user else None,
                actor_key_id=None,
                ip=ip,
                detail={"email": email.strip().lower()[:320]},
            )
        raise _refused()
    secret = generate_secret()
    expires_at = datetime.now(UTC) + SESSION_LIFETIME
    scopes = [*SESSION_SCOPES, ADMIN] if user.role == "admin" else list(SESSION_SCOPES)
    async with engine.begin() as conn:
        groups = [g for g in await directory.list_groups(conn) if g.is_public]
        if not groups:
            raise GatewayError(
                503, "no_public_group", "no public routing group exists to bind a session key to"
            )
        group = next((g for g in groups if g.name == "default"), groups[0])
        wallet = await accounts.get_user_wallet(conn, user.id)
        key_id = await key_rows.insert_key(
            conn,
            key_rows.NewKey(
                user_id=user.id,
                wallet_id=wallet.id,
                group_id=group.id,
                name=SESSION_KEY_NAME,
                lookup_hash=sealer.lookup_hash(secret),
                secret_ciphertext=sealer.seal(secret),
                masked_key=mask(secret),
                scopes=scopes,
                expires_at=expires_at,
            ),
        )
        await audit.record(
            conn,
            action="user.sign_in",
            target_type="user",
            target_id=user.id,
            actor_user_id=user.id,
            actor_key_id=key_id,
            ip=ip,
            detail={"session_key_id": key_id},
        )
    return Session(user, key_id, secret, expires_at)
