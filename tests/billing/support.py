"""A cluster for billing tests: the simulator and N real ``bytespike serve`` processes sharing one
fresh PostgreSQL database and Redis (under a fresh key prefix), plus helpers to fund keys, build
org wallets, inspect the hot state in Redis and read what the gateways wrote."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import redis.asyncio as aioredis
import sqlalchemy as sa

from bytespike.access.issuance import KeySpec, create_user, issue_key
from bytespike.access.secrets import KeySealer
from bytespike.routing.catalogue import load_catalogue
from bytespike.state.hot import KEY, WALLET
from bytespike.state.redis import RedisState
from bytespike.storage import accounts, ledger
from bytespike.storage.engine import create_engine, upgrade
from bytespike.storage.schema import api_keys, org_members, orgs, usage_records, users, wallets
from tests.support.gateway import SECRET, SIM_VENDOR_KEY
from tests.support.processes import Process, free_port, start
from tests.support.services import create_pg_database, drop_pg_database, redis_or_skip


@dataclass
class Key:
    secret: str
    key_id: int
    user_id: int
    wallet_id: int


@dataclass
class Cluster:
    tmp: Path
    gateways: int = 2
    hold_ttl_s: str = "3"
    read_timeout_s: str = "1"
    redis_url: str | None = None
    """None: the shared test Redis."""
    extra_env: dict[str, str] = field(default_factory=dict)
    db_url: str = ""
    prefix: str = ""
    procs: list[Process] = field(default_factory=list)
    sim: Process | None = None
    engine: Any = None
    state: RedisState | None = None
    catalogue: Any = None

    async def start(self) -> None:
        self.redis_url = self.redis_url or await redis_or_skip()
        self.db_url = await create_pg_database()
        self.prefix = f"bstest:{uuid.uuid4().hex[:10]}:"
        self.catalogue = load_catalogue()
        self.engine = create_engine(self.db_url)
        await upgrade(self.engine)
        async with self.engine.begin() as conn:
            await accounts.sync_groups(
                conn, {g.name: (g.description, g.public) for g in self.catalogue.groups.values()}
            )
        sim_port = free_port()
        self.sim = start(
            ["simulate", "--port", str(sim_port), "--api-key", SIM_VENDOR_KEY],
            {},
            "/_sim/requests",
            sim_port,
            self.tmp / "simulator.log",
        )
        for i in range(self.gateways):
            self.procs.append(self.start_gateway(i))
        self.state = RedisState(self.redis_url, prefix=self.prefix)

    def env(self) -> dict[str, str]:
        assert self.sim is not None
        sim = self.sim.url
        return {
            "BYTESPIKE_DATABASE_URL": self.db_url,
            "BYTESPIKE_REDIS_URL": str(self.redis_url),
            "BYTESPIKE_REDIS_PREFIX": self.prefix,
            "BYTESPIKE_SECRET_KEY": SECRET,
            "BYTESPIKE_DATA_DIR": str(self.tmp),
            "BYTESPIKE_HOLD_TTL": self.hold_ttl_s,
            "BYTESPIKE_UPSTREAM_READ_TIMEOUT": self.read_timeout_s,
            "ANTHROPIC_API_KEY": SIM_VENDOR_KEY,
            "ANTHROPIC_BASE_URL": sim,
            "OPENAI_API_KEY": SIM_VENDOR_KEY,
            "OPENAI_BASE_URL": sim + "/v1",
            "GEMINI_API_KEY": SIM_VENDOR_KEY,
            "GEMINI_BASE_URL": sim,
            "DEEPSEEK_API_KEY": SIM_VENDOR_KEY,
            "DEEPSEEK_BASE_URL": sim,
            **self.extra_env,
        }

    def start_gateway(self, i: int, *args: str, env: dict[str, str] | None = None) -> Process:
        port = free_port()
        return start(
            ["serve", "--port", str(port), *args],
            {**self.env(), **(env or {})},
            "/healthz",
            port,
            self.tmp / f"gateway{i}.log",
        )

    def url(self, i: int = 0) -> str:
        return self.procs[i % len(self.procs)].url

    def kill(self, i: int) -> None:
        """SIGKILL: no shutdown, no drain, no release."""
        proc = self.procs[i].proc
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)

    async def stop(self) -> None:
        for p in [*self.procs, self.sim]:
            if p is not None:
                p.stop()
        if self.state is not None:
            await self.state.close()
        if self.redis_url is not None and self.prefix:
            try:
                client = aioredis.Redis.from_url(self.redis_url)
                keys = [k async for k in client.scan_iter(match=self.prefix + "*", count=1000)]
                if keys:
                    await client.delete(*keys)
                await client.aclose()
            except Exception:  # the outage test's Redis may be gone already
                pass
        if self.engine is not None:
            await self.engine.dispose()
        if self.db_url:
            await drop_pg_database(self.db_url)

    # ------------------------------------------------------------------ accounts
    async def user(self, usd: str = "10", *, concurrency: int | None = 1000) -> tuple[int, int, str]:
        """A user with a funded personal wallet; returns (user id, wallet id, email)."""
        email = f"user-{uuid.uuid4().hex[:10]}@example.test"
        user = await create_user(self.engine, email=email, password=None)
        async with self.engine.begin() as conn:
            wallet = await accounts.get_user_wallet(conn, user.id)
            await conn.execute(users.update().where(users.c.id == user.id).values(concurrency_limit=concurrency))
            if Decimal(usd) > 0:
                await ledger.apply_movement(
                    conn,
                    wallet_id=wallet.id,
                    kind="admin_credit",
                    amount_micros=int(Decimal(usd) * 1_000_000),
                    idempotency_key=f"test-{uuid.uuid4().hex}",
                )
        return user.id, wallet.id, email

    async def key(self, email: str, **spec: Any) -> Key:
        issued = await issue_key(
            self.engine, KeySealer(SECRET), user_email=email, spec=KeySpec(**spec), known_groups=list(self.catalogue.groups)
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(api_keys).where(api_keys.c.id == issued.id))).one()
        return Key(issued.key, issued.id, row.user_id, row.wallet_id)

    async def funded_key(self, usd: str = "10", *, concurrency: int | None = 1000, **spec: Any) -> Key:
        _, _, email = await self.user(usd, concurrency=concurrency)
        return await self.key(email, **spec)

    async def org_keys(self, usd: str, members: int) -> tuple[int, list[Key]]:
        """An org wallet holding ``usd`` and one key per member spending from it (storage rows,
        written directly: the same shape the management API creates)."""
        owners = [await self.user("0") for _ in range(members)]
        now = accounts.utcnow()
        async with self.engine.begin() as conn:
            org_id = (
                await conn.execute(orgs.insert().values(name="Overdraw Inc", created_at=now).returning(orgs.c.id))
            ).scalar_one()
            wallet_id = (
                await conn.execute(
                    wallets.insert().values(org_id=org_id, balance_micros=0, updated_at=now).returning(wallets.c.id)
                )
            ).scalar_one()
            for n, (user_id, _, _) in enumerate(owners):
                await conn.execute(
                    org_members.insert().values(
                        org_id=org_id, user_id=user_id, role="owner" if n == 0 else "member", created_at=now
                    )
                )
            await ledger.apply_movement(
                conn,
                wallet_id=wallet_id,
                kind="topup",
                amount_micros=int(Decimal(usd) * 1_000_000),
                idempotency_key=f"test-org-{uuid.uuid4().hex}",
            )
        keys = []
        for _, _, email in owners:
            k = await self.key(email)
            async with self.engine.begin() as conn:
                await conn.execute(
                    api_keys.update().where(api_keys.c.id == k.key_id).values(org_id=org_id, wallet_id=wallet_id)
                )
            keys.append(Key(k.secret, k.key_id, k.user_id, wallet_id))
        return wallet_id, keys

    # ------------------------------------------------------------------ reading back
    async def balance(self, wallet_id: int) -> int:
        async with self.engine.connect() as conn:
            return int(await conn.scalar(sa.select(wallets.c.balance_micros).where(wallets.c.id == wallet_id)))

    async def used(self, key_id: int) -> int:
        async with self.engine.connect() as conn:
            return int(await conn.scalar(sa.select(api_keys.c.used_micros).where(api_keys.c.id == key_id)))

    async def usage_rows(self, *, wallet_id: int | None = None, key_id: int | None = None) -> list[dict[str, Any]]:
        q = sa.select(usage_records).order_by(usage_records.c.id)
        if wallet_id is not None:
            q = q.where(usage_records.c.wallet_id == wallet_id)
        if key_id is not None:
            q = q.where(usage_records.c.api_key_id == key_id)
        async with self.engine.connect() as conn:
            return [dict(r._mapping) for r in await conn.execute(q)]

    async def assert_nothing_held(self, wallet_id: int, key_ids: list[int], user_ids: list[int], wait_s: float = 3.0) -> None:
        """No hold on the wallet or the keys and no lease of the users is left in Redis (the
        releases run in the background, so give them a moment)."""
        assert self.state is not None
        deadline = asyncio.get_running_loop().time() + wait_s
        while True:
            wallet = await self.state.peek(WALLET, wallet_id)
            keys = [await self.state.peek(KEY, k) for k in key_ids]
            leases = [await self.state.leases(u) for u in user_ids]
            clean = (
                not wallet.holds
                and wallet.held == 0
                and all(not k.holds and k.held == 0 for k in keys)
                and not any(leases)
            )
            if clean or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.05)
        assert (wallet.holds, wallet.held) == ((), 0), wallet
        for k in keys:
            assert (k.holds, k.held) == ((), 0), k
        assert not any(leases), leases

    async def assert_books_balance(self, wallet_id: int, before: int) -> list[dict[str, Any]]:
        """Usage records = wallet change = the hot copy's change, to the micro-USD."""
        rows = await self.usage_rows(wallet_id=wallet_id)
        spent = sum(r["cost_micros"] for r in rows)
        after = await self.balance(wallet_id)
        assert before - after == spent, (before, after, spent)
        assert self.state is not None
        hot = await self.state.peek(WALLET, wallet_id)
        assert hot.present and hot.value == after, (hot, after)
        return rows


async def metrics(http: aiohttp.ClientSession, base: str) -> dict[str, float]:
    """``GET /metrics`` as {"name{labels}": value}."""
    async with http.get(base + "/metrics") as r:
        assert r.status == 200
        text = await r.text()
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


@dataclass
class PrivateRedis:
    """A redis-server of the test's own, to stop and start at will (never the shared one)."""

    port: int
    tmp: Path
    proc: Any = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import shutil
        import subprocess
        import time

        binary = shutil.which("redis-server")
        if binary is None:
            from tests.support.services import _unavailable

            _unavailable("redis-server (to simulate an outage)", FileNotFoundError("redis-server"))
        self.proc = subprocess.Popen(
            [str(binary), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.tmp)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import socket

        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None

    async def command_calls(self, command: str) -> int:
        """How many times Redis ran ``command`` (INFO commandstats)."""
        client = aioredis.Redis.from_url(self.url)
        try:
            stats = await client.info("commandstats")
        finally:
            await client.aclose()
        return int(stats.get(f"cmdstat_{command}", {}).get("calls", 0))
