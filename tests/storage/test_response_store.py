"""The response store on both backends: conversations read back whole, per account, until they
expire; the migration creates the table the code declares."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bytespike.storage import accounts, orgs
from bytespike.storage.response_schema import stored_responses
from bytespike.storage.response_store import (
    ResponseOwner,
    ResponseStore,
    StoredResponseRecord,
    load_chain,
    write_responses,
)


async def _owners(engine) -> tuple[ResponseOwner, ResponseOwner, ResponseOwner]:
    """(a user, another user, an org owned by the first user)."""
    async with engine.begin() as conn:
        alice = await accounts.create_user(conn, email="alice@example.test", password_hash=None)
        bob = await accounts.create_user(conn, email="bob@example.test", password_hash=None)
        org = await orgs.create_org(conn, name="Acme", owner_user_id=alice.id)
    return ResponseOwner(alice.id, None), ResponseOwner(bob.id, None), ResponseOwner(alice.id, org.id)


def _record(
    rid: str,
    owner: ResponseOwner,
    previous: str | None = None,
    *,
    expires_in: timedelta = timedelta(days=1),
    ancestors: tuple[str, ...] = (),
) -> StoredResponseRecord:
    now = datetime.now(UTC)
    return StoredResponseRecord(
        id=rid,
        owner=owner,
        api_key_id=None,
        previous_response_id=previous,
        model="gpt-5-4",
        upstream_protocol="openai_responses",
        input_items=[{"role": "user", "content": f"question {rid}"}],
        output_items=[
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": rid}]}
        ],
        created_at=now,
        expires_at=now + expires_in,
        ancestors=ancestors,
    )


async def test_migration_creates_the_declared_table(engine) -> None:
    async with engine.connect() as conn:
        columns = await conn.run_sync(
            lambda c: {col["name"] for col in sa.inspect(c).get_columns("stored_responses")}
        )
    assert columns == {c.name for c in stored_responses.c}


async def test_a_conversation_is_read_back_whole_and_only_by_its_account(engine) -> None:
    alice, bob, acme = await _owners(engine)
    async with engine.begin() as conn:
        await write_responses(
            conn, [_record("resp_1", alice), _record("resp_2", alice, "resp_1", ancestors=("resp_1",))]
        )
        await write_responses(conn, [_record("resp_3", alice, "resp_2", ancestors=("resp_1", "resp_2"))])
        await write_responses(conn, [_record("resp_org", acme)])
    now = datetime.now(UTC)
    async with engine.connect() as conn:
        chain = await load_chain(conn, "resp_3", alice, now)
        assert chain is not None
        assert [t.id for t in chain] == ["resp_1", "resp_2", "resp_3"]
        assert chain[0].input_items == [{"role": "user", "content": "question resp_1"}]
        assert chain[2].output_items[0]["content"][0]["text"] == "resp_3"
        # Another user, or the same user through an org key, does not see it; nor the reverse.
        assert await load_chain(conn, "resp_3", bob, now) is None
        assert await load_chain(conn, "resp_3", acme, now) is None
        assert await load_chain(conn, "resp_org", alice, now) is None
        assert [t.id for t in await load_chain(conn, "resp_org", acme, now) or []] == ["resp_org"]
        assert await load_chain(conn, "resp_unknown", alice, now) is None


async def test_a_new_turn_keeps_its_whole_conversation_alive(engine) -> None:
    alice, _, _ = await _owners(engine)
    async with engine.begin() as conn:
        await write_responses(conn, [_record("resp_a", alice, expires_in=timedelta(minutes=1))])
        await write_responses(
            conn, [_record("resp_b", alice, "resp_a", expires_in=timedelta(days=30), ancestors=("resp_a",))]
        )
    later = datetime.now(UTC) + timedelta(days=2)
    async with engine.connect() as conn:
        chain = await load_chain(conn, "resp_b", alice, later)
    assert chain is not None and [t.id for t in chain] == ["resp_a", "resp_b"]


async def test_expired_turns_are_unreadable_then_purged(engine) -> None:
    alice, _, _ = await _owners(engine)
    async with engine.begin() as conn:
        await write_responses(conn, [_record("resp_old", alice, expires_in=timedelta(seconds=-1))])
        await write_responses(conn, [_record("resp_live", alice)])
        # A turn whose earlier turn is gone: its history would be incomplete, so it is not served.
        await write_responses(conn, [_record("resp_orphan", alice, "resp_old")])
    now = datetime.now(UTC)
    async with engine.connect() as conn:
        assert await load_chain(conn, "resp_old", alice, now) is None
        assert await load_chain(conn, "resp_orphan", alice, now) is None
    store = ResponseStore(engine)
    assert await store.purge() == 1
    async with engine.connect() as conn:
        left = set((await conn.execute(sa.select(stored_responses.c.id))).scalars())
    assert left == {"resp_live", "resp_orphan"}


async def test_the_store_group_commits_and_ignores_a_repeated_id(engine) -> None:
    alice, bob, _ = await _owners(engine)
    store = ResponseStore(engine)
    store.start()
    try:
        await store.submit(_record("resp_x", alice))
        # The same id again (another account) leaves the first row as it was.
        await store.submit(_record("resp_x", bob))
        chain = await store.load_chain("resp_x", alice)
    finally:
        await store.close()
    assert chain is not None and [t.id for t in chain] == ["resp_x"]
    assert await ResponseStore(engine).load_chain("resp_x", bob) is None
