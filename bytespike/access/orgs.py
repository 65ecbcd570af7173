"""Organisations: an org wallet shared by its keys, members in roles owner/admin/member.

Org-owned keys spend from the org wallet (and carry ``X-Org-Quota-Remaining-Credits``); pausing
an org makes every one of its keys answer 403 ``permission_denied`` until it is resumed. Only
administrators create, pause and staff orgs (the admin API and ``bytespike orgs create``).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bytespike.access.retirement import KeyRetirement
from bytespike.errors import GatewayError
from bytespike.state.key_events import KeyEvents
from bytespike.storage import audit, directory, key_changes, orgs
from bytespike.storage.orgs import MemberRecord, OrgRecord

ORG_ROLES = ("owner", "admin", "member")
ORG_STATUSES = ("active", "paused")


def _bad(message: str, field: str) -> GatewayError:
    return GatewayError(400, "invalid_param", message, field)


def _org_name(name: object) -> str:
    text = str(name).strip()
    if not text or len(text) > 200:
        raise _bad("name must be 1 to 200 characters", "name")
    return text


class OrgManager:
    def __init__(
        self, engine: AsyncEngine, events: KeyEvents | None = None, retirement: KeyRetirement | None = None
    ) -> None:
        self._engine = engine
        self._events = events
        self._retirement = retirement or KeyRetirement(None)

    async def _changed(self) -> None:
        if self._events is not None:
            await self._events.publish()

    async def _org(self, conn: AsyncConnection, org_id: int) -> OrgRecord:
        org = await orgs.get_org(conn, org_id)
        if org is None:
            raise GatewayError(404, "not_found", f"no organization with id {org_id}", "org_id")
        return org

    async def create(
        self, *, name: str, owner_user_id: int, actor_user_id: int | None, ip: str | None = None
    ) -> OrgRecord:
        async with self._engine.begin() as conn:
            if await directory.get_user(conn, owner_user_id) is None:
                raise GatewayError(404, "not_found", f"no user with id {owner_user_id}", "owner_user_id")
            org = await orgs.create_org(conn, name=_org_name(name), owner_user_id=owner_user_id)
            await audit.record(
                conn,
                action="admin.org_create",
                target_type="org",
                target_id=org.id,
                actor_user_id=actor_user_id,
                actor_key_id=None,
                ip=ip,
                detail={"owner_user_id": owner_user_id},
            )
        return org

    async def get(self, org_id: int) -> tuple[OrgRecord, list[MemberRecord]]:
        async with self._engine.connect() as conn:
            org = await self._org(conn, org_id)
            return org, await orgs.members(conn, org_id)

    async def list(self, *, after_id: int, limit: int) -> list[OrgRecord]:
        async with self._engine.connect() as conn:
            return await orgs.list_orgs(conn, after_id=after_id, limit=limit)

    async def update(
        self,
        org_id: int,
        *,
        name: str | None,
        status: str | None,
        actor_user_id: int,
        actor_key_id: int | None,
        ip: str | None,
    ) -> OrgRecord:
        if status is not None and status not in ORG_STATUSES:
            raise _bad(f"status must be one of {', '.join(ORG_STATUSES)}", "status")
        async with self._engine.begin() as conn:
            await self._org(conn, org_id)
            await orgs.update_org(
                conn, org_id, name=_org_name(name) if name is not None else None, status=status
            )
            await audit.record(
                conn,
                action="admin.org_update",
                target_type="org",
                target_id=org_id,
                actor_user_id=actor_user_id,
                actor_key_id=actor_key_id,
                ip=ip,
                detail={k: v for k, v in (("name", name), ("status", status)) if v is not None},
            )
            org = await self._org(conn, org_id)
        await self._changed()
        return org

    async def set_member(
        self,
        org_id: int,
        user_id: int,
        role: str,
        *,
        actor_user_id: int,
        actor_key_id: int | None,
        ip: str | None,
    ) -> list[MemberRecord]:
        if role not in ORG_ROLES:
            raise _bad(f"role must be one of {', '.join(ORG_ROLES)}", "role")
        async with self._engine.begin() as conn:
            await self._org(conn, org_id)
            if await directory.get_user(conn, user_id) is None:
                raise GatewayError(404, "not_found", f"no user with id {user_id}", "user_id")
            current = await orgs.membership(conn, org_id, user_id)
            if current == "owner" and role != "owner" and await orgs.count_owners(conn, org_id) == 1:
                raise GatewayError(409, "last_owner", "an organization keeps at least one owner", "role")
            await orgs.set_member(conn, org_id, user_id, role)
            await audit.record(
                conn,
                action="admin.org_member_set",
                target_type="org",
                target_id=org_id,
                actor_user_id=actor_user_id,
                actor_key_id=actor_key_id,
                ip=ip,
                detail={"user_id": user_id, "role": role},
            )
            return await orgs.members(conn, org_id)

    async def remove_member(
        self, org_id: int, user_id: int, *, actor_user_id: int, actor_key_id: int | None, ip: str | None
    ) -> list[MemberRecord]:
        async with self._engine.begin() as conn:
            await self._org(conn, org_id)
            current = await orgs.membership(conn, org_id, user_id)
            if current is None:
                raise GatewayError(
                    404, "not_found", f"user {user_id} is not a member of org {org_id}", "user_id"
                )
            if current == "owner" and await orgs.count_owners(conn, org_id) == 1:
                raise GatewayError(409, "last_owner", "an organization keeps at least one owner", "user_id")
            await orgs.remove_member(conn, org_id, user_id)
            # A former member's org keys would otherwise keep spending the org wallet.
            revoked = await key_changes.revoke_keys(
                conn, await key_changes.org_key_ids(conn, org_id=org_id, user_id=user_id)
            )
            await audit.record(
                conn,
                action="admin.org_member_remove",
                target_type="org",
                target_id=org_id,
                actor_user_id=actor_user_id,
                actor_key_id=actor_key_id,
                ip=ip,
                detail={"user_id": user_id, "revoked_keys": revoked},
            )
            members = await orgs.members(conn, org_id)
        await self._retirement.revoked(revoked)
        await self._changed()
        return members
