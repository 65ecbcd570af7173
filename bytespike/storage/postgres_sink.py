"""Usage writes on PostgreSQL: a whole group-commit batch in one statement, one round trip.

`storage.usage.write_usage_batch` (the SQLAlchemy path) spends six round trips on a batch
(BEGIN, the existing-id check, the insert, a wallet update, a key update, COMMIT), each one a
hop through SQLAlchemy's async adaption, and COMMIT waits for a WAL flush: at concurrency 1
that is every request. Here the batch is one autocommit statement whose data-modifying CTEs
insert the records (``ON CONFLICT (request_id) DO NOTHING``, so a replay bills nothing twice)
and, from the rows actually inserted, debit the wallets and grow the keys' ``used_micros`` — all
atomically, as a single statement is.

Durability matches the embedded default's (SQLite in WAL mode with ``synchronous=NORMAL``): the
sink's own connections run with ``synchronous_commit = off``, so a committed batch survives the
gateway crashing or being killed at once, and the database server process crashing, but the
last few hundred milliseconds of usage could be lost if the database host itself loses power.
Money movements (top-ups, credits, refunds) do not go through here and stay fully synchronous.
docs/billing.md says so.

Rows are locked in id order before they are updated (the ``locked_*`` CTEs), so two gateways
writing batches that touch the same wallets cannot deadlock each other.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from bytespike.storage.records import UsageRecord

_COLUMNS = (
    ("request_id", "text"),
    ("created_at", "timestamptz"),
    ("api_key_id", "bigint"),
    ("user_id", "bigint"),
    ("org_id", "bigint"),
    ("wallet_id", "bigint"),
    ("model", "text"),
    ("provider", "text"),
    ("endpoint", "text"),
    ("caller_protocol", "text"),
    ("upstream_protocol", "text"),
    ("is_stream", "boolean"),
    ("status", "integer"),
    ("input_tokens", "bigint"),
    ("output_tokens", "bigint"),
    ("cache_read_tokens", "bigint"),
    ("cache_write_tokens", "bigint"),
    ("reasoning_tokens", "bigint"),
    ("cost_micros", "bigint"),
    ("latency_ms", "float8"),
    ("ttft_ms", "float8"),
    ("billing_rule", "text"),
)
_NAMES = ", ".join(name for name, _ in _COLUMNS)

_BATCH = sa.text(
    f"""
WITH input AS (
    SELECT * FROM unnest({", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in _COLUMNS)})
        AS t({_NAMES})
),
ins AS (
    INSERT INTO usage_records ({_NAMES})
    SELECT {_NAMES} FROM input
    ON CONFLICT (request_id) DO NOTHING
    RETURNING request_id, wallet_id, cost_micros
),
chain AS (
    SELECT c.key_id, ins.cost_micros
    FROM (
        -- DISTINCT: a request repeated within the batch is inserted (and billed) once
        SELECT DISTINCT request_id, key_id
        FROM unnest(CAST(:chain_request_id AS text[]), CAST(:chain_key_id AS bigint[])) AS u(request_id, key_id)
    ) AS c
    JOIN ins ON ins.request_id = c.request_id
),
wallet_debits AS (
    SELECT wallet_id, sum(cost_micros) AS amount FROM ins GROUP BY wallet_id HAVING sum(cost_micros) <> 0
),
key_growth AS (
    SELECT key_id, sum(cost_micros) AS amount FROM chain GROUP BY key_id HAVING sum(cost_micros) <> 0
),
locked_wallets AS (
    SELECT w.id FROM wallets w JOIN wallet_debits d ON d.wallet_id = w.id ORDER BY w.id FOR UPDATE OF w
),
locked_keys AS (
    SELECT k.id FROM api_keys k JOIN key_growth g ON g.key_id = k.id ORDER BY k.id FOR UPDATE OF k
),
debited AS (
    UPDATE wallets w
    SET balance_micros = w.balance_micros - d.amount,
        lifetime_spent_micros = w.lifetime_spent_micros + d.amount,
        updated_at = now()
    FROM wallet_debits d JOIN locked_wallets l ON l.id = d.wallet_id
    WHERE w.id = d.wallet_id
    RETURNING w.id
),
grown AS (
    UPDATE api_keys k
    SET used_micros = k.used_micros + g.amount
    FROM key_growth g JOIN locked_keys l ON l.id = g.key_id
    WHERE k.id = g.key_id
    RETURNING k.id
)
SELECT request_id FROM ins
"""
)


def batch_parameters(records: Sequence[UsageRecord]) -> dict[str, list]:
    """The statement's array parameters, one array per column plus the (request, key) chain pairs."""
    params: dict[str, list] = {name: [getattr(r, name) for r in records] for name, _ in _COLUMNS}
    params["chain_request_id"] = [r.request_id for r in records for _ in r.key_chain]
    params["chain_key_id"] = [key_id for r in records for key_id in r.key_chain]
    return params


class PostgresUsageSink:
    """`write(records)` for `UsageWriter`, on PostgreSQL; its own small pool of connections."""

    def __init__(self, async_database_url: str) -> None:
        self._engine = create_async_engine(
            async_database_url,
            pool_size=2,
            max_overflow=2,
            isolation_level="AUTOCOMMIT",
            connect_args={"server_settings": {"synchronous_commit": "off"}},
        )

    async def write(self, records: Sequence[UsageRecord]) -> list[str]:
        async with self._engine.connect() as conn:
            result = await conn.execute(_BATCH, batch_parameters(records))
            return [row[0] for row in result]

    def close(self) -> None:
        """Nothing to do synchronously: `aclose` disposes of the pool."""

    async def aclose(self) -> None:
        await self._engine.dispose()
