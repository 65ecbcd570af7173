"""Browser sessions of the console, each backed by a short-lived key of its own.

Signing in mints a key named ``console-browser-session`` that expires with the session and holds
the user's full authority (every scope but ``admin``, plus ``admin`` for administrators), so the
console acts through exactly the domain code the management API uses (`Actor` over a
`Principal`), and its audit entries name a real key. The key's secret never reaches the browser
in the clear: the cookie carries its AES-GCM sealed copy (inside an itsdangerous signature, see
web/console/cookies.py), and each request resolves it through the same `KeyResolver` cache as
the gateway, so a revoked session (sign-out, password reset, disabled user) stops at once.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bytespike.access.authenticator import KeyResolver
from bytespike.access.principal import Principal
from bytespike.access.scopes import ADMIN, ALL_SCOPES
from bytespike.access.secrets import KeySealer, generate_secret, mask
from bytespike.errors import GatewayError
from bytespike.state.key_events import KeyEvents
from bytespike.storage import accounts, audit, directory, key_changes, user_settings
from bytespike.storage import keys as key_rows
from bytespike.storage.records import UserRecord

SESSION_KEY_NAME = "console-browser-session"
SESSION_LIFETIME = timedelta(hours=12)


def is_session_key(name: str) -> bool:
    return name == SESSION_KEY_NAME


class ConsoleSessions:
    def __init__(
        self, engine: AsyncEngine, sealer: KeySealer, resolver: KeyResolver, events: KeyEvents
    ) -> None:
        self._engine = engine
        self._sealer = sealer
        self._resolver = resolver
        self._events = events

    async def open(self, user: UserRecord, *, ip: str | None, method: str) -> str:
        """Mint the session key; returns the sealed token the cookie carries."""
        secret = generate_secret()
        scopes = sorted(ALL_SCOPES if user.role == "admin" else ALL_SCOPES - {ADMIN})
        async with self._engine.begin() as conn:
            groups = [g for g in await directory.list_groups(conn) if g.is_public]
            if not groups:
                raise GatewayError(
                    503, "no_public_group", "no public routing group exists to bind a session to"
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
                    lookup_hash=self._sealer.lookup_hash(secret),
                    secret_ciphertext=self._sealer.seal(secret),
                    masked_key=mask(secret),
                    scopes=scopes,
                    expires_at=datetime.now(UTC) + SESSION_LIFETIME,
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
                detail={"console_session_key_id": key_id, "method": method},
            )
        return base64.urlsafe_b64encode(self._sealer.seal(secret)).decode()

    async def resume(self, token: str) -> Principal | None:
        """The session's principal, or None when the token is forged, expired or revoked."""
        try:
            secret = self._sealer.unseal(base64.urlsafe_b64decode(token.encode()))
        except (ValueError, binascii.Error):
            return None
        try:
            return await self._resolver.authenticate(secret)
        except GatewayError:
            return None

    async def close(self, principal: Principal, *, ip: str | None) -> None:
        async with self._engine.begin() as conn:
            await key_changes.revoke_keys(conn, [principal.key_id])
            await audit.record(
                conn,
                action="user.sign_out",
                target_type="user",
                target_id=principal.user_id,
                actor_user_id=principal.user_id,
                actor_key_id=principal.key_id,
                ip=ip,
            )
        await self._events.publish()

    async def close_all(self, user_id: int) -> None:
        """End every console session of a user (after a password reset)."""
        async with self._engine.begin() as conn:
            ids = await user_settings.active_keys_named(conn, user_id, SESSION_KEY_NAME)
            await key_changes.revoke_keys(conn, ids)
        await self._events.publish()
