"""The response store on both backends: conversations read back whole, per account, until they
expire; the ids each account received, held by that account only, until they expire; the
migrations create the tables the code declares."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bytespike.storage import accounts, orgs
from bytespike.storage.response_schema import response_items, stored_responses
from bytespike.storage.response_store import (
    IssuedItemsRecord,
    ResponseOwner,
    ResponseStore,
    StoredResponseRecord,
    load_chain,
    owned_item_ids,
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


# ---------------------------------------------------------------------------- the item index


async def test_migration_creates_the_declared_item_index(engine) -> None:
    async with engine.connect() as conn:
        columns, indexes = await conn.run_sync(
            lambda c: (
                {col["name"] for col in sa.inspect(c).get_columns("response_items")},
                {tuple(ix["column_names"]) for ix in sa.inspect(c).get_indexes("response_items")},
            )
        )
    assert columns == {c.name for c in response_items.c}
    assert indexes == {("item_id",), ("expires_at",)}


def _issued(answer: str, owner: ResponseOwner, *ids: str, expires_in: timedelta = timedelta(days=1)):
    return IssuedItemsRecord(answer, owner, ids, datetime.now(UTC) + expires_in)


async def test_ids_of_a_stored_turn_belong_to_its_account_only(engine) -> None:
    """Written in the turn's own transaction; readable by that account (user, or org for org
    keys) and by no other, each id on its own."""
    alice, bob, acme = await _owners(engine)
    turn = dataclasses.replace(_record("resp_i1", alice), item_ids=("rs_1", "msg_1", "cntr_1"))
    async with engine.begin() as conn:
        await write_responses(conn, [turn, _issued("resp_i2", acme, "rs_org")])
    now = datetime.now(UTC)
    wanted = ["rs_1", "msg_1", "cntr_1", "rs_org", "rs_unknown"]
    async with engine.connect() as conn:
        assert await owned_item_ids(conn, wanted, alice, now) == {"rs_1", "msg_1", "cntr_1"}
        assert await owned_item_ids(conn, wanted, bob, now) == set()
        # The org's ids are not its owner's personal ones, nor the reverse.
        assert await owned_item_ids(conn, wanted, acme, now) == {"rs_org"}
        rows = (await conn.execute(sa.select(response_items.c.item_id, response_items.c.answer_id))).all()
    assert sorted(rows) == [
        ("cntr_1", "resp_i1"),
        ("msg_1", "resp_i1"),
        ("rs_1", "resp_i1"),
        ("rs_org", "resp_i2"),
    ]


async def test_an_id_handed_to_two_accounts_is_held_by_both(engine) -> None:
    """A repeated turn id keeps its first row, but the second account still gets its ids."""
    alice, bob, _ = await _owners(engine)
    async with engine.begin() as conn:
        await write_responses(conn, [dataclasses.replace(_record("resp_same", alice), item_ids=("rs_same",))])
        await write_responses(conn, [dataclasses.replace(_record("resp_same", bob), item_ids=("rs_same",))])
    now = datetime.now(UTC)
    async with engine.connect() as conn:
        assert await owned_item_ids(conn, ["rs_same"], alice, now) == {"rs_same"}
        assert await owned_item_ids(conn, ["rs_same"], bob, now) == {"rs_same"}


async def test_expired_ids_are_refused_then_purged_with_the_responses(engine) -> None:
    alice, _, _ = await _owners(engine)
    gone = timedelta(seconds=-1)
    async with engine.begin() as conn:
        await write_responses(
            conn,
            [
                dataclasses.replace(_record("resp_old", alice, expires_in=gone), item_ids=("rs_old",)),
                _issued("chatcmpl-old", alice, "audio_old", expires_in=gone),
                _issued("resp_live", alice, "rs_live"),
            ],
        )
    async with engine.connect() as conn:
        owned = await owned_item_ids(conn, ["rs_old", "audio_old", "rs_live"], alice, datetime.now(UTC))
    assert owned == {"rs_live"}
    assert await ResponseStore(engine).purge() == 3  # the expired turn and its two expired ids
    async with engine.connect() as conn:
        left = set((await conn.execute(sa.select(response_items.c.item_id))).scalars())
    assert left == {"rs_live"}


async def test_many_ids_are_looked_up_in_batches(engine) -> None:
    alice, _, _ = await _owners(engine)
    ids = [f"rs_{n}" for n in range(1_203)]
    async with engine.begin() as conn:
        await write_responses(conn, [_issued("resp_many", alice, *ids[::2])])
    store = ResponseStore(engine)
    assert await store.owned_items([*ids, *ids], alice) == set(ids[::2])


async def test_ids_alone_go_through_the_group_commit(engine) -> None:
    """`IssuedItemsRecord` (an answer not stored as a turn) is durable when its future resolves."""
    alice, _, _ = await _owners(engine)
    store = ResponseStore(engine)
    store.start()
    try:
        await asyncio.gather(
            store.submit(_issued("chatcmpl-1", alice, "audio_1")),
            store.submit(dataclasses.replace(_record("resp_g", alice), item_ids=("rs_g",))),
        )
        owned = await store.owned_items(["audio_1", "rs_g"], alice)
    finally:
        await store.close()
    assert owned == {"audio_1", "rs_g"}
