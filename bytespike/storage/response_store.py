"""The response store: Responses exchanges kept per account for ``previous_response_id``, and
the index of vendor ids each account received (relay/vendor_items.py).

Reads are one recursive query that walks a conversation back to its first turn
(`ResponseStore.load_chain`), and one indexed query for the ids a request sends back
(`ResponseStore.owned_items`). Writes go through the usage records' group commit
(`storage/batch_writer.py`, its own instance: `ResponseStore.submit` returns a future that
resolves once the rows are durable), so the relay waits for them beside the usage record
without a transaction of its own; a stored turn and the ids of its answer commit together.
Writing a turn also moves the expiry of every earlier turn of its conversation to the new
turn's, so a conversation expires as a whole, counted from its last turn; an indexed id keeps
the expiry of the answer that carried it. Expired rows are never read and are deleted by a
periodic purge task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bytespike.storage.accounts import utcnow
from bytespike.storage.batch_writer import UsageWriter
from bytespike.storage.response_schema import response_items, stored_responses

log = logging.getLogger("bytespike.storage")

MAX_CHAIN_DEPTH = 10_000
"""A walk stops here (a guard: links only point to older rows, so they cannot loop)."""
PURGE_BATCH = 1_000
"""Expired rows deleted per statement, so a purge never holds a long write lock."""
LOOKUP_BATCH = 500
"""Ids per ``IN`` list (SQLite and asyncpg cap bound parameters; a request rarely sends more)."""


@dataclass(frozen=True, slots=True)
class ResponseOwner:
    """The account a stored response belongs to: the org for org keys, else the user."""

    user_id: int
    org_id: int | None


@dataclass(frozen=True, slots=True)
class StoredTurn:
    """One stored exchange as read back."""

    id: str
    previous_response_id: str | None
    model: str
    upstream_protocol: str
    """The wire protocol that produced ``output_items`` (decides how they can be replayed)."""
    input_items: list[Any]
    output_items: list[Any]


@dataclass(frozen=True, slots=True)
class StoredResponseRecord:
    """One exchange to store."""

    id: str
    owner: ResponseOwner
    api_key_id: int | None
    previous_response_id: str | None
    model: str
    upstream_protocol: str
    input_items: list[Any]
    output_items: list[Any]
    created_at: datetime
    expires_at: datetime
    ancestors: tuple[str, ...] = ()
    """Every earlier turn of the conversation: their expiry moves to ``expires_at``."""
    item_ids: tuple[str, ...] = ()
    """Vendor ids in ``output_items`` the account may send back (indexed until ``expires_at``)."""


@dataclass(frozen=True, slots=True)
class IssuedItemsRecord:
    """Vendor ids an account received in an answer that is not stored as a turn (a Responses
    answer with ``store: false``, a Chat answer with audio): written to the index only."""

    answer_id: str
    owner: ResponseOwner
    item_ids: tuple[str, ...]
    expires_at: datetime


ResponseWrite = StoredResponseRecord | IssuedItemsRecord
"""What `ResponseStore.submit` takes."""


def _owned_by(table: Any, owner: ResponseOwner) -> Any:
    if owner.org_id is not None:
        return table.c.org_id == owner.org_id
    return sa.and_(table.c.user_id == owner.user_id, table.c.org_id.is_(None))


async def load_chain(
    conn: AsyncConnection, response_id: str, owner: ResponseOwner, now: datetime
) -> list[StoredTurn] | None:
    """The conversation ending at ``response_id``, oldest turn first; None when that response is
    unknown, expired, another account's, or its conversation is no longer complete."""
    t = stored_responses
    chain = (
        sa.select(t.c.id, t.c.previous_response_id, sa.literal(0).label("depth"))
        .where(t.c.id == response_id, _owned_by(t, owner), t.c.expires_at > now)
        .cte("chain", recursive=True)
    )
    parent = t.alias("parent")
    chain = chain.union_all(
        sa.select(parent.c.id, parent.c.previous_response_id, chain.c.depth + 1).where(
            parent.c.id == chain.c.previous_response_id,
            _owned_by(parent, owner),
            parent.c.expires_at > now,
            chain.c.depth < MAX_CHAIN_DEPTH,
        )
    )
    rows = (
        await conn.execute(
            sa.select(
                t.c.id,
                t.c.previous_response_id,
                t.c.model,
                t.c.upstream_protocol,
                t.c.input_items,
                t.c.output_items,
            )
            .join(chain, t.c.id == chain.c.id)
            .order_by(chain.c.depth.desc())
        )
    ).all()
    if not rows or rows[0].previous_response_id is not None:
        return None  # unknown, or an earlier turn is gone: the history would be incomplete
    return [
        StoredTurn(
            id=r.id,
            previous_response_id=r.previous_response_id,
            model=r.model,
            upstream_protocol=r.upstream_protocol,
            input_items=orjson.loads(r.input_items),
            output_items=orjson.loads(r.output_items),
        )
        for r in rows
    ]


async def owned_item_ids(
    conn: AsyncConnection, item_ids: Collection[str], owner: ResponseOwner, now: datetime
) -> set[str]:
    """Which of ``item_ids`` ``owner`` received and may still send back."""
    t = response_items
    wanted = sorted(set(item_ids))
    owned: set[str] = set()
    for start in range(0, len(wanted), LOOKUP_BATCH):
        batch = wanted[start : start + LOOKUP_BATCH]
        query = sa.select(t.c.item_id).where(
            t.c.item_id.in_(batch), _owned_by(t, owner), t.c.expires_at > now
        )
        owned.update((await conn.execute(query)).scalars())
    return owned


def _item_rows(records: Sequence[ResponseWrite]) -> list[dict[str, Any]]:
    rows: dict[tuple[str, int, int | None], dict[str, Any]] = {}
    for r in records:
        answer_id = r.id if isinstance(r, StoredResponseRecord) else r.answer_id
        for item_id in r.item_ids:
            rows.setdefault(
                (item_id, r.owner.user_id, r.owner.org_id),
                {
                    "item_id": item_id,
                    "user_id": r.owner.user_id,
                    "org_id": r.owner.org_id,
                    "answer_id": answer_id,
                    "expires_at": r.expires_at,
                },
            )
    return list(rows.values())


async def write_responses(conn: AsyncConnection, records: Sequence[ResponseWrite]) -> None:
    """Insert ``records`` (a turn id already stored is kept as it is; the ids its answer handed
    to this account are indexed all the same) and extend the ancestors of each turn."""
    items = _item_rows(records)
    if items:
        await conn.execute(response_items.insert(), items)
    turns = [r for r in records if isinstance(r, StoredResponseRecord)]
    if not turns:
        return
    t = stored_responses
    stored = await conn.execute(sa.select(t.c.id).where(t.c.id.in_([r.id for r in turns])))
    existing = set(stored.scalars())
    rows: dict[str, dict[str, Any]] = {}
    for r in turns:
        if r.id in existing or r.id in rows:
            continue
        rows[r.id] = {
            "id": r.id,
            "user_id": r.owner.user_id,
            "org_id": r.owner.org_id,
            "api_key_id": r.api_key_id,
            "previous_response_id": r.previous_response_id,
            "model": r.model,
            "upstream_protocol": r.upstream_protocol,
            "input_items": orjson.dumps(r.input_items).decode(),
            "output_items": orjson.dumps(r.output_items).decode(),
            "created_at": r.created_at,
            "expires_at": r.expires_at,
        }
    if rows:
        await conn.execute(t.insert(), list(rows.values()))
    for r in turns:
        if r.ancestors:
            await conn.execute(
                t.update()
                .where(t.c.id.in_(r.ancestors), t.c.expires_at < r.expires_at)
                .values(expires_at=r.expires_at)
            )


async def purge_expired(conn: AsyncConnection, now: datetime, table: sa.Table = stored_responses) -> int:
    """Delete up to `PURGE_BATCH` expired rows of ``table`` (stored turns or indexed ids);
    returns how many went."""
    doomed = sa.select(table.c.id).where(table.c.expires_at <= now).limit(PURGE_BATCH)
    result = await conn.execute(table.delete().where(table.c.id.in_(doomed)))
    return int(result.rowcount or 0)


class _StoredResponseSink:
    """`UsageWriter`'s sink seam, pointed at this table: its group commit (batching, retries,
    one future per row, draining on close) serves both kinds of row."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def write(self, records: Sequence[ResponseWrite]) -> list[str]:
        async with self._engine.begin() as conn:
            await write_responses(conn, records)
        return [r.id if isinstance(r, StoredResponseRecord) else r.answer_id for r in records]

    async def aclose(self) -> None:
        pass


class ResponseStore:
    """Reads conversations and indexed ids, group-commits new turns and ids, purges expired ones."""

    def __init__(self, engine: AsyncEngine, *, purge_every_s: float = 600.0) -> None:
        self._engine = engine
        self._purge_every_s = purge_every_s
        self._writer = UsageWriter(engine, sink=_StoredResponseSink(engine), max_batch=200)  # type: ignore[arg-type]
        self._purger: asyncio.Task[None] | None = None

    async def load_chain(self, response_id: str, owner: ResponseOwner) -> list[StoredTurn] | None:
        async with self._engine.connect() as conn:
            return await load_chain(conn, response_id, owner, utcnow())

    async def owned_items(self, item_ids: Collection[str], owner: ResponseOwner) -> set[str]:
        """Which of ``item_ids`` ``owner`` received and may still send back (one query)."""
        async with self._engine.connect() as conn:
            return await owned_item_ids(conn, item_ids, owner, utcnow())

    def start(self) -> None:
        self._writer.start()
        if self._purger is None:
            self._purger = asyncio.get_running_loop().create_task(
                self._purge_forever(), name="response-purge"
            )

    def submit(self, record: ResponseWrite) -> asyncio.Future[None]:
        """Queue ``record``; the future resolves when it is durable (or fails with the error)."""
        return self._writer.submit(record)  # type: ignore[arg-type]

    async def close(self) -> None:
        if self._purger is not None:
            self._purger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._purger
            self._purger = None
        await self._writer.close()

    async def purge(self) -> int:
        """Delete every expired row (stored turns and indexed ids) now; returns how many went."""
        total = 0
        for table in (stored_responses, response_items):
            while True:
                async with self._engine.begin() as conn:
                    gone = await purge_expired(conn, utcnow(), table)
                total += gone
                if gone < PURGE_BATCH:
                    break
        return total

    async def _purge_forever(self) -> None:
        while True:
            try:
                await self.purge()
            except Exception as exc:  # the next round tries again
                log.warning("purging expired stored responses failed: %s", exc)
            await asyncio.sleep(self._purge_every_s)
