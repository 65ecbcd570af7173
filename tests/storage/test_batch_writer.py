"""Group commit: concurrent submissions share transactions; every future resolves after commit."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from bytespike.storage import ledger
from bytespike.storage.batch_writer import UsageWriter
from bytespike.storage.schema import usage_records, wallets
from tests.storage.test_ledger_and_usage import _usage, _user_wallet_key


async def test_concurrent_records_are_committed_in_few_batches(engine) -> None:
    user_id, wallet_id, key_id = await _user_wallet_key(engine)
    async with engine.begin() as conn:
        await ledger.apply_movement(
            conn, wallet_id=wallet_id, kind="topup", amount_micros=10_000_000, idempotency_key="p"
        )
    committed: list[int] = []
    writer = UsageWriter(engine, on_committed=lambda recs: committed.append(len(recs)))
    writer.start()
    futures = [writer.submit(_usage(f"r{i}", user_id, wallet_id, key_id, 10)) for i in range(200)]
    await asyncio.gather(*futures)
    # Every future resolved means its record is visible to another connection now.
    async with engine.connect() as conn:
        rows = await conn.scalar(sa.select(sa.func.count()).select_from(usage_records))
        balance = await conn.scalar(sa.select(wallets.c.balance_micros).where(wallets.c.id == wallet_id))
    assert rows == 200 and balance == 10_000_000 - 2000
    assert sum(committed) == 200
    assert writer.batches_written < 200 / 4, "submissions queued together must share transactions"
    await writer.close()


async def test_close_drains_the_queue_and_refuses_new_work(engine) -> None:
    user_id, wallet_id, key_id = await _user_wallet_key(engine)
    writer = UsageWriter(engine)
    writer.start()
    futures = [writer.submit(_usage(f"d{i}", user_id, wallet_id, key_id, 0)) for i in range(20)]
    await writer.close()
    assert all(f.done() and f.exception() is None for f in futures)
    async with engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(usage_records)) == 20
    try:
        writer.submit(_usage("late", user_id, wallet_id, key_id, 0))
    except RuntimeError:
        pass
    else:
        raise AssertionError("a closed writer must refuse records")
