"""``bytespike credits grant`` with Redis configured: the gateways see the new balance at once,
not at their next ledger poll (set to 5 minutes here so only the push can explain it)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator

import pytest

from tests.billing.support import Cluster
from tests.errors.support import ANTHROPIC, call
from tests.support.processes import free_port


@pytest.fixture(scope="module")
async def slow_poll(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:
    c = Cluster(tmp_path_factory.mktemp("grant"), gateways=1, extra_env={"BYTESPIKE_WALLET_CACHE_TTL": "300"})
    try:
        await c.start()
        yield c
    finally:
        await c.stop()


def grant(cluster: Cluster, email: str, usd: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bytespike", "credits", "grant", "--email", email, "--usd", usd, "--json"],
        env={**cluster.env(), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_a_grant_reaches_every_gateway_at_once(slow_poll: Cluster, client) -> None:
    _, wallet_id, email = await slow_poll.user("0.01")
    key = await slow_poll.key(email)
    refused = await call(client, slow_poll.url(0), ANTHROPIC, key.secret, max_tokens=8192)
    assert refused.status == 402 and refused.headers["x-quota-remaining-credits"] == "0.01"
    r = await asyncio.to_thread(grant, slow_poll, email, "5")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["balance_micros"] == 5_010_000
    ok = await call(client, slow_poll.url(0), ANTHROPIC, key.secret, max_tokens=8192)
    assert ok.status == 200, ok
    (row,) = await slow_poll.usage_rows(key_id=key.key_id)
    assert int(ok.headers["x-bytespike-quota-remaining-micros"]) == 5_010_000 - row["cost_micros"]
    await slow_poll.assert_books_balance(wallet_id, 5_010_000)


async def test_a_grant_while_redis_is_down_is_still_recorded(slow_poll: Cluster) -> None:
    _, wallet_id, email = await slow_poll.user("0")
    r = await asyncio.to_thread(
        grant, slow_poll, email, "1", BYTESPIKE_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"
    )
    assert r.returncode == 0, r.stderr
    assert "Redis was not told" in r.stderr
    assert await slow_poll.balance(wallet_id) == 1_000_000
