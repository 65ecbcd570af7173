"""``POST /api/v1/admin/credits`` idempotency: simultaneous replays, and reuse of a key for a
different adjustment (docs/management-api.md)."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from bytespike.storage.schema import ledger_entries
from tests.web_management.support import Api


async def test_simultaneous_replays_of_one_credit_answer_once_201_and_otherwise_200(api: Api) -> None:
    admin = await api.account(admin=True)
    user = await api.account(usd="0")
    body = {"user_id": user.user_id, "amount_usd": 3, "idempotency_key": "race-1"}
    replies = await asyncio.gather(
        *(api.call("POST", "/api/v1/admin/credits", admin.key, body) for _ in range(10))
    )
    assert sorted(r.status for r in replies) == [200] * 9 + [201], replies
    assert len({r.json()["id"] for r in replies}) == 1
    assert sum(r.json()["replayed"] for r in replies) == 9
    async with api.engine.connect() as conn:
        rows = (
            await conn.execute(sa.select(ledger_entries).where(ledger_entries.c.wallet_id == user.wallet_id))
        ).all()
    assert [(r.kind, r.amount_micros) for r in rows] == [("admin_credit", 3_000_000)]
    account = await api.call("GET", "/api/v1/me/account", user.key)
    assert account.json()["balance"]["available_usd"] == 3.0


async def test_reusing_an_idempotency_key_for_another_adjustment_is_a_409(api: Api) -> None:
    admin = await api.account(admin=True)
    alice = await api.account(usd="0")
    bob = await api.account(usd="0")
    first = await api.call(
        "POST", "/api/v1/admin/credits", admin.key, {"user_id": alice.user_id, "amount_usd": 5, "idempotency_key": "k"}
    )
    assert first.status == 201
    before = await api.snapshot()
    other_wallet = await api.call(
        "POST", "/api/v1/admin/credits", admin.key, {"user_id": bob.user_id, "amount_usd": 5, "idempotency_key": "k"}
    )
    other_amount = await api.call(
        "POST", "/api/v1/admin/credits", admin.key, {"user_id": alice.user_id, "amount_usd": 6, "idempotency_key": "k"}
    )
    for r in (other_wallet, other_amount):
        assert r.status == 409, r
        assert (r.error["code"], r.error["param"]) == ("idempotency_key_reused", "idempotency_key")
    assert await api.snapshot() == before, "a refused reuse changes nothing"
    same = await api.call(
        "POST", "/api/v1/admin/credits", admin.key, {"user_id": alice.user_id, "amount_usd": 5, "idempotency_key": "k"}
    )
    assert same.status == 200 and same.json()["replayed"] and same.json()["id"] == first.json()["id"]


async def test_a_credit_is_admissible_at_once_in_the_process_that_made_it(database_url: str, tmp_path) -> None:
    """The ledger poll is an hour away here, so only `Meter.wallet_moved` can make the new
    balance visible: an empty wallet's next request is admitted right after the credit."""
    api = Api(database_url, tmp_path, BYTESPIKE_WALLET_CACHE_TTL="3600")
    await api.start()
    try:
        admin = await api.account(admin=True)
        user = await api.account(usd="0")
        refused = await api.chat(user.key)
        assert refused.status == 402 and refused.error["code"] == "insufficient_balance"
        credit = await api.call(
            "POST", "/api/v1/admin/credits", admin.key, {"user_id": user.user_id, "amount_usd": 2}
        )
        assert credit.status == 201
        ok = await api.chat(user.key)
        assert ok.status == 200, ok
        assert 1_990_000 < int(ok.headers["x-bytespike-quota-remaining-micros"]) < 2_000_000
    finally:
        await api.stop()
