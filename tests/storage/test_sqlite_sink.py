"""The embedded default's one-hop writer keeps the same guarantees as the SQLAlchemy path."""

from __future__ import annotations

import sqlalchemy as sa

from bytespike.storage import ledger
from bytespike.storage.batch_writer import UsageWriter
from bytespike.storage.engine import create_engine, upgrade
from bytespike.storage.schema import api_keys, usage_records, wallets
from bytespike.storage.sqlite_sink import SqliteUsageSink
from tests.storage.test_ledger_and_usage import _usage, _user_wallet_key


async def test_sink_writes_debits_and_skips_replays(tmp_path) -> None:
    path = tmp_path / "s.db"
    engine = create_engine(f"sqlite:///{path}")
    await upgrade(engine)
    user_id, wallet_id, key_id = await _user_wallet_key(engine)
    async with engine.begin() as conn:
        await ledger.apply_movement(
            conn, wallet_id=wallet_id, kind="topup", amount_micros=1_000_000, idempotency_key="p"
        )
    sink = SqliteUsageSink(path)
    try:
        batch = [_usage(f"q{i}", user_id, wallet_id, key_id, 100 + i) for i in range(4)]
        assert await sink.write(batch) == ["q0", "q1", "q2", "q3"]
        assert await sink.write([batch[1], _usage("q9", user_id, wallet_id, key_id, 7)]) == ["q9"]
    finally:
        sink.close()
    spent = sum(r.cost_micros for r in batch) + 7
    async with engine.connect() as conn:
        balance = await conn.scalar(sa.select(wallets.c.balance_micros).where(wallets.c.id == wallet_id))
        used = await conn.scalar(sa.select(api_keys.c.used_micros).where(api_keys.c.id == key_id))
        rows = (await conn.execute(sa.select(usage_records).order_by(usage_records.c.id))).all()
    await engine.dispose()
    assert balance == 1_000_000 - spent and used == spent and len(rows) == 5
    # Rows read back through SQLAlchemy exactly as the SQLAlchemy path would have written them.
    first = rows[0]
    assert first.request_id == "q0" and first.is_stream is False and first.created_at.year >= 2026
    assert first.cost_micros == 100 and first.billing_rule == "completed"


async def test_writer_with_sink_resolves_futures_after_commit(tmp_path) -> None:
    path = tmp_path / "w.db"
    engine = create_engine(f"sqlite:///{path}")
    await upgrade(engine)
    user_id, wallet_id, key_id = await _user_wallet_key(engine)
    writer = UsageWriter(engine, sink=SqliteUsageSink(path))
    writer.start()
    futures = [writer.submit(_usage(f"w{i}", user_id, wallet_id, key_id, 1)) for i in range(50)]
    for f in futures:
        await f
    async with engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(usage_records)) == 50
    await writer.close()
    await engine.dispose()


async def test_a_batch_meeting_another_writer_waits_on_the_writer_thread(tmp_path) -> None:
    """The loop's connection never waits for a lock: while the console or the CLI holds the write
    lock, the batch goes to the writer thread, which commits it once the lock is free."""
    import asyncio
    import sqlite3

    path = tmp_path / "l.db"
    engine = create_engine(f"sqlite:///{path}")
    await upgrade(engine)
    user_id, wallet_id, key_id = await _user_wallet_key(engine)
    sink = SqliteUsageSink(path)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        assert await sink.write([_usage("before", user_id, wallet_id, key_id, 1)]) == ["before"]
        assert sink.thread_batches == 0
        other.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        pending = asyncio.ensure_future(sink.write([_usage("during", user_id, wallet_id, key_id, 2)]))
        await asyncio.sleep(0.3)
        assert not pending.done() and sink.thread_batches == 1  # waiting, and the loop is free
        other.execute("COMMIT")
        assert await asyncio.wait_for(pending, 10) == ["during"]
    finally:
        other.close()
        sink.close()
    async with engine.connect() as conn:
        used = await conn.scalar(sa.select(api_keys.c.used_micros).where(api_keys.c.id == key_id))
    await engine.dispose()
    assert used == 3


def _log_frames(path) -> int:  # type: ignore[no-untyped-def]
    """Frames in the WAL that a writer appends after (a rewound WAL starts again from 0)."""
    import sqlite3

    probe = sqlite3.connect(path, isolation_level=None)
    try:
        return probe.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]
    finally:
        probe.close()


async def test_a_wal_the_passive_checkpoints_cannot_rewind_is_reset(tmp_path, monkeypatch) -> None:
    """SQLite rewinds the WAL only when a writer finds it fully checkpointed. Under steady load
    every PASSIVE checkpoint is overtaken by new commits (here: held back by a reader, which has
    the same effect), so the WAL would grow without bound; past `WAL_RESET_FRAMES` the sink
    resets it."""
    import asyncio
    import sqlite3

    from bytespike.storage import sqlite_sink

    monkeypatch.setattr(sqlite_sink, "WAL_RESET_FRAMES", 20)
    path = tmp_path / "wal.db"
    engine = create_engine(f"sqlite:///{path}")
    await upgrade(engine)
    user_id, wallet_id, key_id = await _user_wallet_key(engine)
    await engine.dispose()
    sink = SqliteUsageSink(path)
    reader = sqlite3.connect(path, isolation_level=None)
    try:
        await sink.write([_usage("r0", user_id, wallet_id, key_id, 1)])
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM usage_records").fetchone()  # a snapshot at this point
        for i in range(1, 40):
            await sink.write([_usage(f"r{i}", user_id, wallet_id, key_id, 1)])
        grown = _log_frames(path)
        assert grown > 20
        loop = asyncio.get_running_loop()
        checkpoint = loop.run_in_executor(None, sink._checkpoint_on_thread)
        await asyncio.sleep(0.3)
        reader.execute("COMMIT")  # the reader moves on while the checkpoint waits for it
        await asyncio.wait_for(checkpoint, 10)
        assert sink.wal_resets == 1
        await sink.write([_usage("after", user_id, wallet_id, key_id, 1)])
        assert _log_frames(path) < 20, "the next commit starts the WAL from the beginning"
    finally:
        reader.close()
        sink.close()
