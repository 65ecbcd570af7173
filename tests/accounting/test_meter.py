"""`Meter` on both databases and both hot-state backends: the errors each limit produces, the
renewal of running requests' holds, undoing a charge whose record could not be written, the
Redis outage modes, and ledger movements made behind the gateway's back."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
import sqlalchemy as sa

from bytespike.access.principal import KeyLimits, Principal
from bytespike.accounting.meter import Meter, MeterConfig
from bytespike.accounting.refusals import refusal_error
from bytespike.errors import GatewayError
from bytespike.metrics import Metrics
from bytespike.state.hot import KEY, WALLET, Hold, Limit, Refusal, StateUnavailable
from bytespike.state.memory import MemoryState
from bytespike.storage import ledger
from bytespike.storage.batch_writer import UsageWriter
from bytespike.storage.schema import ledger_entries, users, wallets
from tests.storage.test_ledger_and_usage import _usage, _user_wallet_key
from tests.support.services import drop_redis_prefix, redis_or_skip

TTL = 0.3


@dataclass
class Env:
    engine: Any
    meter: Meter
    metrics: Metrics
    principal: Principal

    async def fund(self, micros: int) -> None:
        async with self.engine.begin() as conn:
            await ledger.apply_movement(
                conn,
                wallet_id=self.principal.wallet_id,
                kind="admin_credit",
                amount_micros=micros,
                idempotency_key=f"t-{uuid.uuid4().hex}",
            )

    def record(self, cost: int) -> Any:
        p = self.principal
        return replace(_usage("req_" + uuid.uuid4().hex, p.user_id, p.wallet_id, p.key_id, cost), key_chain=p.key_chain_ids)

    async def balance(self) -> int:
        async with self.engine.connect() as conn:
            return int(await conn.scalar(sa.select(wallets.c.balance_micros).where(wallets.c.id == self.principal.wallet_id)))


def principal(user_id: int, wallet_id: int, key_id: int, **limits: int) -> Principal:
    return Principal(
        key_id=key_id,
        user_id=user_id,
        org_id=None,
        wallet_id=wallet_id,
        group="default",
        scopes=frozenset({"inference"}),
        allowed_models=None,
        ip_allow=(),
        ip_deny=(),
        expires_at=None,
        chain=(KeyLimits(key_id, limits.get("quota", 0), limits.get("w5h", 0), limits.get("w1d", 0), limits.get("w7d", 0)),),
        tier="free",
        masked_key="sk-byts-…",
    )


async def _state(kind: str, metrics: Metrics, ttl: float) -> tuple[Any, str | None]:
    if kind == "memory":
        return MemoryState(hold_ttl_s=ttl), None
    from bytespike.state.redis import RedisState

    url = await redis_or_skip()
    prefix = f"bstest:{uuid.uuid4().hex[:10]}:"
    return RedisState(url, prefix=prefix, hold_ttl_s=ttl, metrics=metrics), prefix


@pytest.fixture(params=["memory", "redis"])
async def env(request: pytest.FixtureRequest, engine) -> AsyncIterator[Env]:
    metrics = Metrics()
    state, prefix = await _state(request.param, metrics, TTL)
    writer = UsageWriter(engine)
    writer.start()
    meter = Meter(engine, state, writer, MeterConfig(hold_ttl_s=TTL, cache_ttl_s=0.05), metrics)
    await meter.start()
    user_id, wallet_id, key_id = await _user_wallet_key(engine)
    try:
        yield Env(engine, meter, metrics, principal(user_id, wallet_id, key_id))
    finally:
        await writer.close()
        await meter.close()
        if prefix is not None:
            await drop_redis_prefix(prefix)


async def test_admit_settle_and_the_header_values(env: Env) -> None:
    await env.fund(1_000_000)
    await env.meter.refresh(env.principal)
    view = env.meter.quota_view(env.principal)
    assert view is not None and view.remaining_micros == 1_000_000 and view.window is None
    hold = await env.meter.admit(env.principal, 5000)
    assert env.meter.held_micros(env.principal.wallet_id) == 5000
    assert await env.meter.held_now(env.principal) == 5000
    await env.meter.settle(hold, env.record(1234))
    assert await env.balance() == 1_000_000 - 1234
    view = env.meter.quota_view(env.principal)
    assert view is not None and view.remaining_micros == 1_000_000 - 1234
    assert env.meter.held_micros(env.principal.wallet_id) == 0
    assert env.metrics.value("bytespike_settlements_total", result="ok") == 1


async def test_a_durable_charge_leaves_nothing_in_the_journal(env: Env) -> None:
    """Once the usage record commits, a reload reads the charge from the database: the journal
    entry that covered the gap must go, or the embedded gateway's memory grows with traffic."""
    await env.fund(1_000_000)
    for cost in (100, 200, 300):
        hold = await env.meter.admit(env.principal, 5000)
        await env.meter.settle(hold, env.record(cost))
    p = env.principal
    ticket = await env.meter.state.load_ticket([(WALLET, p.wallet_id), (KEY, p.key_id)])
    assert ticket.request_ids == frozenset()
    assert await env.balance() == 1_000_000 - 600


async def test_a_caller_that_goes_away_during_a_load_does_not_fail_the_others(env: Env) -> None:
    """Concurrent requests for an entity being loaded wait for the one load. A waiter cancelled
    (its client disconnected) must not cancel that load for the rest: it once did, failing every
    other waiter with a CancelledError and the loader with InvalidStateError (500s)."""
    await env.fund(1_000_000)
    state = env.meter.state
    gate = asyncio.Event()
    real_ticket = state.load_ticket

    async def slow_ticket(entities: Any) -> Any:
        await gate.wait()
        return await real_ticket(entities)

    state.load_ticket = slow_ticket  # type: ignore[method-assign]
    loader = asyncio.create_task(env.meter.admit(env.principal, 5000))
    await asyncio.sleep(0.01)
    gone = asyncio.create_task(env.meter.admit(env.principal, 5000))
    stays = asyncio.create_task(env.meter.admit(env.principal, 5000))
    await asyncio.sleep(0.01)
    gone.cancel()
    await asyncio.sleep(0.01)
    gate.set()
    holds = await asyncio.gather(loader, stays)
    assert gone.cancelled()
    assert all(h.amount == 5000 for h in holds)
    assert await env.meter.held_now(env.principal) == 10_000


async def test_a_ledger_movement_during_a_request_leaves_the_header_values_known(env: Env) -> None:
    """A movement (here announced by this process) marks the cached wallet stale while a request
    runs and, with Redis, invalidates the hot wallet too: the request keeps header values
    throughout, and the settlement ends with the new ones."""
    await env.fund(1_000_000)
    await env.meter.refresh(env.principal)
    hold = await env.meter.admit(env.principal, 5000)
    await env.fund(500_000)
    async with env.engine.connect() as conn:
        entry_id = await conn.scalar(sa.select(sa.func.max(ledger_entries.c.id)))
    await env.meter.wallet_moved(env.principal.wallet_id, entry_id, 500_000)
    assert env.meter.quota_view(env.principal) is not None, "the movement left no header values"
    await env.meter.settle(hold, env.record(1234))
    view = env.meter.quota_view(env.principal)
    assert view is not None and view.remaining_micros == 1_500_000 - 1234 == await env.balance()


async def test_each_limit_raises_its_spec_error(env: Env) -> None:
    await env.fund(10_000)
    p = env.principal
    with pytest.raises(GatewayError) as e:
        await env.meter.admit(p, 20_000)
    assert (e.value.status, e.value.code) == (402, "insufficient_balance")
    quota = replace(p, chain=(KeyLimits(p.key_id, 1000),))
    with pytest.raises(GatewayError) as e:
        await env.meter.admit(quota, 2000)
    assert (e.value.status, e.value.code) == (402, "quota_exceeded")
    window = replace(p, chain=(KeyLimits(p.key_id, 0, 500),))
    held = await env.meter.admit(window, 600)
    with pytest.raises(GatewayError) as e:
        await env.meter.admit(window, 1)
    assert (e.value.status, e.value.code, e.value.retry_after) == (429, "rate_limit_exceeded", 1)
    assert e.value.message.startswith("rate_limit_5h exceeded: 0.00 / 0.00 used; resets at ")
    env.meter.release(held)
    async with env.engine.begin() as conn:
        await conn.execute(users.update().where(users.c.id == p.user_id).values(concurrency_limit=1))
    await asyncio.sleep(0.06)  # the cap is re-read after cache_ttl_s
    first = await env.meter.admit(p, 10)
    with pytest.raises(GatewayError) as e:
        await env.meter.admit(p, 10)
    assert (e.value.status, e.value.code, e.value.retry_after) == (429, "concurrency_limit", 1)
    env.meter.release(first)
    await asyncio.sleep(0.05)
    env.meter.release(await env.meter.admit(p, 10))
    assert env.metrics.value("bytespike_admissions_total", result="concurrency_limit") == 1


def test_the_window_message_follows_the_spec() -> None:
    p = principal(1, 1, 7)
    reset_ms = 1_779_717_600_000  # 2026-05-25 14:00:00 UTC
    err = refusal_error(p, 10, Refusal(Limit.WINDOW, 7, "5h", cap=50_000_000, used=50_000_000, reset_ms=reset_ms), reset_ms - 90_500)
    assert err.message == "rate_limit_5h exceeded: 50.00 / 50.00 used; resets at 2026-05-25 14:00:00 UTC"
    assert (err.status, err.code, err.retry_after) == (429, "rate_limit_exceeded", 91)
    parent = refusal_error(p, 10, Refusal(Limit.WINDOW, 3, "1d", cap=5, used=9, reset_ms=reset_ms), reset_ms)
    assert parent.message.endswith("(limit of parent key 3)") and parent.retry_after == 1


async def test_running_requests_keep_their_holds_and_a_dead_ones_expire(env: Env) -> None:
    await env.fund(1_000_000)
    async with env.engine.begin() as conn:
        await conn.execute(users.update().where(users.c.id == env.principal.user_id).values(concurrency_limit=1))
    hold = await env.meter.admit(env.principal, 100)
    await asyncio.sleep(2.5 * TTL)  # renewed every third of the TTL
    with pytest.raises(GatewayError) as e:
        await env.meter.admit(env.principal, 100)
    assert e.value.code == "concurrency_limit"
    env.meter._live.clear()  # the process "dies": nobody renews any more
    await asyncio.sleep(1.3 * TTL)
    env.meter.release(await env.meter.admit(env.principal, 100))
    assert hold.placed


class _FailingWriter(UsageWriter):
    def submit(self, record: Any) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        fut.set_exception(RuntimeError("database is down"))
        return fut


async def test_a_charge_whose_record_cannot_be_written_is_free_and_undone(env: Env) -> None:
    await env.fund(1_000_000)
    meter = Meter(env.engine, env.meter.state, _FailingWriter(env.engine), MeterConfig(hold_ttl_s=TTL), env.metrics)
    hold = await meter.admit(env.principal, 5000)
    with pytest.raises(GatewayError) as e:
        await meter.settle(hold, env.record(777))
    assert (e.value.status, e.value.code) == (503, "billing_unavailable")
    await asyncio.sleep(0.05)
    await meter.refresh(env.principal)
    assert await env.balance() == 1_000_000
    obs = await env.meter.state.observe(env.principal.wallet_id, ())
    assert obs.view is not None and (obs.view.balance, obs.view.held) == (1_000_000, 0)


async def test_ledger_movements_made_elsewhere_reach_the_hot_balance(env: Env) -> None:
    await env.fund(1_000)
    await env.meter.refresh(env.principal)
    env.meter.release(await env.meter.admit(env.principal, 1000))
    await env.fund(2_000)  # e.g. `bytespike credits grant` without Redis, or the console
    await asyncio.sleep(0.06)
    await env.meter.refresh(env.principal)
    view = env.meter.quota_view(env.principal)
    assert view is not None and view.remaining_micros == 3_000
    env.meter.release(await env.meter.admit(env.principal, 3000))
    await env.meter.refresh(env.principal)
    assert env.meter.quota_view(env.principal).remaining_micros == 3_000  # type: ignore[union-attr]


async def test_a_ledger_poll_never_leaves_an_admitted_request_without_header_values(env: Env) -> None:
    """Another request's refresh that finds a new ledger entry marks the wallet for re-reading;
    a request admitted before it must still find values for its quota headers (a 2xx without
    X-Quota-Remaining-Credits was seen under load when the poll dropped the cached wallet)."""
    await env.fund(1_000)
    await env.meter.refresh(env.principal)
    hold = await env.meter.admit(env.principal, 100)
    await env.fund(2_000)
    await asyncio.sleep(0.06)
    await env.meter._poll_ledger(env.principal.wallet_id, 1e12)  # what a concurrent refresh does
    assert env.meter.quota_view(env.principal) is not None
    await env.meter.settle(hold, env.record(10))
    await env.meter.refresh(env.principal)
    assert env.meter.quota_view(env.principal).remaining_micros == 3_000 - 10  # type: ignore[union-attr]


class _Down:
    """A hot state whose backend is unreachable, until `up` is set."""

    is_shared = True

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.up = False
        self.invalidated: list[Any] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            if not self.up and name not in ("close", "start"):
                raise StateUnavailable("down")
            if name == "invalidate":
                self.invalidated.extend(args[0])
            return await attr(*args, **kwargs)

        return call


@pytest.mark.parametrize("fail_open", [False, True], ids=["closed", "open"])
async def test_an_unreachable_state_fails_closed_or_lets_requests_through(engine, fail_open: bool) -> None:
    user_id, wallet_id, key_id = await _user_wallet_key(engine)
    p = principal(user_id, wallet_id, key_id)
    metrics = Metrics()
    down = _Down(MemoryState())
    writer = UsageWriter(engine)
    writer.start()
    meter = Meter(engine, down, writer, MeterConfig(fail_open=fail_open), metrics)  # type: ignore[arg-type]
    try:
        await meter.refresh(p)  # never fails the request: headers are just unknown
        assert meter.quota_view(p) is None
        if not fail_open:
            with pytest.raises(GatewayError) as e:
                await meter.admit(p, 10)
            assert (e.value.status, e.value.code, e.value.retry_after) == (503, "state_unavailable", 1)
            assert metrics.value("bytespike_admissions_total", result="state_unavailable") == 1
            return
        hold = await meter.admit(p, 10)
        assert isinstance(hold, Hold) and not hold.placed
        await meter.settle(hold, replace(_usage("req_open", user_id, wallet_id, key_id, 42), key_chain=(key_id,)))
        async with engine.connect() as conn:
            assert await conn.scalar(sa.select(wallets.c.balance_micros).where(wallets.c.id == wallet_id)) == -42
        assert metrics.value("bytespike_admissions_total", result="fail_open") == 1
        down.up = True
        with pytest.raises(GatewayError):
            await meter.admit(p, 10)  # the wallet is empty now; what matters is what ran first
        assert ("w", wallet_id) in down.invalidated, "charged while away: reloaded from the database"
    finally:
        await writer.close()
        await meter.close()
