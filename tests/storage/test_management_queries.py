"""Storage queries behind key management, orgs, the audit log and usage reports, on both backends."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from bytespike.access.issuance import KeySpec, create_user, issue_key
from bytespike.access.secrets import KeySealer
from bytespike.storage import accounts, audit, key_changes, orgs, usage_queries
from bytespike.storage.keys import get_key
from bytespike.storage.records import UsageRecord
from bytespike.storage.usage import write_usage_batch

SEALER = KeySealer("storage-test-secret-0123456789")


async def _setup(engine):  # type: ignore[no-untyped-def]
    async with engine.begin() as conn:
        await accounts.sync_groups(conn, {"default": ("", True)})
    email = f"s-{uuid.uuid4().hex[:8]}@example.test"
    user = await create_user(engine, email=email, password=None)
    ids = []
    for _ in range(3):
        ids.append(
            (await issue_key(engine, SEALER, user_email=email, spec=KeySpec(), known_groups=["default"])).id
        )
    return user, ids


async def test_descendants_and_cascading_revocation(engine) -> None:
    user, (root, child, grandchild) = await _setup(engine)
    async with engine.begin() as conn:
        await key_changes.update_key(conn, child, {"name": "child"})
        from bytespike.storage.schema import api_keys

        await conn.execute(api_keys.update().where(api_keys.c.id == child).values(parent_key_id=root))
        await conn.execute(api_keys.update().where(api_keys.c.id == grandchild).values(parent_key_id=child))
        assert await key_changes.descendant_ids(conn, root) == [child, grandchild]
        assert await key_changes.descendant_ids(conn, grandchild) == []
        assert sorted(await key_changes.revoke_keys(conn, [root, child, grandchild])) == [
            root,
            child,
            grandchild,
        ]
        assert await key_changes.revoke_keys(conn, [root]) == []
        assert (await get_key(conn, grandchild)).status == "revoked"  # type: ignore[union-attr]
        listed = await key_changes.list_keys(conn, user_id=user.id, status="revoked")
        assert [k.id for k in listed] == [root, child, grandchild]


async def test_rotation_keeps_the_old_digest_only_for_a_grace_period(engine) -> None:
    _, (key_id, *_) = await _setup(engine)
    async with engine.begin() as conn:
        old = (await get_key(conn, key_id)).secret_ciphertext  # type: ignore[union-attr]
        until = datetime.now(UTC) + timedelta(minutes=5)
        await key_changes.rotate_secret(
            conn,
            key_id,
            lookup_hash="a" * 64,
            secret_ciphertext=b"new",
            masked_key="m",
            previous_valid_until=until,
        )
        assert await key_changes.is_secret_taken(conn, "a" * 64)
        record = await get_key(conn, key_id)
        assert record is not None and record.secret_ciphertext == b"new" != old
        await key_changes.rotate_secret(
            conn,
            key_id,
            lookup_hash="b" * 64,
            secret_ciphertext=b"newer",
            masked_key="m",
            previous_valid_until=None,
        )
        assert not await key_changes.is_secret_taken(conn, "a" * 64)


async def test_orgs_members_and_audit(engine) -> None:
    user, _ = await _setup(engine)
    async with engine.begin() as conn:
        org = await orgs.create_org(conn, name="Acme", owner_user_id=user.id)
        assert (await orgs.get_org(conn, org.id)).wallet_id == org.wallet_id  # type: ignore[union-attr]
        assert await orgs.membership(conn, org.id, user.id) == "owner"
        assert await orgs.count_owners(conn, org.id) == 1
        assert (await orgs.first_membership(conn, user.id))[1] == "owner"  # type: ignore[index]
        await orgs.update_org(conn, org.id, name=None, status="paused")
        assert (await orgs.get_org(conn, org.id)).status == "paused"  # type: ignore[union-attr]
        await audit.record(
            conn,
            action="x.test",
            target_type="org",
            target_id=org.id,
            actor_user_id=user.id,
            actor_key_id=None,
            ip="::1",
            detail={"a": 1},
        )
        entries = await audit.list_entries(conn, action="x.test")
        assert [(e.target_id, e.detail, e.ip) for e in entries] == [(str(org.id), {"a": 1}, "::1")]
        assert entries[0].created_at.tzinfo is not None


async def test_usage_rows_and_rollups(engine) -> None:
    user, (key_id, other, _) = await _setup(engine)
    async with engine.begin() as conn:
        wallet = await accounts.get_user_wallet(conn, user.id)
        base = datetime(2026, 5, 21, 13, 30, tzinfo=UTC)
        records = [
            UsageRecord(
                request_id=f"r{i}",
                created_at=base + timedelta(hours=i),
                api_key_id=k,
                user_id=user.id,
                org_id=None,
                wallet_id=wallet.id,
                key_chain=(k,),
                model=m,
                provider="openai",
                endpoint="/v1/chat/completions",
                caller_protocol="openai_chat",
                upstream_protocol="openai_chat",
                is_stream=False,
                status=200,
                input_tokens=10,
                output_tokens=5,
                cache_read_tokens=0,
                cache_write_tokens=0,
                reasoning_tokens=0,
                cost_micros=100 * (i + 1),
                latency_ms=1.0,
                ttft_ms=None,
                billing_rule="completed",
            )
            for i, (k, m) in enumerate([(key_id, "a"), (key_id, "b"), (other, "a"), (key_id, "a")])
        ]
        await write_usage_batch(conn, records)
        f = usage_queries.UsageFilter(user_id=user.id)
        days = await usage_queries.rollup(conn, f, ["day"])
        assert days == [
            {
                "day": "2026-05-21",
                "cost_micros": 1000,
                "input_tokens": 40,
                "output_tokens": 20,
                "call_count": 4,
            }
        ]
        hours = await usage_queries.rollup(conn, f, ["hour", "model"])
        assert [(h["hour"], h["model"]) for h in hours][:2] == [
            ("2026-05-21T13:00:00Z", "a"),
            ("2026-05-21T14:00:00Z", "b"),
        ]
        by_key = await usage_queries.rollup(conn, f, ["api_key"])
        assert {r["api_key"]: r["call_count"] for r in by_key} == {key_id: 3, other: 1}
        narrowed = usage_queries.UsageFilter(
            user_id=user.id, api_key_ids=[key_id], model="a", since=base, until=base + timedelta(hours=3)
        )
        rows = await usage_queries.usage_rows(conn, narrowed, before_id=None, offset=0, limit=10)
        assert [r["request_id"] for r in rows] == ["r0"]
        assert await usage_queries.spend_since(conn, [key_id, other], base + timedelta(hours=1)) == 900
