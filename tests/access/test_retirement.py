"""Revoking a key or rotating its secret reaches billing admission at once (issue 5 #2): a
process whose key cache still holds the old principal (30 s TTL, no invalidation message) is
refused by the admission step itself, on both databases and both hot-state backends."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from bytespike.access.authenticator import KeyResolver
from bytespike.access.issuance import KeySpec, create_user, issue_key
from bytespike.access.keys_admin import KeyManager
from bytespike.access.retirement import KeyRetirement
from bytespike.accounting.meter import Meter, MeterConfig
from bytespike.errors import GatewayError
from bytespike.routing.catalogue import load_catalogue
from bytespike.state.key_events import KeyEvents
from bytespike.state.memory import MemoryState
from bytespike.storage import accounts, ledger
from bytespike.storage.batch_writer import UsageWriter
from tests.support.services import drop_redis_prefix, redis_or_skip

SEALER_SECRET = "retirement-test-secret-0123456789"


@dataclass
class Env:
    meter: Meter
    stale: KeyResolver
    """A resolver whose 30 s cache nobody invalidates: another process that missed the news."""
    keys: KeyManager


@pytest.fixture(params=["memory", "redis"])
async def env(request: pytest.FixtureRequest, engine) -> AsyncIterator[Env]:
    from bytespike.access.secrets import KeySealer

    state: Any
    prefix = None
    if request.param == "memory":
        state = MemoryState()
    else:
        from bytespike.state.redis import RedisState

        prefix = f"bstest:{uuid.uuid4().hex[:10]}:"
        state = RedisState(await redis_or_skip(), prefix=prefix)
    catalogue = load_catalogue()
    async with engine.begin() as conn:
        await accounts.sync_groups(conn, {g.name: (g.description, g.public) for g in catalogue.groups.values()})
    writer = UsageWriter(engine)
    writer.start()
    meter = Meter(engine, state, writer, MeterConfig())
    await meter.start()
    sealer = KeySealer(SEALER_SECRET)
    keys = KeyManager(engine, sealer, catalogue, KeyEvents(lambda: None), KeyRetirement(state))
    try:
        yield Env(meter, KeyResolver(engine, sealer, ttl=30), keys)
    finally:
        await writer.close()
        await meter.close()
        if prefix is not None:
            await drop_redis_prefix(prefix)


async def _key(engine, **spec: Any) -> tuple[int, str]:
    email = f"r-{uuid.uuid4().hex[:8]}@example.test"
    user = await create_user(engine, email=email, password=None)
    async with engine.begin() as conn:
        wallet = await accounts.get_user_wallet(conn, user.id)
        await ledger.apply_movement(
            conn, wallet_id=wallet.id, kind="admin_credit", amount_micros=5_000_000, idempotency_key=f"r-{uuid.uuid4().hex}"
        )
    from bytespike.access.secrets import KeySealer

    issued = await issue_key(
        engine, KeySealer(SEALER_SECRET), user_email=email, spec=KeySpec(**spec), known_groups=["default"]
    )
    return issued.id, issued.key


async def _admitted(env: Env, secret: str) -> None:
    principal = await env.stale.authenticate(secret)
    hold = await env.meter.admit(principal, 1000)
    env.meter.release(hold)


async def _refused(env: Env, secret: str, why: str) -> None:
    principal = await env.stale.authenticate(secret)  # still cached: the cache alone would let it in
    with pytest.raises(GatewayError) as refused:
        await env.meter.admit(principal, 1000)
    assert (refused.value.status, refused.value.code) == (401, "invalid_api_key")
    assert why in refused.value.message


async def test_a_revoked_key_is_refused_inside_the_cache_ttl(env: Env, engine) -> None:
    key_id, secret = await _key(engine)
    await _admitted(env, secret)
    await env.keys.revoke(None, key_id)
    await _refused(env, secret, "revoked")


async def test_a_rotated_secret_is_refused_at_once_and_the_new_one_admitted(env: Env, engine) -> None:
    key_id, old = await _key(engine)
    await _admitted(env, old)
    _, new = await env.keys.rotate(None, key_id)
    await _refused(env, old, "rotated")
    await _admitted(env, new)


async def test_a_rotation_grace_period_is_honoured_then_ends(env: Env, engine) -> None:
    key_id, old = await _key(engine)
    await _admitted(env, old)
    _, newer = await env.keys.rotate(None, key_id, grace_seconds=1)
    await _admitted(env, old)
    await asyncio.sleep(1.1)
    await _refused(env, old, "rotated")
    # Rotating again ends the grace of the secret it takes away, even if it had some left.
    _, newest = await env.keys.rotate(None, key_id, grace_seconds=60)
    await _admitted(env, newer)
    await _admitted(env, newest)
    await env.keys.rotate(None, key_id)
    await _refused(env, newer, "rotated")
    await _refused(env, newest, "rotated")


async def test_the_cli_operator_marks_and_announces_a_revocation_on_redis(engine) -> None:
    """``bytespike keys revoke`` runs in its own process: it reaches running gateways through
    Redis, both by the admission marker and by the key-change message."""
    from bytespike.access.operator import Operator
    from bytespike.access.secrets import KeySealer
    from bytespike.state.redis import RedisState

    url = await redis_or_skip()
    prefix = f"bstest:{uuid.uuid4().hex[:10]}:"
    catalogue = load_catalogue()
    async with engine.begin() as conn:
        await accounts.sync_groups(conn, {g.name: (g.description, g.public) for g in catalogue.groups.values()})
    key_id, secret = await _key(engine)
    state = RedisState(url, prefix=prefix)
    writer = UsageWriter(engine)
    writer.start()
    meter = Meter(engine, state, writer, MeterConfig())
    await meter.start()
    heard: list[int] = []
    gateway_events = KeyEvents(lambda: heard.append(1), url, prefix=prefix)
    await gateway_events.start()
    env = Env(meter, KeyResolver(engine, KeySealer(SEALER_SECRET), ttl=30), None)  # type: ignore[arg-type]
    operator = Operator(engine, KeySealer(SEALER_SECRET), catalogue, url, prefix)
    try:
        await _admitted(env, secret)
        before = len(heard)
        await operator.revoke(key_id)
        await _refused(env, secret, "revoked")
        for _ in range(100):
            if len(heard) > before:
                break
            await asyncio.sleep(0.01)
        assert len(heard) > before, "the key-change message reached the gateway's listener"
    finally:
        await operator.close()
        await gateway_events.close()
        await writer.close()
        await meter.close()
        await drop_redis_prefix(prefix)
