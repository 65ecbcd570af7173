"""Both `HotState` backends behind one fixture, with a clock the test moves by hand.

`hot` yields a `Bench`: the state plus a tiny in-memory stand-in for the database (what a load
reads) and the admission protocol the meter runs (admit → on a miss, ticket → read → load →
admit again). Redis runs under a fresh key prefix per test, so tests never see each other.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from bytespike.state.hot import (
    KEY,
    KEY_WINDOWS,
    WALLET,
    Admission,
    AdmitRequest,
    DatabaseValues,
    Entity,
    HotState,
    KeyCaps,
)
from bytespike.state.memory import MemoryState
from tests.support.services import redis_or_skip

T0 = 1_800_000_000_000
"""A fixed unix ms start (2027-01-15), aligned to every window bucket."""
HOLD_TTL_S = 10.0


@dataclass
class Clock:
    now: int = T0

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms


@dataclass
class FakeDatabase:
    """What the database holds: balances, key spend, committed usage records, spend rows."""

    wallets: dict[int, int] = field(default_factory=dict)
    key_used: dict[int, int] = field(default_factory=dict)
    spend: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    committed: set[str] = field(default_factory=set)
    reads: int = 0

    def values(self, request_ids: frozenset[str]) -> DatabaseValues:
        self.reads += 1
        return DatabaseValues(
            wallets=dict(self.wallets),
            key_used=dict(self.key_used),
            key_spend={k: list(v) for k, v in self.spend.items()},
            committed=frozenset(request_ids & self.committed),
        )

    def commit(self, request_id: str, wallet_id: int, key_ids: tuple[int, ...], cost: int, at_ms: int) -> None:
        """What the usage writer's transaction does for one record."""
        self.committed.add(request_id)
        self.wallets[wallet_id] -= cost
        for k in key_ids:
            self.key_used[k] = self.key_used.get(k, 0) + cost
            self.spend.setdefault(k, []).append((at_ms, cost))


@dataclass
class Bench:
    state: HotState
    clock: Clock
    db: FakeDatabase
    backend: str

    async def load(self, missing: tuple[Entity, ...]) -> bool:
        ticket = await self.state.load_ticket(missing)
        return await self.state.load(ticket, self.db.values(ticket.request_ids))

    async def admit(self, req: AdmitRequest) -> Admission:
        for _ in range(5):
            adm = await self.state.admit(req)
            if not adm.missing:
                return adm
            await self.load(adm.missing)
        raise AssertionError("entities never loaded")

    def request(
        self,
        amount: int,
        *,
        wallet: int = 1,
        account: int = 1,
        cap: int = 0,
        keys: tuple[KeyCaps, ...] = (KeyCaps(10, 0),),
    ) -> AdmitRequest:
        return AdmitRequest(f"h_{uuid.uuid4().hex[:12]}", amount, wallet, account, cap, keys)


@pytest.fixture(params=["memory", "redis"])
async def hot(request: pytest.FixtureRequest) -> AsyncIterator[Bench]:
    clock = Clock()
    db = FakeDatabase(wallets={1: 1_000_000, 2: 1_000_000}, key_used={10: 0, 11: 0, 12: 0})
    state: Any
    if request.param == "memory":
        state = MemoryState(hold_ttl_s=HOLD_TTL_S, clock_ms=clock)
    else:
        from bytespike.state.redis import RedisState

        url = await redis_or_skip()
        state = RedisState(url, prefix=f"bstest:{uuid.uuid4().hex[:10]}:", hold_ttl_s=HOLD_TTL_S, clock_ms=clock)
    try:
        yield Bench(state, clock, db, request.param)
    finally:
        if request.param == "redis":
            import redis.asyncio as aioredis

            client = aioredis.Redis.from_url(url)
            keys = [k async for k in client.scan_iter(match=state.prefix + "*")]
            if keys:
                await client.delete(*keys)
            await client.aclose()
        await state.close()


__all__ = ["KEY", "KEY_WINDOWS", "T0", "WALLET", "Bench", "Clock"]
