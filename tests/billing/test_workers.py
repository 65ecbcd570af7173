"""``bytespike serve --workers N`` with Redis: N processes behind one port, one shared state."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.billing.support import Cluster
from tests.errors.support import OPENAI, call


def children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


async def test_two_workers_share_balances_and_concurrency(cluster: Cluster, client) -> None:
    server = cluster.start_gateway(9, "--workers", "2")
    try:
        for _ in range(50):
            if len(children(server.proc.pid)) >= 2:
                break
            await asyncio.sleep(0.1)
        assert len(children(server.proc.pid)) >= 2, "uvicorn runs two worker processes"
        _, wallet_id, email = await cluster.user("2", concurrency=3)
        key = await cluster.key(email)
        funded = await cluster.balance(wallet_id)
        slow = "Slowly. [[sim:chunks=8,chunk_delay_ms=100,words=8]]"
        results = await asyncio.gather(
            *(call(client, server.url, OPENAI, key.secret, stream=True, text=slow) for _ in range(4))
        )
        assert sorted(r.status for r in results) == [200, 200, 200, 429], [r.status for r in results]
        for _ in range(6):
            assert (await call(client, server.url, OPENAI, key.secret)).status == 200
        rows = await cluster.assert_books_balance(wallet_id, funded)
        assert len(rows) == 9
        await cluster.assert_nothing_held(wallet_id, [key.key_id], [key.user_id])
    finally:
        server.stop()
