"""Graceful shutdown (issue 5 #8): SIGTERM a gateway while streams are open and non-streamed
requests are in flight. Every request already accepted finishes; every 2xx the client received
whole has its usage record, and the books balance to the micro-USD; nothing stays held; the
process exits cleanly. On the embedded default (SQLite + in-process state) and on PostgreSQL +
Redis with ``serve --workers 2``."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bytespike.storage.schema import users
from tests.billing.support import Cluster
from tests.billing.test_crash import one
from tests.errors.support import ANTHROPIC, GEMINI, OPENAI
from tests.support.gateway import GatewayHarness

PROTOCOLS = (ANTHROPIC, OPENAI, GEMINI)
IN_FLIGHT = 12
"""Half streams, half whole replies."""
STREAM = "Go on. [[sim:chunks=10,chunk_delay_ms=150,words=20,latency_ms=300]]"
"""Content from 0.3 s to about 1.65 s."""
WHOLE = "Go on. [[sim:words=20,latency_ms=900]]"
"""The reply at 0.9 s (inside the cluster's 1 s upstream read timeout)."""


@pytest.fixture
async def embedded(tmp_path) -> AsyncIterator[GatewayHarness]:
    harness = GatewayHarness(tmp_path)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


SIGTERM_AFTER = pytest.mark.parametrize(
    "after_s", [0.15, 0.6], ids=["before-the-first-byte", "streams-mid-flow"]
)


async def _load_then_sigterm(
    client: aiohttp.ClientSession, base: str, secret: str, pid: int, after_s: float
) -> list[tuple[str | None, bool]]:
    """Start the requests, SIGTERM the server ``after_s`` later while all of them are in
    flight (at 0.6 s the streams are sending content; the whole replies are still awaited)."""
    tasks = [
        asyncio.create_task(
            one(client, base, PROTOCOLS[i % 3], secret, stream=i % 2 == 0, text=STREAM if i % 2 == 0 else WHOLE)
        )
        for i in range(IN_FLIGHT)
    ]
    await asyncio.sleep(after_s)
    assert not any(t.done() for t in tasks), "the requests were in flight at the SIGTERM"
    os.kill(pid, signal.SIGTERM)
    return await asyncio.gather(*tasks)


async def _refuses_new_connections(client: aiohttp.ClientSession, base: str) -> bool:
    try:
        async with client.get(base + "/healthz"):
            return False
    except aiohttp.ClientError:
        return True


@SIGTERM_AFTER
async def test_sigterm_on_the_embedded_default_finishes_and_records_every_request(
    embedded: GatewayHarness, after_s: float
) -> None:
    key = await embedded.funded_key("20")
    async with embedded.engine.begin() as conn:  # a free account may run 5 at once; these are 12
        await conn.execute(users.update().where(users.c.id == key.user_id).values(concurrency_limit=100))
    funded = await embedded.balance(key.wallet_id)
    assert embedded.gw is not None
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as client:
        results = await _load_then_sigterm(client, embedded.url, key.secret, embedded.gw.proc.pid, after_s)
        # uvicorn re-raises the signal once its graceful shutdown is done, so the exit status
        # says "terminated by SIGTERM"; the log and the books below say how it got there.
        assert embedded.gw.proc.wait(20) == -signal.SIGTERM, embedded.gw.log()
        assert await _refuses_new_connections(client, embedded.url)
    assert all(whole for _, whole in results), results
    rows = await embedded.usage_rows(key.key_id)
    assert sorted(r["request_id"] for r in rows) == sorted(rid for rid, _ in results)
    assert funded - await embedded.balance(key.wallet_id) == sum(r["cost_micros"] for r in rows)
    assert "Traceback" not in embedded.gw.log(), embedded.gw.log()


@SIGTERM_AFTER
async def test_sigterm_on_two_workers_with_postgresql_and_redis(cluster: Cluster, client, after_s: float) -> None:
    server = cluster.start_gateway(8, "--workers", "2")
    try:
        user_id, wallet_id, email = await cluster.user("20")
        key = await cluster.key(email)
        funded = await cluster.balance(wallet_id)
        for _ in range(4):  # both workers up and serving
            assert (await one(client, server.url, OPENAI, key.secret, stream=False))[1]
        before = await cluster.balance(wallet_id)
        results = await _load_then_sigterm(client, server.url, key.secret, server.proc.pid, after_s)
        assert server.proc.wait(30) == 0, server.log()
        assert await _refuses_new_connections(client, server.url)
        assert all(whole for _, whole in results), results
        rows = await cluster.assert_books_balance(wallet_id, funded)
        recent = [r for r in rows if r["request_id"] in {rid for rid, _ in results}]
        assert len(recent) == IN_FLIGHT == len(rows) - 4
        assert before - await cluster.balance(wallet_id) == sum(r["cost_micros"] for r in recent)
        await cluster.assert_nothing_held(wallet_id, [key.key_id], [user_id])
        assert "Traceback" not in server.log(), server.log()
    finally:
        server.stop()
