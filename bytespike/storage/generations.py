"""One billed request looked up by its request id (``GET /v1/generations/{request_id}``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bytespike.storage.schema import usage_records


@dataclass(frozen=True, slots=True)
class GenerationRecord:
    """A usage record as stored (the key chain is not: only the key that made the call)."""

    request_id: str
    created_at: datetime
    api_key_id: int | None
    user_id: int | None
    org_id: int | None
    model: str
    provider: str
    endpoint: str
    caller_protocol: str
    upstream_protocol: str
    is_stream: bool
    status: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    cost_micros: int
    latency_ms: float
    ttft_ms: float | None
    billing_rule: str


_FIELDS = [name for name in GenerationRecord.__dataclass_fields__]


async def find_usage_record(engine: AsyncEngine, request_id: str) -> GenerationRecord | None:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                sa.select(*(usage_records.c[name] for name in _FIELDS)).where(
                    usage_records.c.request_id == request_id
                )
            )
        ).one_or_none()
    if row is None:
        return None
    values = dict(row._mapping)
    if values["created_at"].tzinfo is None:  # SQLite hands back naive UTC
        values["created_at"] = values["created_at"].replace(tzinfo=UTC)
    values["is_stream"] = bool(values["is_stream"])
    return GenerationRecord(**values)
