"""Reading usage records back: per-call rows (newest first, cursor paged) and rollups.

Rollup buckets are computed in SQL with each backend's own date functions, in UTC:
``day`` → ``2026-05-21``, ``hour`` → ``2026-05-21T13:00:00Z``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bytespike.storage.accounts import as_utc
from bytespike.storage.schema import usage_records

ROLLUP_DIMENSIONS = ("day", "hour", "model", "api_key")


@dataclass(frozen=True, slots=True)
class UsageFilter:
    user_id: int | None
    """Requests by this user's keys; None only with ``org_id`` (every member's org-key requests)."""
    api_key_ids: Sequence[int] | None = None
    """Only these keys (a sub-key sees its own subtree); None means every key of the user."""
    model: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    org_id: int | None = None
    """Only requests billed to this org's wallet (made with its org keys)."""


def _where(q: Any, f: UsageFilter) -> Any:
    if f.user_id is None and f.org_id is None:
        raise ValueError("a usage filter names a user or an org")
    if f.user_id is not None:
        q = q.where(usage_records.c.user_id == f.user_id)
    if f.org_id is not None:
        q = q.where(usage_records.c.org_id == f.org_id)
    if f.api_key_ids is not None:
        q = q.where(usage_records.c.api_key_id.in_(list(f.api_key_ids)))
    if f.model is not None:
        q = q.where(usage_records.c.model == f.model)
    if f.since is not None:
        q = q.where(usage_records.c.created_at >= f.since)
    if f.until is not None:
        q = q.where(usage_records.c.created_at < f.until)
    return q


async def usage_rows(
    conn: AsyncConnection, f: UsageFilter, *, before_id: int | None, offset: int, limit: int
) -> list[dict[str, Any]]:
    q = _where(sa.select(usage_records), f)
    if before_id is not None:
        q = q.where(usage_records.c.id < before_id)
    rows = await conn.execute(q.order_by(usage_records.c.id.desc()).offset(offset).limit(limit))
    out = []
    for r in rows:
        d = dict(r._mapping)
        d["created_at"] = as_utc(d["created_at"])
        out.append(d)
    return out


def _bucket(dialect: str, unit: str) -> Any:
    col = usage_records.c.created_at
    if dialect == "postgresql":
        fmt = "YYYY-MM-DD" if unit == "day" else 'YYYY-MM-DD"T"HH24":00:00Z"'
        return sa.func.to_char(sa.func.timezone("UTC", col), fmt)
    return sa.func.strftime("%Y-%m-%d" if unit == "day" else "%Y-%m-%dT%H:00:00Z", col)


async def rollup(conn: AsyncConnection, f: UsageFilter, group_by: Sequence[str]) -> list[dict[str, Any]]:
    """One dict per bucket: the grouping values plus cost, tokens and call count."""
    dialect = conn.dialect.name
    keys: list[Any] = []
    for dim in group_by:
        if dim in ("day", "hour"):
            keys.append(_bucket(dialect, dim).label(dim))
        elif dim == "model":
            keys.append(usage_records.c.model.label("model"))
        elif dim == "api_key":
            keys.append(usage_records.c.api_key_id.label("api_key"))
        else:
            raise ValueError(f"unknown rollup dimension {dim!r}")
    q = _where(
        sa.select(
            *keys,
            sa.func.coalesce(sa.func.sum(usage_records.c.cost_micros), 0).label("cost_micros"),
            sa.func.coalesce(sa.func.sum(usage_records.c.input_tokens), 0).label("input_tokens"),
            sa.func.coalesce(sa.func.sum(usage_records.c.output_tokens), 0).label("output_tokens"),
            sa.func.count().label("call_count"),
        ),
        f,
    )
    if keys:
        q = q.group_by(*keys).order_by(*keys)
    out = []
    for r in await conn.execute(q):
        d = dict(r._mapping)
        for name in ("cost_micros", "input_tokens", "output_tokens", "call_count"):
            d[name] = int(d[name])  # PostgreSQL sums BIGINT as NUMERIC
        out.append(d)
    return out


async def spend_since(conn: AsyncConnection, api_key_ids: Sequence[int], since: datetime) -> int:
    """Micro-USD billed to any of ``api_key_ids`` (a key and its sub-keys) since ``since``."""
    return int(
        await conn.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(usage_records.c.cost_micros), 0)).where(
                usage_records.c.api_key_id.in_(list(api_key_ids)), usage_records.c.created_at >= since
            )
        )
        or 0
    )
