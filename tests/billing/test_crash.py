"""SIGKILL one of two gateway processes under load (DESIGN.md §3 "a crash loses no billed
request"; docs/billing.md "Consistency").

Every response a client received whole has its usage record; the killed process's holds and
leases stay in Redis only until their TTL (2 s here); and the hot wallet differs from the
database by exactly the charges the dead process applied in Redis but never committed, which
its journal names (they were never delivered, so they are not billed).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import orjson
import pytest

from tests.billing.support import Cluster
from tests.errors.support import ANTHROPIC, GEMINI, OPENAI, auth, body, route, sse_frames

HOLD_TTL_S = 2.0


@pytest.fixture(scope="module")
async def doomed(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:
    c = Cluster(tmp_path_factory.mktemp("crash"), gateways=2, hold_ttl_s=str(HOLD_TTL_S))
    try:
        await c.start()
        yield c
    finally:
        await c.stop()


def whole(proto: str, stream: bool, raw: bytes) -> bool:
    """Did the client get the complete reply (the terminal frame, or a whole JSON body)?"""
    if not stream:
        try:
            orjson.loads(raw)
        except orjson.JSONDecodeError:
            return False
        return True
    frames = sse_frames(raw)
    if not frames:
        return False
    event, data = frames[-1]
    if proto == ANTHROPIC:
        return event == "message_stop"
    if proto == OPENAI:
        return data == b"[DONE]"
    return b'"finishReason"' in data and b'"error"' not in data


async def one(
    client: aiohttp.ClientSession,
    base: str,
    proto: str,
    secret: str,
    stream: bool,
    text: str = "Go on. [[sim:chunks=8,chunk_delay_ms=60,words=16,latency_ms=100]]",
) -> tuple[str | None, bool]:
    """(request id, received whole) of one request; connection errors count as not whole."""
    try:
        async with client.post(
            base + route(proto, stream=stream),
            data=orjson.dumps(body(proto, text, stream=stream, max_tokens=64)),
            headers=[*auth(proto, secret), ("content-type", "application/json")],
        ) as r:
            request_id = r.headers.get("x-request-id")
            raw = await r.read()
            return request_id, r.status == 200 and whole(proto, stream, raw)
    except (TimeoutError, aiohttp.ClientError):
        return None, False


async def test_sigkill_under_load_loses_no_delivered_charge_and_strands_nothing(
    doomed: Cluster, client: aiohttp.ClientSession
) -> None:
    key = await doomed.funded_key("20")
    funded = await doomed.balance(key.wallet_id)
    protos = (ANTHROPIC, OPENAI, GEMINI)
    for i in range(2):  # warm both processes up (connections, caches)
        assert (await one(client, doomed.url(i), OPENAI, key.secret, stream=False))[1]
    assert doomed.state is not None
    tasks = [
        asyncio.create_task(one(client, doomed.url(i), protos[i % 3], key.secret, stream=i % 4 != 0))
        for i in range(90)
    ]
    for _ in range(300):  # kill once most requests are admitted and streaming
        if len((await doomed.state.peek("w", key.wallet_id)).holds) >= 60:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)
    doomed.kill(1)
    killed_at = time.monotonic()
    results = await asyncio.gather(*tasks)

    received = {rid for rid, ok in results if ok and rid}
    assert len(received) >= 40, "the surviving process kept serving"
    assert len(received) < len(results), "the kill interrupted requests"
    rows = await doomed.usage_rows(wallet_id=key.wallet_id)
    billed = {r["request_id"] for r in rows}
    assert received <= billed, f"delivered but not billed: {received - billed}"
    assert await doomed.balance(key.wallet_id) == funded - sum(r["cost_micros"] for r in rows)

    # The dead process's holds and leases are still recorded, but only until their deadline.
    wallet = await doomed.state.peek("w", key.wallet_id)
    leases = await doomed.state.leases(key.user_id)
    assert wallet.holds and leases, "the dead process left holds and leases behind"
    latest_ms = (time.time() + HOLD_TTL_S) * 1000
    assert all(d <= latest_ms for _, _, d in wallet.holds), wallet.holds
    assert all(d <= latest_ms for _, d in leases), leases
    await asyncio.sleep(max(0.0, killed_at + HOLD_TTL_S + 0.2 - time.monotonic()))
    # The next admission (on the survivor) sweeps what expired.
    assert (await one(client, doomed.url(0), OPENAI, key.secret, stream=False))[1]
    await doomed.assert_nothing_held(key.wallet_id, [key.key_id], [key.user_id])

    # Hot copy = database − the charges applied in Redis that no usage record carries.
    ticket = await doomed.state.load_ticket([("w", key.wallet_id)])
    billed = {r["request_id"] for r in await doomed.usage_rows(wallet_id=key.wallet_id)}
    uncommitted = sum(e.cost for e in ticket.journal[("w", key.wallet_id)] if e.request_id not in billed)
    hot = await doomed.state.peek("w", key.wallet_id)
    assert hot.value == await doomed.balance(key.wallet_id) - uncommitted
    # A reload reproduces exactly that (the journal still names those charges).
    await doomed.state.invalidate([("w", key.wallet_id)])
    assert (await one(client, doomed.url(0), ANTHROPIC, key.secret, stream=True))[1]
    hot = await doomed.state.peek("w", key.wallet_id)
    assert hot.value == await doomed.balance(key.wallet_id) - uncommitted
