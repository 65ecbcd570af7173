"""``bytespike refunds create`` and ``bytespike subscriptions renew`` (--json), on the embedded
SQLite file: idempotent, audited as the CLI, one-line errors."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa

from bytespike.storage.engine import create_engine
from bytespike.storage.records import UsageRecord
from bytespike.storage.schema import audit_log, users
from bytespike.storage.usage import write_usage_batch
from tests.test_cli import run


def _json(tmp_path, *args: str):  # type: ignore[no-untyped-def]
    r = run(tmp_path, *args, "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def _billed_request(tmp_path, user_id: int, wallet_id: int, cost: int) -> str:  # type: ignore[no-untyped-def]
    """A usage record as the gateway writes it (the debit side of the wallet)."""
    request_id = "req_" + uuid.uuid4().hex

    async def write() -> None:
        engine = create_engine(f"sqlite:///{tmp_path / 'bytespike.db'}")
        try:
            async with engine.begin() as conn:
                await write_usage_batch(
                    conn,
                    [
                        UsageRecord(
                            request_id=request_id, created_at=datetime.now(UTC), api_key_id=None, user_id=user_id,
                            org_id=None, wallet_id=wallet_id, key_chain=(), model="gpt-5-4-nano", provider="openai",
                            endpoint="/v1/chat/completions", caller_protocol="openai_chat",
                            upstream_protocol="openai_chat", is_stream=False, status=200, input_tokens=10,
                            output_tokens=5, cache_read_tokens=0, cache_write_tokens=0, reasoning_tokens=0,
                            cost_micros=cost, latency_ms=1.0, ttft_ms=None, billing_rule="completed",
                        )
                    ],
                )  # fmt: skip
        finally:
            await engine.dispose()

    asyncio.run(write())
    return request_id


def _scalar(tmp_path, query):  # type: ignore[no-untyped-def]
    async def read():  # type: ignore[no-untyped-def]
        engine = create_engine(f"sqlite:///{tmp_path / 'bytespike.db'}")
        try:
            async with engine.connect() as conn:
                return (await conn.execute(query)).all()
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_refund_and_renewal_from_the_cli(tmp_path) -> None:
    user = _json(tmp_path, "users", "create", "--email", "ada@example.test")
    grant = _json(tmp_path, "credits", "grant", "--email", "ada@example.test", "--usd", "5")
    wallet_id = _scalar(tmp_path, sa.text(f"select wallet_id from ledger_entries where id = {grant['ledger_entry_id']}"))[0][0]
    request_id = _billed_request(tmp_path, user["id"], wallet_id, 1_234)

    refund = _json(tmp_path, "refunds", "create", "--request-id", request_id, "--note", "sorry")
    assert (refund["kind"], refund["amount_micros"], refund["balance_usd"], refund["replayed"]) == ("refund", 1_234, "5.00", False)
    assert _json(tmp_path, "refunds", "create", "--request-id", request_id)["replayed"] is True
    r = run(tmp_path, "refunds", "create", "--request-id", request_id, "--usd", "0.001")
    assert r.returncode == 1 and "already refunded" in r.stderr and len(r.stderr.strip().splitlines()) == 1

    renewal = _json(
        tmp_path, "subscriptions", "renew", "--email", "ada@example.test", "--tier", "max", "--period", "2027-02",
        "--credit-usd", "200",
    )  # fmt: skip
    assert (renewal["kind"], renewal["amount_micros"], renewal["tier"]) == ("subscription_renew", 200_000_000, "max")
    assert _scalar(tmp_path, sa.select(users.c.tier).where(users.c.id == user["id"])) == [("max",)]
    r = run(tmp_path, "subscriptions", "renew", "--email", "ada@example.test", "--tier", "pro", "--period", "2027-02",
            "--credit-usd", "200")  # fmt: skip
    assert r.returncode == 1 and "already renewed" in r.stderr
    r = run(tmp_path, "subscriptions", "renew", "--email", "nobody@example.test", "--tier", "pro", "--period", "2027-02",
            "--credit-usd", "1")  # fmt: skip
    assert r.returncode == 1 and "nobody@example.test" in r.stderr
    actions = _scalar(tmp_path, sa.select(audit_log.c.action, audit_log.c.detail).order_by(audit_log.c.id))
    assert [(a, d.get("via")) for a, d in actions] == [("admin.refund", "cli"), ("admin.subscription_renew", "cli")]
