"""Wallet movements and usage records on both backends: idempotent, balances kept exact."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from bytespike.storage import accounts, ledger
from bytespike.storage.keys import NewKey, find_key_by_lookup_hash, insert_key
from bytespike.storage.records import UsageRecord
from bytespike.storage.schema import api_keys, ledger_entries, usage_records, wallets
from bytespike.storage.usage import write_usage_batch


async def _user_wallet_key(engine, email: str = "a@example.test") -> tuple[int, int, int]:
    async with engine.begin() as conn:
        groups = await accounts.sync_groups(conn, {"default": ("all", True)})
        user = await accounts.create_user(conn, email=email, password_hash=None)
        wallet = await accounts.get_user_wallet(conn, user.id)
        key_id = await insert_key(
            conn,
            NewKey(
                user_id=user.id,
                wallet_id=wallet.id,
                group_id=groups["default"],
                name="k",
                lookup_hash="h" * 64 if email.startswith("a") else "g" * 64,
                secret_ciphertext=b"x",
                masked_key="sk-byts-abcd…wxyz",
            ),
        )
    return user.id, wallet.id, key_id


def _usage(request_id: str, user_id: int, wallet_id: int, key_id: int, cost: int) -> UsageRecord:
    return UsageRecord(
        request_id=request_id,
        created_at=datetime.now(UTC),
        api_key_id=key_id,
        user_id=user_id,
        org_id=None,
        wallet_id=wallet_id,
        key_chain=(key_id,),
        model="claude-sonnet-4-6",
        provider="anthropic",
        endpoint="/v1/messages",
        caller_protocol="anthropic_messages",
        upstream_protocol="anthropic_messages",
        is_stream=False,
        status=200,
        input_tokens=10,
        output_tokens=5,
        cache_read_tokens=0,
        cache_write_tokens=0,
        reasoning_tokens=0,
        cost_micros=cost,
        latency_ms=1.0,
        ttft_ms=None,
        billing_rule="completed",
    )


async def test_create_user_makes_a_wallet_and_rejects_duplicate_email(engine) -> None:
    async with engine.begin() as conn:
        user = await accounts.create_user(conn, email="Ada@Example.test", password_hash=None)
        wallet = await accounts.get_user_wallet(conn, user.id)
        assert user.email == "ada@example.test"
        assert wallet.balance_micros == 0
    async with engine.begin() as conn:
        with pytest.raises(accounts.DuplicateError):
            await accounts.create_user(conn, email="ada@example.TEST", password_hash=None)


async def test_movement_is_idempotent_on_its_key(engine) -> None:
    _, wallet_id, _ = await _user_wallet_key(engine)
    async with engine.begin() as conn:
        first, new1 = await ledger.apply_movement(
            conn, wallet_id=wallet_id, kind="topup", amount_micros=5_000_000, idempotency_key="pay_1"
        )
        again, new2 = await ledger.apply_movement(
            conn, wallet_id=wallet_id, kind="topup", amount_micros=5_000_000, idempotency_key="pay_1"
        )
    assert (new1, new2) == (True, False)
    assert again.id == first.id and first.balance_after_micros == 5_000_000
    async with engine.connect() as conn:
        balance = await conn.scalar(sa.select(wallets.c.balance_micros).where(wallets.c.id == wallet_id))
        topup = await conn.scalar(sa.select(wallets.c.lifetime_topup_micros).where(wallets.c.id == wallet_id))
        count = await conn.scalar(sa.select(sa.func.count()).select_from(ledger_entries))
    assert (balance, topup, count) == (5_000_000, 5_000_000, 1)


@pytest.mark.parametrize(
    ("kind", "amount"), [("topup", 0), ("topup", -1), ("admin_debit", 5), ("usage", 5), ("bonus", -3)]
)
async def test_movement_rejects_wrong_sign_or_kind(engine, kind: str, amount: int) -> None:
    _, wallet_id, _ = await _user_wallet_key(engine)
    async with engine.begin() as conn:
        with pytest.raises(ValueError):
            await ledger.apply_movement(
                conn,
                wallet_id=wallet_id,
                kind=kind,
                amount_micros=amount,
                idempotency_key=f"x-{kind}-{amount}",
            )


async def test_usage_batch_debits_wallet_and_key_exactly_once(engine) -> None:
    user_id, wallet_id, key_id = await _user_wallet_key(engine)
    async with engine.begin() as conn:
        await ledger.apply_movement(
            conn, wallet_id=wallet_id, kind="topup", amount_micros=1_000_000, idempotency_key="p"
        )
    batch = [_usage(f"req_{i}", user_id, wallet_id, key_id, 1000 + i) for i in range(5)]
    async with engine.begin() as conn:
        written = await write_usage_batch(conn, batch)
    assert written == [f"req_{i}" for i in range(5)]
    # Replaying the same batch (as after a crash between commit and acknowledgement) bills nothing.
    async with engine.begin() as conn:
        assert await write_usage_batch(conn, [*batch, batch[0]]) == []
    spent = sum(r.cost_micros for r in batch)
    async with engine.connect() as conn:
        balance = await conn.scalar(sa.select(wallets.c.balance_micros).where(wallets.c.id == wallet_id))
        lifetime = await conn.scalar(
            sa.select(wallets.c.lifetime_spent_micros).where(wallets.c.id == wallet_id)
        )
        used = await conn.scalar(sa.select(api_keys.c.used_micros).where(api_keys.c.id == key_id))
        rows = await conn.scalar(sa.select(sa.func.count()).select_from(usage_records))
        usage_sum = await conn.scalar(sa.select(sa.func.sum(usage_records.c.cost_micros)))
        ledger_sum = await conn.scalar(sa.select(sa.func.sum(ledger_entries.c.amount_micros)))
    assert (balance, lifetime, used, rows) == (1_000_000 - spent, spent, spent, 5)
    # The invariant docs/billing.md states: balance = Σ ledger − Σ usage.
    assert balance == ledger_sum - usage_sum


async def test_key_lookup_by_digest_joins_group_and_owner(engine) -> None:
    _, wallet_id, key_id = await _user_wallet_key(engine)
    async with engine.connect() as conn:
        record = await find_key_by_lookup_hash(conn, "h" * 64)
        missing = await find_key_by_lookup_hash(conn, "0" * 64)
    assert missing is None
    assert record is not None and record.id == key_id and record.wallet_id == wallet_id
    assert record.group_name == "default" and record.status == "active" and record.user_status == "active"
    assert record.scopes == () and record.ip_whitelist == () and record.allowed_models is None


async def test_duplicate_key_digest_is_rejected(engine) -> None:
    await _user_wallet_key(engine)
    with pytest.raises(accounts.DuplicateError):
        await _user_wallet_key(engine, email="a2@example.test")


async def test_concurrent_replays_of_one_movement_write_one_entry(engine) -> None:
    """Ten transactions writing the same idempotency key at once (as ten simultaneous
    deliveries of one admin request): one entry, the wallet moved once, no error."""
    import asyncio

    _, wallet_id, _ = await _user_wallet_key(engine)

    async def one() -> tuple[int, bool]:
        async with engine.begin() as conn:
            entry, is_new = await ledger.apply_movement(
                conn, wallet_id=wallet_id, kind="admin_credit", amount_micros=2_000_000, idempotency_key="race"
            )
            await asyncio.sleep(0.05)  # keep the transaction open while the others arrive
            return entry.id, is_new

    results = await asyncio.gather(*(one() for _ in range(10)))
    assert sum(is_new for _, is_new in results) == 1
    assert len({entry_id for entry_id, _ in results}) == 1
    async with engine.connect() as conn:
        balance = await conn.scalar(sa.select(wallets.c.balance_micros).where(wallets.c.id == wallet_id))
        entries = (await conn.execute(sa.select(ledger_entries))).all()
    assert balance == 2_000_000
    assert [(e.amount_micros, e.balance_after_micros) for e in entries] == [(2_000_000, 2_000_000)]


async def test_concurrent_deliveries_of_one_webhook_event_are_recorded_once(engine) -> None:
    import asyncio

    from bytespike.storage import payments

    async def one() -> bool:
        async with engine.begin() as conn:
            first = await payments.record_event(
                conn, event_id="evt_race", provider="stripe", type="checkout.session.completed", now=datetime.now(UTC)
            )
            await asyncio.sleep(0.05)
            return first

    assert sorted(await asyncio.gather(*(one() for _ in range(8)))) == [False] * 7 + [True]
