"""Streams that outlive the hold TTL, and streams that stall (issue 5 #4, #6), on PostgreSQL +
Redis with a 3 s hold TTL and a 1 s upstream read timeout (tests/billing/support.py).

A stream open longer than ``BYTESPIKE_HOLD_TTL`` keeps its hold and its concurrency lease
(renewed every third of the TTL) and is billed once when it ends; an upstream that stops
sending mid-stream for longer than the read timeout ends the stream with the protocol's error
frame, free, with nothing left held.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from yarl import URL

from tests.billing.support import Cluster
from tests.billing.test_fault_matrix import (
    ALL,
    assert_free,
    call,
    cluster_cost,
    credential,
    delivered_content,
    request,
)
from tests.errors.support import OPENAI, sse_frames

HOLD_TTL_S = 3.0


async def test_a_stream_longer_than_the_hold_ttl_keeps_hold_and_lease_and_is_billed_once(
    cluster: Cluster, client: aiohttp.ClientSession
) -> None:
    assert float(cluster.hold_ttl_s) == HOLD_TTL_S
    key = await cluster.funded_key("5", concurrency=1)
    before = await cluster.balance(key.wallet_id)
    # About 5 s of content: 14 deltas 350 ms apart, each well inside the 1 s read timeout.
    text = "Tell me a long story. [[sim:chunks=14,chunk_delay_ms=350,words=28]]"
    path, data, headers = request(OPENAI, text, stream=True, max_tokens=64)
    started = time.monotonic()
    received = b""
    assert cluster.state is not None
    async with client.post(URL(cluster.url(0) + path, encoded=True), data=data, headers=[*credential(OPENAI, key.secret), *headers]) as r:
        assert r.status == 200
        request_id = r.headers["x-request-id"]
        checked = False
        async for chunk in r.content.iter_any():
            received += chunk
            if not checked and time.monotonic() - started > HOLD_TTL_S + 0.8:
                checked = True
                now_ms = time.time() * 1000
                wallet = await cluster.state.peek("w", key.wallet_id)
                leases = await cluster.state.leases(key.user_id)
                assert len(wallet.holds) == 1 and wallet.holds[0][2] > now_ms, wallet
                assert len(leases) == 1 and leases[0][1] > now_ms, leases
                # The renewed lease still counts: the account's single slot is taken.
                other = await call(client, cluster.url(1), OPENAI, key.secret, stream=False, text="Hi")
                assert other.status == 429 and other.json()["error"]["code"] == "concurrency_limit", other
    assert checked, "the stream ended before the hold TTL passed"
    assert sse_frames(received)[-1][1] == b"[DONE]"
    rows = await cluster.assert_books_balance(key.wallet_id, before)
    assert [(r["request_id"], r["billing_rule"]) for r in rows] == [(request_id, "completed")]
    assert rows[0]["output_tokens"] == 28 and rows[0]["cost_micros"] == cluster_cost(cluster, rows[0]) > 0
    await cluster.assert_nothing_held(key.wallet_id, [key.key_id], [key.user_id])


@pytest.mark.parametrize("proto", ALL)
async def test_a_stream_that_stalls_past_the_read_timeout_is_free_with_an_error_frame(
    cluster: Cluster, client: aiohttp.ClientSession, proto: str
) -> None:
    key = await cluster.funded_key("5", concurrency=5)
    before = await cluster.balance(key.wallet_id)
    # The first delta comes at once, the second 1.5 s later: past the gateway's 1 s read timeout.
    resp = await call(client, cluster.url(0), proto, key.secret, stream=True, text="Hi [[sim:chunks=4,chunk_delay_ms=1500]]")
    assert resp.status == 200, resp
    assert delivered_content(proto, resp.raw), "content was delivered before the stall"
    frames = sse_frames(resp.raw)
    event, data = frames[-1]
    assert event in ("error", "response.failed") or b'"error"' in data, frames
    await asyncio.sleep(1.6)  # the simulator's stalled delta would have come by now
    await assert_free(cluster, key, before)
