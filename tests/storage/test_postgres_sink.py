"""PostgreSQL's one-statement usage writer keeps the guarantees of the SQLAlchemy path: records
inserted once, their debits applied once (to the wallet and to every key of the chain), replays
and duplicates skipped, concurrent writers exact."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
import sqlalchemy as sa

from bytespike.storage import ledger
from bytespike.storage.engine import async_url, create_engine, upgrade
from bytespike.storage.keys import NewKey, insert_key
from bytespike.storage.postgres_sink import PostgresUsageSink
from bytespike.storage.schema import api_keys, usage_records, wallets
from tests.storage.test_ledger_and_usage import _usage, _user_wallet_key
from tests.support.services import create_pg_database, drop_pg_database


@pytest.fixture
async def pg_engine():
    url = await create_pg_database()
    engine = create_engine(url)
    await upgrade(engine)
    try:
        yield url, engine
    finally:
        await engine.dispose()
        await drop_pg_database(url)


async def _fund(engine, wallet_id: int, micros: int) -> None:
    async with engine.begin() as conn:
        await ledger.apply_movement(
            conn, wallet_id=wallet_id, kind="topup", amount_micros=micros, idempotency_key=f"p{wallet_id}"
        )


async def _balance_and_used(engine, wallet_id: int, key_ids: list[int]) -> tuple[int, list[int], int]:
    async with engine.connect() as conn:
        balance = await conn.scalar(sa.select(wallets.c.balance_micros).where(wallets.c.id == wallet_id))
        used = [
            await conn.scalar(sa.select(api_keys.c.used_micros).where(api_keys.c.id == k)) for k in key_ids
        ]
        rows = await conn.scalar(sa.select(sa.func.count()).select_from(usage_records))
    return int(balance), [int(u) for u in used], int(rows)


async def test_a_batch_inserts_debits_and_skips_replays_and_duplicates(pg_engine) -> None:
    url, engine = pg_engine
    user_id, wallet_id, key_id = await _user_wallet_key(engine)
    async with engine.begin() as conn:
        parent = await insert_key(
            conn,
            NewKey(
                user_id=user_id, wallet_id=wallet_id, group_id=1, name="parent", lookup_hash="p" * 64,
                secret_ciphertext=b"x", masked_key="sk-byts-pppp…pppp",
            ),
        )
    await _fund(engine, wallet_id, 1_000_000)
    sink = PostgresUsageSink(async_url(url))
    try:
        batch = [
            replace(_usage(f"q{i}", user_id, wallet_id, key_id, 100 + i), key_chain=(key_id, parent))
            for i in range(4)
        ]
        batch.append(batch[2])  # the same request twice in one batch: written and billed once
        assert sorted(await sink.write(batch)) == ["q0", "q1", "q2", "q3"]
        assert await sink.write([batch[1], _usage("q9", user_id, wallet_id, key_id, 7)]) == ["q9"]
        assert await sink.write([_usage("free", user_id, wallet_id, key_id, 0)]) == ["free"]
    finally:
        await sink.aclose()
    spent = sum(100 + i for i in range(4)) + 7
    balance, used, rows = await _balance_and_used(engine, wallet_id, [key_id, parent])
    assert balance == 1_000_000 - spent and used == [spent, spent - 7] and rows == 6
    async with engine.connect() as conn:
        first = (await conn.execute(sa.select(usage_records).where(usage_records.c.request_id == "q0"))).one()
    assert first.is_stream is False and first.billing_rule == "completed" and first.cost_micros == 100
    assert first.created_at.tzinfo is not None and first.ttft_ms is None


async def test_concurrent_writers_on_shared_wallets_stay_exact(pg_engine) -> None:
    """Two gateways' sinks writing interleaved batches over the same two wallets: no deadlock
    aborts a batch for good, and every cost lands exactly once."""
    url, engine = pg_engine
    a = await _user_wallet_key(engine, "a@example.test")
    b = await _user_wallet_key(engine, "b@example.test")
    for _, wallet_id, _ in (a, b):
        await _fund(engine, wallet_id, 10_000_000)
    sinks = [PostgresUsageSink(async_url(url)) for _ in range(2)]

    async def writer(n: int) -> None:
        for i in range(40):
            first, second = (a, b) if (i + n) % 2 else (b, a)
            batch = [_usage(f"w{n}-{i}-{j}", *first, 3) for j in range(3)] + [
                _usage(f"w{n}-{i}-x{j}", *second, 5) for j in range(2)
            ]
            await sinks[n].write(batch)

    try:
        await asyncio.gather(writer(0), writer(1))
    finally:
        for sink in sinks:
            await sink.aclose()
    total = 2 * 40 * (3 * 3 + 2 * 5)
    balances = [(await _balance_and_used(engine, w, [k]))[:2] for _, w, k in (a, b)]
    assert sum(10_000_000 - bal for bal, _ in balances) == total
    assert sum(used[0] for _, used in balances) == total
    assert sum(10_000_000 - bal for bal, _ in balances) == sum(used[0] for _, used in balances)
