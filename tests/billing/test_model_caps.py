"""A per-model cap is exact across processes: concurrent requests from two gateways sharing
PostgreSQL + Redis never spend more on the capped model than the cap (each charge stays within
its hold here), and the cap's hot entity agrees with the usage records to the micro-USD."""

from __future__ import annotations

import asyncio

import orjson
import sqlalchemy as sa

from bytespike.state.hot import KEY
from bytespike.storage.schema import key_model_quotas
from tests.billing.support import Cluster
from tests.errors.support import send

CAP_MICROS = 20_000


async def test_concurrent_requests_from_two_processes_stay_within_a_model_cap(cluster: Cluster, client) -> None:
    _, wallet_id, email = await cluster.user("10")
    owner = await cluster.key(email, scopes=["inference", "keys:write"])
    created = await send(
        client,
        cluster.url(0),
        "POST",
        "/api/v1/keys",
        json={"name": "capped", "group": "default", "model_quotas": {"gpt-5-4": CAP_MICROS / 1e6}},
        headers=[("authorization", f"Bearer {owner.secret}")],
    )
    assert created.status == 201, created
    key = created.json()
    body = orjson.dumps(
        {"model": "gpt-5-4", "messages": [{"role": "user", "content": "Go. [[sim:words=40]]"}], "max_tokens": 100}
    )
    results = await asyncio.gather(
        *(
            send(
                client,
                cluster.url(i),
                "POST",
                "/v1/chat/completions",
                data=body,
                headers=[("authorization", f"Bearer {key['key']}"), ("content-type", "application/json")],
            )
            for i in range(30)
        )
    )
    statuses = sorted(r.status for r in results)
    assert set(statuses) == {200, 402} and statuses.count(200) >= 1, statuses
    assert all("gpt-5-4" in r.json()["error"]["message"] for r in results if r.status == 402)
    rows = await cluster.usage_rows(key_id=key["id"])
    spent = sum(r["cost_micros"] for r in rows)
    assert len(rows) == statuses.count(200) and 0 < spent <= CAP_MICROS
    await cluster.assert_nothing_held(wallet_id, [key["id"]], [owner.user_id])
    async with cluster.engine.connect() as conn:
        cap_id = await conn.scalar(sa.select(key_model_quotas.c.id).where(key_model_quotas.c.key_id == key["id"]))
    assert cluster.state is not None
    hot = await cluster.state.peek(KEY, -cap_id)
    assert (hot.present, hot.value, hot.held, hot.holds) == (True, spent, 0, ())
