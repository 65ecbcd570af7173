"""A rotated or revoked secret is refused by a SECOND gateway process within one second.

Two real ``bytespike serve`` processes share PostgreSQL and Redis. Their key caches are set to
live 30 s, so the only way the second process can refuse the old secret within a second is the
Redis pub/sub invalidation (state/key_events.py) — which is what this test proves.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import aiohttp
import pytest

from bytespike.access.issuance import KeySpec, create_user, issue_key
from bytespike.access.secrets import KeySealer
from bytespike.routing.catalogue import load_catalogue
from bytespike.storage import accounts, ledger
from bytespike.storage.engine import create_engine, upgrade
from tests.support.processes import start_gateways
from tests.support.services import create_pg_database, drop_pg_database, redis_or_skip

SECRET = "multiprocess-test-secret-0123456789"


async def _status(http: aiohttp.ClientSession, base: str, secret: str) -> int:
    async with http.get(base + "/v1/models", headers={"authorization": f"Bearer {secret}"}) as r:
        return r.status


async def _refused_within(http: aiohttp.ClientSession, base: str, secret: str, limit: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < limit + 2:
        if await _status(http, base, secret) == 401:
            return time.monotonic() - started
        await asyncio.sleep(0.02)
    pytest.fail(f"{base} still accepts the secret after {limit + 2:.0f}s")


async def test_second_process_refuses_rotated_and_revoked_secrets_within_a_second(tmp_path) -> None:
    redis_url = await redis_or_skip()
    db_url = await create_pg_database()
    engine = create_engine(db_url)
    processes = []
    try:
        await upgrade(engine)
        catalogue = load_catalogue()
        async with engine.begin() as conn:
            await accounts.sync_groups(
                conn, {g.name: (g.description, g.public) for g in catalogue.groups.values()}
            )
        email = f"mp-{uuid.uuid4().hex[:8]}@example.test"
        user = await create_user(engine, email=email, password=None)
        async with engine.begin() as conn:
            wallet = await accounts.get_user_wallet(conn, user.id)
            await ledger.apply_movement(
                conn, wallet_id=wallet.id, kind="admin_credit", amount_micros=5_000_000, idempotency_key="mp"
            )
        admin_key = await issue_key(
            engine,
            KeySealer(SECRET),
            user_email=email,
            spec=KeySpec(scopes=["inference", "models:read", "keys:read", "keys:write"]),
            known_groups=list(catalogue.groups),
        )
        env = {
            "BYTESPIKE_DATABASE_URL": db_url,
            "BYTESPIKE_REDIS_URL": redis_url,
            "BYTESPIKE_SECRET_KEY": SECRET,
            "BYTESPIKE_DATA_DIR": str(tmp_path),
            "BYTESPIKE_KEY_CACHE_TTL": "30",
        }
        processes += start_gateways(env, tmp_path)
        a, b = (p.url for p in processes)
        auth = {"authorization": f"Bearer {admin_key.key}"}
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as http:
            async with http.post(
                a + "/api/v1/keys", json={"name": "victim", "group": "default"}, headers=auth
            ) as r:
                assert r.status == 201, await r.text()
                victim = await r.json()
            assert await _status(http, b, victim["key"]) == 200  # now cached in B for 30 s

            async with http.post(a + f"/api/v1/keys/{victim['id']}/rotate", headers=auth) as r:
                assert r.status == 200, await r.text()
                fresh = (await r.json())["key"]
            assert await _refused_within(http, b, victim["key"], 1.0) <= 1.0
            assert await _status(http, b, fresh) == 200

            async with http.delete(a + f"/api/v1/keys/{victim['id']}", headers=auth) as r:
                assert r.status == 200, await r.text()
            assert await _refused_within(http, b, fresh, 1.0) <= 1.0
            async with http.post(
                b + "/v1/chat/completions",
                json={"model": "gpt-5-4-nano", "messages": [{"role": "user", "content": "hi"}]},
                headers={"authorization": f"Bearer {fresh}"},
            ) as r:
                assert r.status == 401
    finally:
        for p in processes:
            p.stop()
        await engine.dispose()
        await drop_pg_database(db_url)
