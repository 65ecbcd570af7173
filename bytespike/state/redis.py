"""`HotState` in Redis, shared by any number of gateway processes.

Every operation is one Lua script (``state/lua/*.lua``, each prefixed with ``prelude.lua``),
registered once and called by its SHA: admission is one round trip before the upstream call,
settlement one after it. Scripts run atomically in Redis, which is what makes a check and the
hold it places one step across processes. All keys live under a configurable prefix (tests use
a fresh one each). Times come from the Redis server's clock unless a test injects one.

Needs a standalone Redis (or a primary): the scripts build their key names from the prefix, so
they are not Redis Cluster compatible. Run it with ``maxmemory-policy noeviction``: an evicted
wallet is only reloaded from the database, but evicted holds would be forgotten.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Sequence
from importlib import resources
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bytespike.metrics import Metrics
from bytespike.state.hot import (
    KEY_WINDOWS,
    RETIRED_TTL_S,
    AccountView,
    Admission,
    AdmitRequest,
    DatabaseValues,
    Entity,
    EntityPeek,
    Hold,
    JournalEntry,
    KeyCaps,
    KeyView,
    Limit,
    LoadTicket,
    Observation,
    Refusal,
    RetiredSecret,
    Settlement,
    StateUnavailable,
    WindowView,
)
from bytespike.state.journal import HotWindows, hot_values, journal_entity
from bytespike.state.windows import WINDOWS

log = logging.getLogger("bytespike.state")

SCRIPTS = ("admit", "settle", "undo", "release", "renew", "observe", "ticket", "load", "invalidate")
LIMIT_FROM_LUA = {
    b"key_revoked": Limit.KEY_REVOKED,
    b"key_expired": Limit.KEY_EXPIRED,
    b"key_rotated": Limit.KEY_ROTATED,
    b"balance": Limit.BALANCE,
    b"quota": Limit.QUOTA,
    b"window": Limit.WINDOW,
    b"concurrency": Limit.CONCURRENCY,
}


def _script_source(name: str) -> str:
    lua = resources.files("bytespike.state") / "lua"
    return (lua / "prelude.lua").read_text() + "\n" + (lua / f"{name}.lua").read_text()


def _keys_args(keys: Sequence[KeyCaps]) -> list[int]:
    out: list[int] = [len(keys)]
    for k in keys:
        out += [k.key_id, k.quota, *k.windows]
    return out


def _entity(raw: bytes) -> Entity:
    kind, _, entity_id = raw.decode().partition(":")
    return kind, int(entity_id)


FORGET_MAX = 10_000
"""Committed journal entries a process holds to forget on its next script (see ``committed``)."""

MAX_CONNECTIONS = 64
"""Connections per process: scripts take ~0.1 ms, so 64 serve thousands of concurrent requests."""


class RedisState:
    """See the module docstring."""

    is_shared = True

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "bytespike:",
        hold_ttl_s: float = 60.0,
        timeout_s: float = 2.0,
        metrics: Metrics | None = None,
        clock_ms: Callable[[], int] | None = None,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        # A blocking pool: a request finding every connection busy waits (up to the timeout) for
        # one. redis-py's default pool raises MaxConnectionsError at its 100th concurrent call
        # instead, which this class would report as "Redis unreachable": under 256 concurrent
        # requests bench/run.py's workers scenario got 503 state_unavailable for most of them.
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=timeout_s,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            # A script is not idempotent (a retried admission would hold twice): fail instead.
            retry=Retry(NoBackoff(), 0),
        )
        self._redis: Any = aioredis.Redis(connection_pool=pool)
        self._redis.auto_close_connection_pool = True
        self._prefix = prefix
        self._ttl_ms = int(hold_ttl_s * 1000)
        self._metrics = metrics or Metrics()
        self._clock = clock_ms
        self._scripts = {name: self._redis.register_script(_script_source(name)) for name in SCRIPTS}
        self._forget: list[tuple[Any, ...]] = []
        """Committed journal entries to forget: (wallet, request id, settled at, key count, keys…)."""

    @property
    def prefix(self) -> str:
        return self._prefix

    async def _run(self, op: str, args: list[Any]) -> Any:
        now = self._clock() if self._clock is not None else -1
        self._metrics.inc("bytespike_state_round_trips_total", op=op)
        # Taken now, so a concurrent call cannot send them twice; lost if this call fails, which
        # only leaves them to expire with their bucket.
        forget, self._forget = self._forget, []
        try:
            return await self._scripts[op](
                keys=[], args=[self._prefix, now, len(forget), *itertools.chain.from_iterable(forget), *args]
            )
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            self._metrics.inc("bytespike_state_unavailable_total", op=op)
            raise StateUnavailable(f"Redis is unreachable: {exc}") from exc

    async def _call(self, op: str, fn: Any) -> Any:
        """A plain command (inspection), with the same failure mapping."""
        self._metrics.inc("bytespike_state_round_trips_total", op=op)
        try:
            return await fn
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            self._metrics.inc("bytespike_state_unavailable_total", op=op)
            raise StateUnavailable(f"Redis is unreachable: {exc}") from exc

    @staticmethod
    def _view(wallet_id: int, raw: list[Any]) -> AccountView:
        balance, held, at_ms, key_views = raw
        keys = tuple(
            KeyView(
                int(key_id),
                int(used),
                int(key_held),
                tuple(
                    WindowView(WINDOWS[int(i) - 1].name, int(cap), int(total), int(reset))
                    for i, cap, total, reset in windows
                ),
            )
            for key_id, used, key_held, windows in key_views
        )
        return AccountView(wallet_id, int(balance), int(held), keys, int(at_ms))

    # ------------------------------------------------------------------ HotState
    async def start(self) -> None:
        """Load every script now, so the first request of each kind costs one round trip too."""
        try:
            for script in self._scripts.values():
                script.sha = await self._redis.script_load(script.script)
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            log.warning("Redis is unreachable at start-up (%s); requests fail closed until it is back", exc)

    async def admit(self, req: AdmitRequest) -> Admission:
        r = await self._run(
            "admit",
            [
                req.hold_id,
                req.amount,
                self._ttl_ms,
                req.wallet_id,
                req.account_id,
                req.concurrency_cap,
                req.expires_at_ms,
                req.grace_until_ms,
                req.secret,
                *_keys_args(req.keys),
            ],
        )
        status = r[0]
        if status == b"missing":
            return Admission(missing=tuple(_entity(e) for e in r[1]))
        if status == b"ok":
            hold = Hold(req.hold_id, req.amount, req.wallet_id, req.account_id, req.keys)
            return Admission(hold=hold, view=self._view(req.wallet_id, r[1]))
        _, limit, key_id, window, available, cap, used, held, reset, in_flight, raw_view = r
        refusal = Refusal(
            LIMIT_FROM_LUA[limit],
            key_id=int(key_id) if key_id else None,
            window=window.decode() if window else None,
            available=int(available),
            cap=int(cap),
            used=int(used),
            held=int(held),
            reset_ms=int(reset),
            in_flight=int(in_flight),
        )
        return Admission(refusal=refusal, view=self._view(req.wallet_id, raw_view) if raw_view else None)

    async def settle(self, hold: Hold, request_id: str, cost: int) -> Settlement:
        r = await self._run(
            "settle",
            [
                hold.hold_id,
                hold.amount,
                hold.wallet_id,
                hold.account_id,
                request_id,
                cost,
                *_keys_args(hold.keys),
            ],
        )
        if r[0] == b"dup":
            return Settlement(int(r[1]), None, duplicate=True)
        view = self._view(hold.wallet_id, r[2]) if len(r) > 2 else None
        return Settlement(int(r[1]), view)

    def committed(self, hold: Hold, request_id: str, at_ms: int) -> None:
        # Forgotten by the prelude of this process's next script: no round trip of its own.
        # Bounded: past FORGET_MAX pending entries (no script ran for a long while) the rest
        # simply expire with their bucket, as all of them did before.
        if len(self._forget) < FORGET_MAX:
            self._forget.append((hold.wallet_id, request_id, at_ms, len(hold.key_ids), *hold.key_ids))

    async def undo_settle(self, hold: Hold, request_id: str, cost: int, at_ms: int) -> None:
        await self._run(
            "undo", [hold.wallet_id, request_id, cost, at_ms, len(hold.keys), *hold.key_ids]
        )

    async def release(self, hold: Hold) -> None:
        await self._run(
            "release",
            [hold.hold_id, hold.amount, hold.wallet_id, hold.account_id, len(hold.keys), *hold.key_ids],
        )

    async def renew(self, holds: Sequence[Hold]) -> None:
        if not holds:
            return
        args: list[Any] = [self._ttl_ms, len(holds)]
        for h in holds:
            args += [h.hold_id, h.amount, h.wallet_id, h.account_id, len(h.keys), *h.key_ids]
        await self._run("renew", args)

    async def observe(self, wallet_id: int, keys: Sequence[KeyCaps]) -> Observation:
        r = await self._run("observe", [wallet_id, *_keys_args(keys)])
        if r[0] == b"missing":
            return Observation(missing=tuple(_entity(e) for e in r[1]))
        return Observation(view=self._view(wallet_id, r[1]))

    async def load_ticket(self, entities: Sequence[Entity]) -> LoadTicket:
        r = await self._run("ticket", [len(entities), *(f"{k}:{i}" for k, i in entities)])
        gens: dict[Entity, int] = {}
        journal: dict[Entity, tuple[JournalEntry, ...]] = {}
        for raw_entity, gen, flat in r[1:]:
            entity = _entity(raw_entity)
            gens[entity] = int(gen)
            entries = []
            for i in range(0, len(flat), 2):
                cost, _, at_ms = flat[i + 1].partition(b"|")
                entries.append(JournalEntry(flat[i].decode(), int(cost), int(at_ms)))
            journal[journal_entity(entity)] = tuple(entries)
        return LoadTicket(int(r[0]), gens, journal)

    async def load(self, ticket: LoadTicket, values: DatabaseValues) -> bool:
        now = self._clock() if self._clock is not None else ticket.at_ms
        items = []
        for entity, value in hot_values(ticket, values, list(ticket.gens), now).items():
            if entity[0] == KEY_WINDOWS:
                assert isinstance(value, HotWindows)
                payload: Any = [sorted(b.items()) for b in value.buckets]
            else:
                payload = value
            items.append([f"{entity[0]}:{entity[1]}", ticket.gens[entity], payload])
        if not items:
            return True
        return bool(await self._run("load", [ticket.at_ms, orjson.dumps(items)]))

    async def invalidate(self, entities: Sequence[Entity]) -> None:
        if entities:
            await self._run("invalidate", [len(entities), *(f"{k}:{i}" for k, i in entities)])

    async def wallet_moved(self, wallet_id: int, entry_id: int, amount: int) -> None:
        # Reloading is exact (the journal covers settlements in flight), so the simplest correct
        # reaction to a movement committed in the database is to reload the wallet.
        await self.invalidate([("w", wallet_id)])

    async def retire_keys(self, revoked: Sequence[int], secrets: Sequence[RetiredSecret] = ()) -> None:
        # Plain commands (not on the request path); read by admit.lua. 0 = "at once" there.
        p = self._prefix
        async with self._redis.pipeline(transaction=True) as pipe:
            for key_id in revoked:
                pipe.set(f"{p}kr:{key_id}", b"1", ex=RETIRED_TTL_S)
            for secret in secrets:
                pipe.hset(f"{p}ks:{secret.key_id}", secret.fingerprint, secret.until_ms)
                pipe.expire(f"{p}ks:{secret.key_id}", RETIRED_TTL_S)
            await self._call("retire", pipe.execute())

    async def peek(self, kind: str, entity_id: int) -> EntityPeek:
        p = self._prefix
        field = "bal" if kind == "w" else "used"
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hmget(f"{p}{kind}:{entity_id}", field, "held")
            pipe.zrange(f"{p}{kind}h:{entity_id}", 0, -1, withscores=True)
            (value, held), members = await self._call("peek", pipe.execute())
        holds = []
        for member, deadline in members:
            hold_id, _, amount = member.decode().rpartition("|")
            holds.append((hold_id, int(amount), int(deadline)))
        return EntityPeek(value is not None, int(value or 0), int(held or 0), tuple(holds))

    async def leases(self, account_id: int) -> tuple[tuple[str, int], ...]:
        members = await self._call(
            "peek", self._redis.zrange(f"{self._prefix}c:{account_id}", 0, -1, withscores=True)
        )
        return tuple((m.decode(), int(s)) for m, s in members)

    async def close(self) -> None:
        await self._redis.aclose()
