"""What the machine's operator does from the command line: no key, full reach, still audited.

The CLI (``bytespike keys list|revoke|rotate``, ``orgs create``, ``groups grant``) calls these.
Key changes are announced on Redis when it is configured, so running gateways drop the key at
once; otherwise their one-second key cache expires it.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from bytespike.access.keys_admin import KeyManager
from bytespike.access.orgs import OrgManager
from bytespike.access.retirement import KeyRetirement
from bytespike.access.secrets import KeySealer
from bytespike.errors import GatewayError
from bytespike.routing.catalogue import Catalogue
from bytespike.state.key_events import KeyEvents
from bytespike.state.redis import RedisState
from bytespike.storage import accounts, audit, directory, key_changes
from bytespike.storage.orgs import OrgRecord
from bytespike.storage.records import KeyRecord, UserRecord


class Operator:
    def __init__(
        self,
        engine: AsyncEngine,
        sealer: KeySealer,
        catalogue: Catalogue,
        redis_url: str | None,
        redis_prefix: str = "bytespike:",
    ) -> None:
        self._engine = engine
        self._events = KeyEvents(lambda: None, redis_url, prefix=redis_prefix)
        # Gateways sharing Redis learn of revocations in their admission step too; the embedded
        # default's in-process state is out of reach here (its 1 s key cache bounds the change).
        self._state = RedisState(redis_url, prefix=redis_prefix) if redis_url else None
        retirement = KeyRetirement(self._state)
        self._keys = KeyManager(engine, sealer, catalogue, self._events, retirement)
        self._orgs = OrgManager(engine, self._events, retirement)

    async def close(self) -> None:
        await self._events.close()
        if self._state is not None:
            await self._state.close()

    async def _user(self, email: str) -> UserRecord:
        async with self._engine.connect() as conn:
            user = await accounts.get_user_by_email(conn, email)
        if user is None:
            raise GatewayError(404, "not_found", f"no user with email {email!r}", "email")
        return user

    async def list_keys(self, email: str) -> list[KeyRecord]:
        user = await self._user(email)
        async with self._engine.connect() as conn:
            return await key_changes.list_keys(conn, user_id=user.id, limit=100_000)

    async def revoke(self, key_id: int) -> tuple[KeyRecord, list[int]]:
        return await self._keys.revoke(None, key_id)

    async def rotate(self, key_id: int, grace_seconds: int) -> tuple[KeyRecord, str]:
        return await self._keys.rotate(None, key_id, grace_seconds)

    async def create_org(self, name: str, owner_email: str) -> OrgRecord:
        owner = await self._user(owner_email)
        return await self._orgs.create(name=name, owner_user_id=owner.id, actor_user_id=None)

    async def grant_group(self, email: str, group: str) -> bool:
        """Grant ``group`` to the user; False when the grant existed already."""
        user = await self._user(email)
        async with self._engine.begin() as conn:
            group_id = await accounts.get_group_id(conn, group)
            if group_id is None:
                raise GatewayError(404, "not_found", f"no routing group {group!r}", "group")
            added = await directory.grant_group(conn, user.id, group_id)
            await audit.record(
                conn,
                action="admin.group_grant",
                target_type="user",
                target_id=user.id,
                actor_user_id=None,
                actor_key_id=None,
                ip=None,
                detail={"group_id": group_id, "via": "cli"},
            )
        return added
