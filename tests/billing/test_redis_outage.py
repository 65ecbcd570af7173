"""Redis as the shared hot state: round trips per request, and what happens when it goes away
(DESIGN.md §3: fail closed with a clear 503 in the caller's shape, counted in a metric;
``BYTESPIKE_REDIS_FAIL_OPEN=true`` lets requests through unguarded instead).

These tests run their own redis-server, so they can count its commands and stop it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import orjson
import pytest

from tests.billing.support import Cluster, PrivateRedis, metrics
from tests.errors.support import (
    ANTHROPIC,
    GEMINI,
    OPENAI,
    PROTOCOLS,
    Err,
    Resp,
    assert_error,
    assert_stream_error,
    auth,
    body,
    call,
    route,
)
from tests.support.processes import free_port

UNAVAILABLE = Err(503, "state_unavailable", "overloaded_error", "overloaded_error", "UNAVAILABLE")


@pytest.fixture(scope="module")
async def own(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Cluster, PrivateRedis]]:
    tmp = tmp_path_factory.mktemp("outage")
    redis = PrivateRedis(free_port(), tmp)
    redis.start()
    # A long hold TTL: no renewal tick lands inside the round-trip count.
    c = Cluster(tmp, gateways=1, hold_ttl_s="60", redis_url=redis.url, extra_env={"BYTESPIKE_REDIS_TIMEOUT": "0.5"})
    try:
        await c.start()
        c.procs.append(c.start_gateway(1, env={"BYTESPIKE_REDIS_FAIL_OPEN": "true"}))
        yield c, redis
    finally:
        await c.stop()
        redis.stop()


async def test_one_round_trip_before_the_upstream_call_and_one_after(own, client: aiohttp.ClientSession) -> None:
    cluster, redis = own
    key = await cluster.funded_key("5")
    poor = await cluster.funded_key("0.000001")
    base = cluster.url(0)
    for proto in PROTOCOLS:  # warm-up: loads the entities, registers the scripts
        assert (await call(client, base, proto, key.secret)).status == 200
    assert (await call(client, base, OPENAI, poor.secret)).status == 402

    async def count(make) -> tuple[int, float]:
        before = (await redis.command_calls("evalsha"), await metrics(client, base))
        await make()
        after = (await redis.command_calls("evalsha"), await metrics(client, base))
        trips = after[1].get('bytespike_state_round_trips_total{op="admit"}', 0) - before[1].get(
            'bytespike_state_round_trips_total{op="admit"}', 0
        )
        return after[0] - before[0], trips

    async def successes() -> None:
        for i in range(12):
            r = await call(client, base, PROTOCOLS[i % 3], key.secret, stream=i % 2 == 1)
            assert r.status == 200

    async def failures() -> None:
        for i in range(6):
            r = await call(client, base, PROTOCOLS[i % 3], key.secret, text="Hi [[sim:error=500]]")
            assert r.status == 502

    async def refusals() -> None:
        for _ in range(5):
            assert (await call(client, base, OPENAI, poor.secret)).status == 402

    assert await count(successes) == (24, 12), "admission + settlement: two scripts per billed request"
    assert await count(failures) == (12, 6), "admission + release for a failure"
    assert await count(refusals) == (5, 5), "a refused admission is its only round trip"


async def test_an_outage_fails_closed_in_the_callers_shape_then_recovers(own, client: aiohttp.ClientSession) -> None:
    cluster, redis = own
    key = await cluster.funded_key("5")
    funded = await cluster.balance(key.wallet_id)
    closed, opened = cluster.url(0), cluster.url(1)
    assert (await call(client, closed, ANTHROPIC, key.secret)).status == 200
    before = await cluster.balance(key.wallet_id)
    redis.stop()

    for proto in PROTOCOLS:
        for stream in (False, True):
            resp = await call(client, closed, proto, key.secret, stream=stream)
            assert_error(proto, resp, UNAVAILABLE, contains=["Redis"])
            assert resp.headers["retry-after"] == "1"
    assert len(await cluster.usage_rows(key_id=key.key_id)) == 1, "nothing was billed"
    assert await cluster.balance(key.wallet_id) == before
    m = await metrics(client, closed)
    assert m['bytespike_admissions_total{result="state_unavailable"}'] == 6
    assert sum(v for k, v in m.items() if k.startswith("bytespike_state_unavailable_total")) >= 6

    # Fail-open: served and billed in the database, without holds.
    ok = await call(client, opened, GEMINI, key.secret)
    assert ok.status == 200, ok
    rows = await cluster.usage_rows(key_id=key.key_id)
    assert len(rows) == 2 and rows[-1]["request_id"] == ok.headers["x-request-id"]
    assert (await metrics(client, opened))['bytespike_admissions_total{result="fail_open"}'] == 1

    redis.start()  # back, and empty: every entity is reloaded from the database
    for base in (closed, opened):
        assert (await call(client, base, OPENAI, key.secret)).status == 200
    await cluster.assert_books_balance(key.wallet_id, funded)
    await cluster.assert_nothing_held(key.wallet_id, [key.key_id], [key.user_id])


async def test_redis_lost_before_the_settlement_ends_the_stream_with_an_error_and_bills_nothing(
    own, client: aiohttp.ClientSession
) -> None:
    """Admitted with Redis up, Redis gone by the time the stream ends: the settlement cannot
    reach it, so the request is not billed, and the stream ends with the protocol's error frame
    (docs/billing.md, Redis outage) instead of its normal end."""
    cluster, redis = own
    key = await cluster.funded_key("5")
    base = cluster.url(0)  # fail-closed
    for proto in PROTOCOLS:
        assert (await call(client, base, proto, key.secret)).status == 200  # entities loaded
        rows = len(await cluster.usage_rows(key_id=key.key_id))
        balance = await cluster.balance(key.wallet_id)
        # 1.4 s of stream after the headers (gaps under the cluster's 1 s read timeout).
        slow = "Take your time. [[sim:chunks=3,chunk_delay_ms=700,words=3]]"
        try:
            async with client.post(
                base + route(proto, stream=True),
                data=orjson.dumps(body(proto, slow, stream=True, max_tokens=32)),
                headers=[*auth(proto, key.secret), ("content-type", "application/json")],
            ) as r:
                assert r.status == 200  # admitted: the hold is in Redis
                redis.stop()
                resp = Resp(r.status, {k.lower(): v for k, v in r.headers.items()}, await r.read())
        finally:
            if redis.proc is None:
                redis.start()
        assert_stream_error(proto, resp, UNAVAILABLE)
        assert len(await cluster.usage_rows(key_id=key.key_id)) == rows, f"{proto}: billed without Redis"
        assert await cluster.balance(key.wallet_id) == balance
