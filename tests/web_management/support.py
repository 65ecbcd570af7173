"""An in-process gateway (real uvicorn on a free port, in the test's event loop) on either
backend, plus helpers to make users, fund wallets and mint keys straight through the domain."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import sqlalchemy as sa
import uvicorn

from bytespike.access.issuance import KeySpec, create_user, issue_key
from bytespike.access.scopes import ALL_SCOPES
from bytespike.access.secrets import KeySealer
from bytespike.app import create_app
from bytespike.routing.catalogue import load_catalogue
from bytespike.settings import load_settings
from bytespike.storage import accounts, ledger
from bytespike.storage.engine import create_engine, upgrade
from bytespike.storage.schema import metadata
from tests.support.processes import free_port

SECRET = "web-management-test-secret-0123456789"
CONFIG = """
[groups.vip]
description = "An exclusive group: usable only with a grant."
public = false
models = ["gpt-5-4"]
"""
"""Every test app has one exclusive routing group, ``vip``."""
ALL = sorted(ALL_SCOPES)


@dataclass
class Resp:
    status: int
    headers: dict[str, str]
    raw: bytes

    def json(self) -> Any:
        return orjson.loads(self.raw)

    @property
    def error(self) -> dict[str, Any]:
        return self.json()["error"]

    def __repr__(self) -> str:
        return f"<{self.status} {self.raw[:500]!r}>"


@dataclass
class Account:
    user_id: int
    email: str
    key: str
    key_id: int
    wallet_id: int


class Api:
    """One running app plus an HTTP client and direct database access for assertions."""

    def __init__(self, database_url: str, tmp: Path, **env: str) -> None:
        self.database_url = database_url
        self.tmp = tmp
        self.env = env
        self.catalogue = load_catalogue()
        self.sealer = KeySealer(SECRET)
        self.base = ""
        self.engine: Any = None
        self.app: Any = None
        """The application; ``app.runtime.gateway`` once started."""
        self.http: aiohttp.ClientSession | None = None
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        self.engine = create_engine(self.database_url)
        await upgrade(self.engine)
        async with self.engine.begin() as conn:
            await accounts.sync_groups(
                conn, {g.name: (g.description, g.public) for g in self.catalogue.groups.values()}
            )
        config = self.tmp / "bytespike.toml"
        config.write_text(CONFIG)
        settings = load_settings(
            environ={
                "BYTESPIKE_DATABASE_URL": self.database_url,
                "BYTESPIKE_SECRET_KEY": SECRET,
                "BYTESPIKE_DATA_DIR": str(self.tmp),
                "BYTESPIKE_CONFIG": str(config),
                # Requests come from 127.0.0.1: trusting it lets tests present any address.
                "BYTESPIKE_TRUSTED_PROXIES": "127.0.0.1/32",
                **self.env,
            }
        )
        port = free_port()
        self.app = create_app(settings)
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=port,
            lifespan="on",
            log_level="warning",
            ws="none",
            proxy_headers=False,  # as `bytespike serve` runs it (serve.py)
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.get_running_loop().create_task(self._server.serve())
        for _ in range(500):
            if self._server.started:
                break
            if self._task.done():
                await self._task
            await asyncio.sleep(0.02)
        self.base = f"http://127.0.0.1:{port}"
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))

    async def stop(self) -> None:
        if self.http is not None:
            await self.http.close()
        if self._server is not None:
            self._server.should_exit = True
            await self._task  # type: ignore[misc]
        if self.engine is not None:
            await self.engine.dispose()

    # ------------------------------------------------------------------ HTTP
    async def call(
        self,
        method: str,
        path: str,
        key: str | None = None,
        json: Any = None,
        *,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Resp:
        assert self.http is not None
        hdrs = dict(headers or {})
        if key is not None:
            hdrs["authorization"] = f"Bearer {key}"
        if json is not None:
            data = orjson.dumps(json)
            hdrs["content-type"] = "application/json"
        async with self.http.request(method, self.base + path, data=data, headers=hdrs) as r:
            return Resp(r.status, {k.lower(): v for k, v in r.headers.items()}, await r.read())

    async def chat(
        self, key: str, model: str = "gpt-5-4-nano", headers: dict[str, str] | None = None
    ) -> Resp:
        body = {"model": model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 16}
        return await self.call("POST", "/v1/chat/completions", key, body, headers=headers)

    # ------------------------------------------------------------------ fixtures through the domain
    async def account(
        self,
        *,
        admin: bool = False,
        usd: str = "10",
        scopes: list[str] | None = None,
        password: str | None = None,
        **spec: Any,
    ) -> Account:
        email = f"u-{uuid.uuid4().hex[:10]}@example.test"
        user = await create_user(self.engine, email=email, password=password, admin=admin)
        async with self.engine.begin() as conn:
            wallet = await accounts.get_user_wallet(conn, user.id)
            if Decimal(usd) > 0:
                await ledger.apply_movement(
                    conn,
                    wallet_id=wallet.id,
                    kind="admin_credit",
                    amount_micros=int(Decimal(usd) * 1_000_000),
                    idempotency_key=f"test-{uuid.uuid4().hex}",
                )
        if scopes is None:
            scopes = [s for s in ALL if s != "admin" or admin]
        issued = await issue_key(
            self.engine,
            self.sealer,
            user_email=email,
            spec=KeySpec(scopes=scopes, **spec),
            known_groups=list(self.catalogue.groups),
        )
        return Account(user.id, email, issued.key, issued.id, wallet.id)

    async def group_id(self, name: str) -> int:
        async with self.engine.connect() as conn:
            gid = await accounts.get_group_id(conn, name)
        assert gid is not None
        return gid

    async def snapshot(self) -> dict[str, list[tuple]]:
        """Every row of every table (for "bad input changes nothing")."""
        out = {}
        async with self.engine.connect() as conn:
            for table in metadata.sorted_tables:
                rows = await conn.execute(sa.select(table))
                out[table.name] = sorted(repr(tuple(r)) for r in rows)
        return out
