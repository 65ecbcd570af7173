"""Per-model lifetime caps of keys (``key_model_quotas``) and the spend they count.

A cap is a row (key, model, quota); the spend it counts is the billed cost of ``model`` by the
key and its sub-keys, summed from ``usage_records`` (so no writer has to maintain a counter, and
a refund, which leaves usage records alone, does not reopen a cap). The hot state names a cap by
``-row id`` in the key namespace (`cap_entity_id`), which keeps admission one atomic step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bytespike.storage.key_changes import descendant_ids
from bytespike.storage.schema import key_model_quotas, usage_records


@dataclass(frozen=True, slots=True)
class ModelQuotaRow:
    id: int
    key_id: int
    model: str
    quota_micros: int


def cap_entity_id(row_id: int) -> int:
    """How the hot state names cap ``row_id`` among key entities (negative: never a key id)."""
    return -row_id


async def of_keys(conn: AsyncConnection, key_ids: Sequence[int]) -> list[ModelQuotaRow]:
    if not key_ids:
        return []
    rows = await conn.execute(
        sa.select(key_model_quotas)
        .where(key_model_quotas.c.key_id.in_(list(key_ids)))
        .order_by(key_model_quotas.c.key_id, key_model_quotas.c.model)
    )
    return [ModelQuotaRow(r.id, r.key_id, r.model, int(r.quota_micros)) for r in rows]


async def replace(conn: AsyncConnection, key_id: int, quotas: Mapping[str, int]) -> None:
    """Make the key's caps exactly ``quotas`` (model → micro-USD); a kept model keeps its row."""
    current = {r.model: r for r in await of_keys(conn, [key_id])}
    gone = [r.id for m, r in current.items() if m not in quotas]
    if gone:
        await conn.execute(key_model_quotas.delete().where(key_model_quotas.c.id.in_(gone)))
    for model, micros in quotas.items():
        if model in current:
            if current[model].quota_micros != micros:
                await conn.execute(
                    key_model_quotas.update()
                    .where(key_model_quotas.c.id == current[model].id)
                    .values(quota_micros=micros)
                )
        else:
            await conn.execute(key_model_quotas.insert().values(key_id=key_id, model=model, quota_micros=micros))


async def spent(conn: AsyncConnection, row_ids: Sequence[int]) -> dict[int, int]:
    """Committed spend counted by each cap: ``model`` billed to its key or a sub-key."""
    out: dict[int, int] = {}
    if not row_ids:
        return out
    rows = (await conn.execute(sa.select(key_model_quotas).where(key_model_quotas.c.id.in_(list(row_ids))))).all()
    for r in rows:
        subtree = [r.key_id, *await descendant_ids(conn, r.key_id)]
        out[r.id] = int(
            await conn.scalar(
                sa.select(sa.func.coalesce(sa.func.sum(usage_records.c.cost_micros), 0)).where(
                    usage_records.c.api_key_id.in_(subtree), usage_records.c.model == r.model
                )
            )
            or 0
        )
    return out
