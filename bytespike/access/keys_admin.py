"""The key lifecycle behind the management API: create, list, edit, reveal, rotate, revoke.

Who may touch which key: a top-level key acts for its user and reaches every key of that user;
a sub-key reaches only itself and its descendants. Anything else is answered as if the key did
not exist (404), so ids of other users' keys leak nothing. Every change is written together
with its audit-log entry in one transaction, then announced through `KeyEvents` so every
gateway process drops its key cache.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bytespike.access import key_settings
from bytespike.access.actor import Actor
from bytespike.access.retirement import KeyRetirement
from bytespike.access.scopes import ADMIN, DEFAULT_SCOPES
from bytespike.access.secrets import KEY_PREFIX, KeySealer, generate_secret, is_well_formed, mask
from bytespike.access.subkeys import KeyLimitsView, excess_over_parent
from bytespike.errors import GatewayError
from bytespike.routing.catalogue import Catalogue
from bytespike.state.key_events import KeyEvents
from bytespike.storage import accounts, audit, directory, key_changes, orgs, user_settings
from bytespike.storage import keys as key_rows
from bytespike.storage import model_quotas as model_quota_rows
from bytespike.storage.records import KeyRecord

MAX_GRACE_SECONDS = 7 * 24 * 3600
ORG_KEY_ROLES = frozenset({"owner", "admin"})
"""Org members who may create keys spending from the org wallet."""


def key_status(record: KeyRecord, now: datetime | None = None) -> str:
    """``active``, ``revoked`` or ``expired`` (expiry is computed, never stored)."""
    if record.status != "active":
        return record.status
    if record.expires_at is not None and record.expires_at <= (now or datetime.now(UTC)):
        return "expired"
    return "active"


def not_found(key_id: int) -> GatewayError:
    return GatewayError(404, "not_found", f"no key with id {key_id}", "id")


def _limits(record: KeyRecord) -> KeyLimitsView:
    return KeyLimitsView(
        group_id=record.group_id,
        quota_micros=record.quota_micros,
        rate_limit_5h_micros=record.rate_limit_5h_micros,
        rate_limit_1d_micros=record.rate_limit_1d_micros,
        rate_limit_7d_micros=record.rate_limit_7d_micros,
        ip_whitelist=record.ip_whitelist,
        ip_blacklist=record.ip_blacklist,
        allowed_models=record.allowed_models,
        scopes=record.scopes,
        expires_at=record.expires_at,
        model_quotas=dict(record.model_quotas),
    )


async def with_model_quotas(conn: AsyncConnection, records: list[KeyRecord]) -> list[KeyRecord]:
    """The records with their per-model caps loaded (one query)."""
    by_key: dict[int, list[tuple[str, int]]] = {}
    for row in await model_quota_rows.of_keys(conn, [r.id for r in records]):
        by_key.setdefault(row.key_id, []).append((row.model, row.quota_micros))
    return [replace(r, model_quotas=tuple(by_key.get(r.id, ()))) for r in records]


@dataclass(frozen=True, slots=True)
class KeyListing:
    keys: list[KeyRecord]
    has_more: bool


class KeyManager:
    def __init__(
        self,
        engine: AsyncEngine,
        sealer: KeySealer,
        catalogue: Catalogue,
        events: KeyEvents,
        retirement: KeyRetirement | None = None,
    ) -> None:
        self._engine = engine
        self._sealer = sealer
        self._catalogue = catalogue
        self._events = events
        self._retirement = retirement or KeyRetirement(None)
        """Marks revoked keys and rotated-out secrets in the hot state (admission refuses them)."""

    # ------------------------------------------------------------------ reach
    async def _reachable(self, conn: AsyncConnection, actor: Actor) -> list[int] | None:
        """Key ids a sub-key may touch (itself and descendants); None = all of the user's."""
        if not actor.is_subkey:
            return None
        return [actor.key_id, *await key_changes.descendant_ids(conn, actor.key_id)]

    async def _reach(self, conn: AsyncConnection, actor: Actor | None, key_id: int) -> KeyRecord:
        """The key, if ``actor`` may touch it (None: the operator, through the CLI, reaches all)."""
        record = await key_rows.get_key(conn, key_id)
        if record is None or (actor is not None and record.user_id != actor.user_id):
            raise not_found(key_id)
        reachable = await self._reachable(conn, actor) if actor is not None else None
        if reachable is not None and key_id not in reachable:
            raise not_found(key_id)
        return (await with_model_quotas(conn, [record]))[0]

    async def _audit(
        self,
        conn: AsyncConnection,
        actor: Actor | None,
        action: str,
        key_id: int,
        detail: dict[str, Any] | None = None,
    ) -> None:
        await audit.record(
            conn,
            action=action,
            target_type="api_key",
            target_id=key_id,
            actor_user_id=actor.user_id if actor is not None else None,
            actor_key_id=actor.key_id if actor is not None else None,
            ip=actor.ip if actor is not None else None,
            detail={**(detail or {}), **({} if actor is not None else {"via": "cli"})},
        )

    async def _scope_ceiling(
        self, conn: AsyncConnection, actor: Actor, parent: KeyRecord | None, wanted: list[str]
    ) -> None:
        """A key never grants a scope its creator (or its parent) lacks; ``admin`` needs an admin."""
        ceiling = set(actor.principal.scopes)
        if parent is not None:
            ceiling &= set(parent.scopes)
        beyond = sorted(set(wanted) - ceiling)
        if beyond:
            raise GatewayError(
                403,
                "permission_denied",
                f"cannot grant scopes this key does not hold: {', '.join(beyond)}",
                "scopes",
            )
        if ADMIN in wanted:
            user = await directory.get_user(conn, actor.user_id)
            if user is None or user.role != "admin":
                raise GatewayError(
                    403, "permission_denied", "only administrators hold the 'admin' scope", "scopes"
                )

    async def _group(
        self, conn: AsyncConnection, actor: Actor, fields: Mapping[str, Any]
    ) -> directory.GroupRecord:
        group_id = fields.get("group_id")
        group_name = fields.get("group")
        groups = await directory.list_groups(conn)
        match = [
            g
            for g in groups
            if (group_id is not None and g.id == group_id) or (group_id is None and g.name == group_name)
        ]
        if not match:
            raise key_settings.bad(
                f"unknown routing group {group_id if group_id is not None else group_name!r}",
                "group_id" if group_id is not None else "group",
            )
        group = match[0]
        if group_id is not None and group_name is not None and group.name != group_name:
            raise key_settings.bad("group and group_id name different routing groups", "group")
        if not group.is_public and group.id not in await directory.granted_group_ids(conn, actor.user_id):
            raise GatewayError(
                403,
                "permission_denied",
                f"routing group {group.name!r} is exclusive and this account has no grant for it",
                "group_id",
            )
        return group

    def _callable_models(self, group: str, allowed: Any) -> frozenset[str]:
        """Models a key of ``group`` narrowed to ``allowed`` (None: the whole group) can call."""
        models = self._group_models(group)
        return models if allowed is None else models & frozenset(allowed)

    def _group_models(self, name: str) -> frozenset[str]:
        group = self._catalogue.groups.get(name)
        return group.models if group is not None else frozenset()

    # ------------------------------------------------------------------ create
    async def create(self, actor: Actor, fields: Mapping[str, Any]) -> tuple[KeyRecord, str]:
        """Create a key (a sub-key when it has a parent); returns it and its secret, shown once."""
        now = datetime.now(UTC)
        async with self._engine.begin() as conn:
            # Spec §2.4/§8: the email must be verified before any API key is created, whichever
            # surface asks (operator-created accounts are verified at creation).
            if await user_settings.email_verified_at(conn, actor.user_id) is None:
                raise GatewayError(
                    403,
                    "email_not_verified",
                    "verify your email address (the code mailed at sign-up) before creating API keys",
                )
            parent_id = fields.get("parent_key_id")
            if parent_id is None and actor.is_subkey:
                parent_id = actor.key_id
            parent = await self._reach(conn, actor, parent_id) if parent_id is not None else None
            if parent is not None and key_status(parent, now) != "active":
                raise GatewayError(
                    409,
                    "key_not_active",
                    f"parent key {parent.id} is {key_status(parent, now)}",
                    "parent_key_id",
                )
            if parent is not None and "group_id" not in fields and "group" not in fields:
                fields = {**fields, "group_id": parent.group_id}
            if "group_id" not in fields and "group" not in fields:
                raise key_settings.bad("group_id is required", "group_id")
            group = await self._group(conn, actor, fields)
            values = key_settings.columns(
                fields, group_models=self._group_models(group.name), group=group.name
            )
            if "model_quotas" in fields:
                allowed = values.get("allowed_models", parent.allowed_models if parent else None)
                values["model_quotas"] = key_settings.model_quotas(
                    fields["model_quotas"], self._callable_models(group.name, allowed)
                )
            values.setdefault("name", "default")
            if parent is not None:
                parent = (await with_model_quotas(conn, [parent]))[0]
                inherited = _limits(parent)
                for column in (
                    "quota_micros",
                    "rate_limit_5h_micros",
                    "rate_limit_1d_micros",
                    "rate_limit_7d_micros",
                    "ip_whitelist",
                    "ip_blacklist",
                    "allowed_models",
                    "expires_at",
                ):
                    values.setdefault(column, getattr(inherited, column))
                # Key management is never inherited by default: a child gets it only when asked.
                values.setdefault(
                    "scopes",
                    [s for s in parent.scopes if s in DEFAULT_SCOPES and s in actor.principal.scopes],
                )
                excess = excess_over_parent({**values, "group_id": group.id}, inherited)
                if excess is not None:
                    raise key_settings.bad(excess[1], excess[0])
            else:
                values.setdefault("scopes", [s for s in DEFAULT_SCOPES if s in actor.principal.scopes])
            await self._scope_ceiling(conn, actor, parent, values["scopes"])
            org_id, wallet_id = await self._wallet_for(conn, actor, fields.get("org_id"), parent)
            secret = self._secret(fields.get("custom_key"))
            digest = self._sealer.lookup_hash(secret)
            if await key_changes.is_secret_taken(conn, digest):
                raise GatewayError(409, "duplicate_key", "custom_key is already in use", "custom_key")
            key_id = await key_rows.insert_key(
                conn,
                key_rows.NewKey(
                    user_id=actor.user_id,
                    wallet_id=wallet_id,
                    group_id=group.id,
                    name=values["name"],
                    lookup_hash=digest,
                    secret_ciphertext=self._sealer.seal(secret),
                    masked_key=mask(secret),
                    org_id=org_id,
                    parent_key_id=parent.id if parent is not None else None,
                    quota_micros=values.get("quota_micros", 0),
                    rate_limit_5h_micros=values.get("rate_limit_5h_micros", 0),
                    rate_limit_1d_micros=values.get("rate_limit_1d_micros", 0),
                    rate_limit_7d_micros=values.get("rate_limit_7d_micros", 0),
                    ip_whitelist=values.get("ip_whitelist", ()),
                    ip_blacklist=values.get("ip_blacklist", ()),
                    allowed_models=values.get("allowed_models"),
                    scopes=values["scopes"],
                    expires_at=values.get("expires_at"),
                ),
            )
            if values.get("model_quotas"):
                await model_quota_rows.replace(conn, key_id, values["model_quotas"])
            await self._audit(
                conn,
                actor,
                "key.create",
                key_id,
                {"parent_key_id": parent_id, "org_id": org_id, "group_id": group.id},
            )
            record = await key_rows.get_key(conn, key_id)
            assert record is not None
            record = (await with_model_quotas(conn, [record]))[0]
        return record, secret

    def _secret(self, custom: Any) -> str:
        if custom is None:
            return generate_secret()
        if not isinstance(custom, str) or not custom.startswith(KEY_PREFIX) or not is_well_formed(custom):
            raise key_settings.bad(
                f"custom_key must start with {KEY_PREFIX} followed by 16-200 letters, digits, '-' or '_'",
                "custom_key",
            )
        return custom

    async def _wallet_for(
        self, conn: AsyncConnection, actor: Actor, org_id: Any, parent: KeyRecord | None
    ) -> tuple[int | None, int]:
        if parent is not None:
            if org_id is not None and org_id != parent.org_id:
                raise key_settings.bad(
                    "a sub-key spends from its parent's wallet; org_id must match", "org_id"
                )
            return parent.org_id, parent.wallet_id
        if org_id is None:
            return None, (await accounts.get_user_wallet(conn, actor.user_id)).id
        org = await orgs.get_org(conn, org_id)
        role = await orgs.membership(conn, org_id, actor.user_id) if org is not None else None
        if org is None or role is None:
            raise GatewayError(
                404, "not_found", f"no organization with id {org_id} of which you are a member", "org_id"
            )
        if role not in ORG_KEY_ROLES:
            raise GatewayError(
                403, "permission_denied", "only org owners and admins create org keys", "org_id"
            )
        if org.status != "active":
            raise GatewayError(403, "permission_denied", "this organization is paused", "org_id")
        return org.id, org.wallet_id

    # ------------------------------------------------------------------ read
    async def get(self, actor: Actor, key_id: int) -> KeyRecord:
        async with self._engine.connect() as conn:
            return await self._reach(conn, actor, key_id)

    async def list(
        self, actor: Actor, *, status: str | None, parent_key_id: int | None, after_id: int, limit: int
    ) -> KeyListing:
        async with self._engine.connect() as conn:
            within = await self._reachable(conn, actor)
            rows = await key_changes.list_keys(
                conn,
                user_id=actor.user_id,
                within=within,
                status=status,
                parent_key_id=parent_key_id,
                after_id=after_id,
                limit=limit + 1,
            )
            page = await with_model_quotas(conn, rows[:limit])
        return KeyListing(page, len(rows) > limit)

    async def available_groups(self, actor: Actor) -> list[directory.GroupRecord]:
        """Public groups and the exclusive groups the user has a grant for."""
        async with self._engine.connect() as conn:
            granted = await directory.granted_group_ids(conn, actor.user_id)
            return [g for g in await directory.list_groups(conn) if g.is_public or g.id in granted]

    async def reveal(self, actor: Actor, key_id: int) -> tuple[KeyRecord, str]:
        """The key's current secret, decrypted for its owner; every reveal is audited."""
        async with self._engine.begin() as conn:
            record = await self._reach(conn, actor, key_id)
            await self._audit(conn, actor, "key.reveal", key_id)
        return record, self._sealer.unseal(record.secret_ciphertext)

    # ------------------------------------------------------------------ change
    async def update(self, actor: Actor, key_id: int, fields: Mapping[str, Any]) -> KeyRecord:
        async with self._engine.begin() as conn:
            record = await self._reach(conn, actor, key_id)
            if record.status != "active":
                raise GatewayError(409, "key_not_active", f"key {key_id} is revoked", "id")
            parent = await key_rows.get_key(conn, record.parent_key_id) if record.parent_key_id else None
            group_name = record.group_name
            values: dict[str, Any] = {}
            if "group_id" in fields or "group" in fields:
                group = await self._group(conn, actor, fields)
                if group.id != record.group_id:
                    if await key_changes.descendant_ids(conn, key_id):
                        raise key_settings.bad(
                            "a key with sub-keys cannot change its routing group", "group_id"
                        )
                    values["group_id"] = group.id
                    group_name = group.name
            values.update(
                key_settings.columns(fields, group_models=self._group_models(group_name), group=group_name)
            )
            if "model_quotas" in fields:
                values["model_quotas"] = key_settings.model_quotas(
                    fields["model_quotas"],
                    self._callable_models(group_name, values.get("allowed_models", record.allowed_models)),
                )
            if "group_id" in values and "allowed_models" not in values and record.allowed_models is not None:
                key_settings.models(record.allowed_models, self._group_models(group_name), group_name)
            if "scopes" in values:
                await self._scope_ceiling(conn, actor, parent, values["scopes"])
            if parent is not None:
                parent = (await with_model_quotas(conn, [parent]))[0]
                excess = excess_over_parent(values, _limits(parent))
                if excess is not None:
                    raise key_settings.bad(excess[1], excess[0])
            quotas = values.pop("model_quotas", None)
            if quotas is not None:
                await model_quota_rows.replace(conn, key_id, quotas)
            if values:
                await key_changes.update_key(conn, key_id, values)
            await self._audit(conn, actor, "key.update", key_id, {"fields": sorted(fields)})
            updated = await key_rows.get_key(conn, key_id)
            assert updated is not None
            updated = (await with_model_quotas(conn, [updated]))[0]
        await self._events.publish()
        assert updated is not None
        return updated

    async def rotate(self, actor: Actor | None, key_id: int, grace_seconds: int = 0) -> tuple[KeyRecord, str]:
        """A fresh secret for the same key; the old one works for ``grace_seconds`` more (0: never)."""
        if isinstance(grace_seconds, bool) or not 0 <= grace_seconds <= MAX_GRACE_SECONDS:
            raise key_settings.bad(
                f"grace_period_seconds must be 0 to {MAX_GRACE_SECONDS}", "grace_period_seconds"
            )
        secret = generate_secret()
        async with self._engine.begin() as conn:
            record = await self._reach(conn, actor, key_id)
            if record.status != "active":
                raise GatewayError(409, "key_not_active", f"key {key_id} is revoked", "id")
            valid_until = datetime.now(UTC) + timedelta(seconds=grace_seconds) if grace_seconds else None
            retired = await key_changes.rotate_secret(
                conn,
                key_id,
                lookup_hash=self._sealer.lookup_hash(secret),
                secret_ciphertext=self._sealer.seal(secret),
                masked_key=mask(secret),
                previous_valid_until=valid_until,
            )
            await self._audit(conn, actor, "key.rotate", key_id, {"grace_period_seconds": grace_seconds})
            updated = await key_rows.get_key(conn, key_id)
            assert updated is not None
            updated = (await with_model_quotas(conn, [updated]))[0]
        await self._retirement.rotated(key_id, retired)
        await self._events.publish()
        assert updated is not None
        return updated, secret

    async def revoke(self, actor: Actor | None, key_id: int) -> tuple[KeyRecord, list[int]]:
        """Revoke the key and every descendant; returns the key and the ids newly revoked."""
        async with self._engine.begin() as conn:
            await self._reach(conn, actor, key_id)
            ids = [key_id, *await key_changes.descendant_ids(conn, key_id)]
            revoked = await key_changes.revoke_keys(conn, ids)
            if revoked:
                await self._audit(conn, actor, "key.revoke", key_id, {"revoked": revoked})
            record = await key_rows.get_key(conn, key_id)
            assert record is not None
            record = (await with_model_quotas(conn, [record]))[0]
        await self._retirement.revoked(revoked)
        await self._events.publish()
        assert record is not None
        return record, revoked
