"""Every key spending from an org's wallet, whoever created it (what org owners and admins see)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from bytespike.storage.keys import key_from_row, select_keys
from bytespike.storage.records import KeyRecord
from bytespike.storage.schema import api_keys


async def keys_of_org(conn: AsyncConnection, org_id: int, *, limit: int = 500) -> list[KeyRecord]:
    rows = await conn.execute(
        select_keys().where(api_keys.c.org_id == org_id).order_by(api_keys.c.id).limit(limit)
    )
    return [key_from_row(r) for r in rows]
