"""Read-only views the console needs that the management API does not expose as such: the org
wallets a member sees, the keys of the orgs a user runs, every routing group with a user's
grants, a user's wallet (for administrators), and the secret of a user's own key for the Test
page's probe."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from bytespike.access.actor import Actor
from bytespike.access.console_sessions import is_session_key
from bytespike.access.keys_admin import ORG_KEY_ROLES, KeyManager, not_found
from bytespike.access.secrets import KeySealer
from bytespike.errors import GatewayError
from bytespike.storage import accounts, directory, org_keys, orgs
from bytespike.storage.directory import GroupRecord
from bytespike.storage.orgs import OrgRecord
from bytespike.storage.records import KeyRecord, WalletRecord


@dataclass(frozen=True, slots=True)
class OrgWallet:
    org: OrgRecord
    role: str
    wallet: WalletRecord


class ConsoleViews:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def org_wallets(self, user_id: int) -> list[OrgWallet]:
        """The wallet of every org the user belongs to (every member sees it, spec §1 "org wallets")."""
        async with self._engine.connect() as conn:
            found = []
            for org, role in await orgs.memberships(conn, user_id):
                wallet = await accounts.get_wallet(conn, org.wallet_id)
                assert wallet is not None
                found.append(OrgWallet(org, role, wallet))
        return found

    async def org_keys(self, user_id: int) -> list[tuple[OrgRecord, list[KeyRecord]]]:
        """Every key of each org the user owns or administers (members see only their own)."""
        async with self._engine.connect() as conn:
            return [
                (org, await org_keys.keys_of_org(conn, org.id))
                for org, role in await orgs.memberships(conn, user_id)
                if role in ORG_KEY_ROLES
            ]

    async def groups_with_grants(self, actor: Actor, user_id: int) -> tuple[list[GroupRecord], set[int]]:
        """Every routing group and the ids ``user_id`` holds a grant for (administrators only)."""
        async with self._engine.connect() as conn:
            caller = await directory.get_user(conn, actor.user_id)
            if caller is None or caller.role != "admin":
                raise GatewayError(403, "permission_denied", "this view is for administrators")
            return await directory.list_groups(conn), await directory.granted_group_ids(conn, user_id)

    async def user_wallet(self, actor: Actor, user_id: int) -> WalletRecord:
        async with self._engine.connect() as conn:
            caller = await directory.get_user(conn, actor.user_id)
            if caller is None or caller.role != "admin":
                raise GatewayError(403, "permission_denied", "this view is for administrators")
            return await accounts.get_user_wallet(conn, user_id)


async def probe_credential(
    keys: KeyManager, sealer: KeySealer, actor: Actor, key_id: int
) -> tuple[KeyRecord, str]:
    """A key of the actor's own and its secret, for a server-side probe (never shown)."""
    record = await keys.get(actor, key_id)
    if is_session_key(record.name):
        raise not_found(key_id)
    return record, sealer.unseal(record.secret_ciphertext)
