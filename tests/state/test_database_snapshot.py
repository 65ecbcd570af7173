"""What a hot-state load reads from the database (storage/hot_snapshot.py), on both backends:
balances, key spend, a week of spend per key subtree, committed request ids, recent ledger ids."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bytespike.storage import ledger
from bytespike.storage.hot_snapshot import account_concurrency, read_snapshot, recent_ledger
from bytespike.storage.keys import NewKey, insert_key
from bytespike.storage.usage import write_usage_batch
from tests.storage.test_ledger_and_usage import _usage, _user_wallet_key


async def test_a_snapshot_reads_what_a_load_needs(engine) -> None:
    user_id, wallet_id, key_id = await _user_wallet_key(engine)
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        child = await insert_key(
            conn,
            NewKey(
                user_id=user_id,
                wallet_id=wallet_id,
                group_id=1,
                name="child",
                lookup_hash="c" * 64,
                secret_ciphertext=b"x",
                masked_key="sk-byts-c…",
                parent_key_id=key_id,
            ),
        )
        entry, _ = await ledger.apply_movement(
            conn, wallet_id=wallet_id, kind="topup", amount_micros=1_000_000, idempotency_key="pay-1"
        )
        records = [
            replace(_usage("r-old", user_id, wallet_id, key_id, 1000), created_at=now - timedelta(days=8)),
            replace(_usage("r-day", user_id, wallet_id, key_id, 100), created_at=now - timedelta(hours=20)),
            replace(_usage("r-child", user_id, wallet_id, child, 10), created_at=now - timedelta(hours=1), key_chain=(child, key_id)),
        ]
        await write_usage_batch(conn, records)
    snap = await read_snapshot(
        engine,
        wallet_ids=[wallet_id],
        key_ids=[key_id, child],
        window_key_ids=[key_id],
        request_ids=["r-day", "r-elsewhere"],
    )
    assert snap.wallets == {wallet_id: 1_000_000 - 1110}
    assert snap.key_used == {key_id: 1110, child: 10}
    assert sorted(c for _, c in snap.key_spend[key_id]) == [10, 100], "a week, sub-keys included"
    at = dict((c, ms) for ms, c in snap.key_spend[key_id])
    assert abs(at[100] - int((now - timedelta(hours=20)).timestamp() * 1000)) < 1000
    assert snap.committed == frozenset({"r-day"})
    assert snap.ledger_ids == {wallet_id: frozenset({entry.id})}
    assert await recent_ledger(engine, wallet_id) == [(entry.id, 1_000_000)]
    assert await account_concurrency(engine, user_id) == ("free", None)


async def test_a_snapshot_checks_more_journaled_ids_than_one_statement_may_bind(engine) -> None:
    """A busy key journals tens of thousands of settlements; PostgreSQL refuses more than
    32,767 bound parameters in one statement, and a load must not fail (it did, with a 500)."""
    user_id, wallet_id, key_id = await _user_wallet_key(engine)
    async with engine.begin() as conn:
        await write_usage_batch(
            conn, [_usage(rid, user_id, wallet_id, key_id, 1) for rid in ("r-first", "r-late")]
        )
    journaled = ["r-first", *(f"r-pending-{i}" for i in range(40_000)), "r-late"]
    snap = await read_snapshot(engine, key_ids=[key_id], request_ids=journaled)
    assert snap.committed == frozenset({"r-first", "r-late"})
