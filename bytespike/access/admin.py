"""What administrators do through the API: users, group grants, credit adjustments, the audit log.

Every entry point re-reads the caller's user row and requires ``role = admin`` (the ``admin``
scope on the key is checked by the route as well), and every change is audited. An admin cannot
disable or demote their own account, so the last admin cannot lock everyone out by accident.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bytespike.access.actor import Actor
from bytespike.access.issuance import hash_password
from bytespike.errors import GatewayError
from bytespike.money import usd_to_micros
from bytespike.state.key_events import KeyEvents
from bytespike.storage import accounts, audit, directory, ledger, orgs
from bytespike.storage.audit import AuditRecord
from bytespike.storage.records import LedgerEntryRecord, UserRecord

USER_ROLES = ("user", "admin")
USER_STATUSES = ("active", "disabled")
USER_TIERS = ("free", "pro", "max", "enterprise")
UNCHANGED = object()
"""An optional field the caller did not send (None means "clear it")."""
MAX_CONCURRENCY_LIMIT = 1_000_000
"""Largest explicit concurrency cap an administrator may set (0 = unlimited)."""
MAX_ADJUSTMENT_MICROS = 10**12
"""One million USD per adjustment."""
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def _bad(message: str, field: str | None) -> GatewayError:
    return GatewayError(400, "invalid_param", message, field)


def check_password(password: str) -> None:
    """Spec §8: at least 12 characters, including a number and a symbol."""
    if (
        len(password) < 12
        or len(password) > 256
        or not any(c.isdigit() for c in password)
        or all(c.isalnum() for c in password)
    ):
        raise _bad("password must be 12 to 256 characters and include a number and a symbol", "password")


@dataclass(frozen=True, slots=True)
class Adjustment:
    entry: LedgerEntryRecord
    is_new: bool
    """False when the idempotency key was seen before (nothing moved this time)."""


WalletMoved = Callable[[int, int, int], Awaitable[None]]
"""``(wallet id, ledger entry id, amount micro-USD)``: tells the billing meter about a movement."""


async def _nobody_told(_wallet_id: int, _entry_id: int, _amount: int) -> None:
    return None


async def audit_as(
    conn: AsyncConnection, actor: Actor | None, action: str, target_type: str, target_id: object, detail: dict
) -> None:
    """One audit entry in the caller's transaction; ``actor`` None is the operator's CLI."""
    await audit.record(
        conn,
        action=action,
        target_type=target_type,
        target_id=target_id,
        actor_user_id=actor.user_id if actor else None,
        actor_key_id=actor.key_id if actor else None,
        ip=actor.ip if actor else None,
        detail=detail if actor else {**detail, "via": "cli"},
    )


class Administration:
    def __init__(self, engine: AsyncEngine, events: KeyEvents, wallet_moved: WalletMoved = _nobody_told) -> None:
        self._engine = engine
        self._events = events
        self._wallet_moved = wallet_moved
        """Called after a credit adjustment commits, so admission sees the new balance at once."""

    async def require_admin(self, conn: AsyncConnection, actor: Actor) -> UserRecord:
        user = await directory.get_user(conn, actor.user_id)
        if user is None or user.role != "admin" or user.status != "active":
            raise GatewayError(403, "permission_denied", "this endpoint is for administrators")
        return user

    async def ensure_admin(self, actor: Actor) -> UserRecord:
        async with self._engine.connect() as conn:
            return await self.require_admin(conn, actor)

    async def _audit(
        self,
        conn: AsyncConnection,
        actor: Actor,
        action: str,
        target_type: str,
        target_id: object,
        detail: dict,
    ) -> None:
        await audit_as(conn, actor, action, target_type, target_id, detail)

    async def _user(self, conn: AsyncConnection, user_id: int) -> UserRecord:
        user = await directory.get_user(conn, user_id)
        if user is None:
            raise GatewayError(404, "not_found", f"no user with id {user_id}", "user_id")
        return user

    # ------------------------------------------------------------------ users
    async def list_users(
        self, actor: Actor, *, email: str | None, after_id: int, limit: int
    ) -> list[UserRecord]:
        async with self._engine.connect() as conn:
            await self.require_admin(conn, actor)
            return await directory.list_users(conn, email=email, after_id=after_id, limit=limit)

    async def get_user(self, actor: Actor, user_id: int) -> UserRecord:
        async with self._engine.connect() as conn:
            await self.require_admin(conn, actor)
            return await self._user(conn, user_id)

    async def create_user(self, actor: Actor, *, email: str, password: str | None, role: str) -> UserRecord:
        email = email.strip()
        if not _EMAIL.match(email) or len(email) > 320:
            raise _bad(f"{email!r} is not an email address", "email")
        if role not in USER_ROLES:
            raise _bad(f"role must be one of {', '.join(USER_ROLES)}", "role")
        if password is not None:
            check_password(password)
        async with self._engine.begin() as conn:
            await self.require_admin(conn, actor)
            try:
                user = await accounts.create_user(
                    conn,
                    email=email,
                    password_hash=hash_password(password) if password else None,
                    role=role,
                    verified=True,
                )
            except accounts.DuplicateError as exc:
                raise GatewayError(409, "duplicate_user", str(exc), "email") from exc
            await self._audit(
                conn, actor, "admin.user_create", "user", user.id, {"email": user.email, "role": role}
            )
        return user

    async def update_user(
        self,
        actor: Actor,
        user_id: int,
        *,
        role: str | None,
        status: str | None,
        tier: str | None,
        concurrency_limit: object = UNCHANGED,
    ) -> UserRecord:
        """Change what is given; ``concurrency_limit`` None goes back to the tier's cap (spec
        §4.7: Enterprise is "custom"), and it reaches admission within the cap cache's TTL."""
        for value, allowed, field in (
            (role, USER_ROLES, "role"),
            (status, USER_STATUSES, "status"),
            (tier, USER_TIERS, "tier"),
        ):
            if value is not None and value not in allowed:
                raise _bad(f"{field} must be one of {', '.join(allowed)}", field)
        if concurrency_limit is not UNCHANGED and concurrency_limit is not None and not (
            isinstance(concurrency_limit, int)
            and not isinstance(concurrency_limit, bool)
            and 0 <= concurrency_limit <= MAX_CONCURRENCY_LIMIT
        ):
            raise _bad(
                f"concurrency_limit must be a whole number from 0 (unlimited) to {MAX_CONCURRENCY_LIMIT:,}",
                "concurrency_limit",
            )
        async with self._engine.begin() as conn:
            await self.require_admin(conn, actor)
            await self._user(conn, user_id)
            if user_id == actor.user_id and (role == "user" or status == "disabled"):
                raise GatewayError(
                    409, "self_lockout", "administrators cannot demote or disable themselves", "user_id"
                )
            changes: dict[str, object] = {
                k: v for k, v in (("role", role), ("status", status), ("tier", tier)) if v is not None
            }
            if concurrency_limit is not UNCHANGED:
                changes["concurrency_limit"] = concurrency_limit
            await directory.update_user(conn, user_id, **changes)
            await self._audit(conn, actor, "admin.user_update", "user", user_id, changes)
            user = await self._user(conn, user_id)
        await self._events.publish()
        return user

    # ------------------------------------------------------------------ groups
    async def grant_group(self, actor: Actor, user_id: int, group_id: int, *, grant: bool) -> list[int]:
        """Add (``grant``) or remove a user's grant of a routing group; returns the user's grants."""
        async with self._engine.begin() as conn:
            await self.require_admin(conn, actor)
            await self._user(conn, user_id)
            if await directory.get_group(conn, group_id) is None:
                raise GatewayError(404, "not_found", f"no routing group with id {group_id}", "group_id")
            if grant:
                await directory.grant_group(conn, user_id, group_id)
            elif not await directory.revoke_group(conn, user_id, group_id):
                raise GatewayError(
                    404, "not_found", f"user {user_id} has no grant for group {group_id}", "group_id"
                )
            await self._audit(
                conn,
                actor,
                "admin.group_grant" if grant else "admin.group_revoke",
                "user",
                user_id,
                {"group_id": group_id},
            )
            granted = sorted(await directory.granted_group_ids(conn, user_id))
        await self._events.publish()
        return granted

    # ------------------------------------------------------------------ credits
    async def adjust_credits(
        self,
        actor: Actor,
        *,
        user_id: int | None,
        org_id: int | None,
        amount_usd: object,
        note: str | None,
        idempotency_key: str | None,
    ) -> Adjustment:
        """Credit (positive) or debit (negative) a user's or an org's wallet: one ledger entry."""
        if (user_id is None) == (org_id is None):
            raise _bad("name exactly one of user_id and org_id", "user_id")
        try:
            micros = usd_to_micros(amount_usd, field="amount_usd")
        except ValueError as exc:
            raise _bad(str(exc), "amount_usd") from exc
        if micros == 0 or abs(micros) > MAX_ADJUSTMENT_MICROS:
            raise _bad("amount_usd must be non-zero and at most 1000000 in size", "amount_usd")
        async with self._engine.begin() as conn:
            await self.require_admin(conn, actor)
            if user_id is not None:
                await self._user(conn, user_id)
                wallet_id = (await accounts.get_user_wallet(conn, user_id)).id
            else:
                org = await orgs.get_org(conn, org_id)  # type: ignore[arg-type]
                if org is None:
                    raise GatewayError(404, "not_found", f"no organization with id {org_id}", "org_id")
                wallet_id = org.wallet_id
            admin = await self._user(conn, actor.user_id)
            key = f"admin:{idempotency_key}" if idempotency_key else f"admin:{uuid.uuid4().hex}"
            entry, is_new = await ledger.apply_movement(
                conn,
                wallet_id=wallet_id,
                kind="admin_credit" if micros > 0 else "admin_debit",
                amount_micros=micros,
                idempotency_key=key,
                source={"actor": admin.email},
                note=note,
            )
            if not is_new and (entry.wallet_id, entry.amount_micros) != (wallet_id, micros):
                # Keys are global: a replay must be the same movement, not another one that
                # happened to reuse the key (answering "replayed" would hide a lost adjustment).
                raise GatewayError(
                    409,
                    "idempotency_key_reused",
                    f"idempotency_key {idempotency_key!r} was already used for a different "
                    "adjustment (another wallet or amount)",
                    "idempotency_key",
                )
            if is_new:
                await self._audit(
                    conn,
                    actor,
                    "admin.credit_adjust",
                    "wallet",
                    wallet_id,
                    {
                        "amount_micros": micros,
                        "ledger_entry_id": entry.id,
                        "user_id": user_id,
                        "org_id": org_id,
                    },
                )
        if is_new:
            await self._wallet_moved(wallet_id, entry.id, entry.amount_micros)
        return Adjustment(entry, is_new)

    # ------------------------------------------------------------------ audit
    async def audit_log(
        self, actor: Actor, *, action: str | None, before_id: int | None, limit: int
    ) -> list[AuditRecord]:
        async with self._engine.connect() as conn:
            await self.require_admin(conn, actor)
            return await audit.list_entries(conn, action=action, before_id=before_id, limit=limit)
