"""A real ``bytespike serve`` in front of a real ``bytespike simulate``, and helpers to fund keys
and read what the gateway wrote (usage records, wallet balances) straight from its database."""

from __future__ import annotations

import tomllib
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bytespike.access.issuance import KeySpec, create_user, issue_key
from bytespike.access.secrets import KeySealer
from bytespike.routing.catalogue import Catalogue, load_catalogue
from bytespike.storage import accounts, ledger
from bytespike.storage.engine import create_engine, upgrade
from bytespike.storage.schema import usage_records, wallets
from tests.support.processes import Process, free_port, start

SIM_VENDOR_KEY = "sk-sim-vendor-key"
SECRET = "test-secret-key-0123456789abcdef"


@dataclass
class TestKey:
    secret: str
    key_id: int
    user_id: int
    wallet_id: int
    email: str


async def prepare_database(url: str, catalogue: Catalogue) -> Any:
    """An engine on ``url`` with the schema migrated and the catalogue's routing groups in it."""
    engine = create_engine(url)
    await upgrade(engine)
    async with engine.begin() as conn:
        await accounts.sync_groups(
            conn, {g.name: (g.description, g.public) for g in catalogue.groups.values()}
        )
    return engine


class GatewayHarness:
    def __init__(
        self, tmp: Path, *, config: str | None = None, extra_env: dict[str, str] | None = None
    ) -> None:
        """``config``: text of a config file for the gateway (e.g. extra ``[[models]]``);
        ``extra_env``: more environment variables for it."""
        self.tmp = tmp
        self.config = config
        self.extra_env = dict(extra_env or {})
        self.db_url = f"sqlite:///{tmp / 'gateway.db'}"
        self.catalogue = load_catalogue()
        self.sealer = KeySealer(SECRET)
        self.sim: Process | None = None
        self.gw: Process | None = None
        self.engine: Any = None

    @property
    def url(self) -> str:
        assert self.gw is not None
        return self.gw.url

    @property
    def sim_url(self) -> str:
        assert self.sim is not None
        return self.sim.url

    def env(self) -> dict[str, str]:
        sim = self.sim_url
        return {
            "BYTESPIKE_DATABASE_URL": self.db_url,
            "BYTESPIKE_SECRET_KEY": SECRET,
            "BYTESPIKE_DATA_DIR": str(self.tmp),
            "ANTHROPIC_API_KEY": SIM_VENDOR_KEY,
            "ANTHROPIC_BASE_URL": sim,
            "OPENAI_API_KEY": SIM_VENDOR_KEY,
            "OPENAI_BASE_URL": sim + "/v1",
            "GEMINI_API_KEY": SIM_VENDOR_KEY,
            "GEMINI_BASE_URL": sim,
            "DEEPSEEK_API_KEY": SIM_VENDOR_KEY,
            "DEEPSEEK_BASE_URL": sim,
            # OpenAI-compatible vendors (settings.OPENAI_COMPATIBLE_VENDORS): base URLs hold /v1.
            **{f"{v}_API_KEY": SIM_VENDOR_KEY for v in ("DOUBAO", "MINIMAX", "ZHIPU", "MOONSHOT")},
            **{f"{v}_BASE_URL": sim + "/v1" for v in ("DOUBAO", "MINIMAX", "ZHIPU", "MOONSHOT")},
            "BYTESPIKE_UPSTREAM_READ_TIMEOUT": "5",
            **self.extra_env,
        }

    async def start(self) -> None:
        sim_port = free_port()
        self.sim = start(
            ["simulate", "--port", str(sim_port), "--api-key", SIM_VENDOR_KEY],
            {},
            "/_sim/requests",
            sim_port,
            self.tmp / "simulator.log",
        )
        if self.config is not None:
            path = self.tmp / "config.toml"
            path.write_text(self.config)
            self.extra_env["BYTESPIKE_CONFIG"] = str(path)
            self.catalogue = load_catalogue(tomllib.loads(self.config))
        self.engine = await prepare_database(self.db_url, self.catalogue)
        gw_port = free_port()
        self.gw = start(
            ["serve", "--port", str(gw_port)], self.env(), "/healthz", gw_port, self.tmp / "gateway.log"
        )

    async def stop(self) -> None:
        for p in (self.gw, self.sim):
            if p is not None:
                p.stop()
        if self.engine is not None:
            await self.engine.dispose()

    async def funded_key(self, usd: str = "10", **spec: Any) -> TestKey:
        email = f"user-{uuid.uuid4().hex[:10]}@example.test"
        user = await create_user(self.engine, email=email, password=None)
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
        issued = await issue_key(
            self.engine,
            self.sealer,
            user_email=email,
            spec=KeySpec(**spec),
            known_groups=list(self.catalogue.groups),
        )
        return TestKey(issued.key, issued.id, user.id, wallet.id, email)

    async def balance(self, wallet_id: int) -> int:
        async with self.engine.connect() as conn:
            return int(
                await conn.scalar(sa.select(wallets.c.balance_micros).where(wallets.c.id == wallet_id))
            )

    async def usage_rows(self, key_id: int) -> list[dict[str, Any]]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(usage_records)
                .where(usage_records.c.api_key_id == key_id)
                .order_by(usage_records.c.id)
            )
            return [dict(r._mapping) for r in rows]

    def expected_cost(
        self,
        model: str,
        *,
        input_tokens: int,
        output_tokens: int,
        cache_read: int = 0,
        cache_write: int = 0,
        reasoning: int = 0,
    ) -> int:
        """Independent price arithmetic (Decimal, half-up) from the catalogue, for assertions."""
        m = self.catalogue.models[model]
        p = m.price
        out_rate = Decimal(str(p.output))
        cost = (
            Decimal(input_tokens - cache_read - cache_write) * Decimal(str(p.input))
            + Decimal(cache_read) * Decimal(str(p.cache_read))
            + Decimal(cache_write) * Decimal(str(p.cache_write))
        )
        if m.reasoning_billed_as == "input":
            cost += Decimal(output_tokens - reasoning) * out_rate + Decimal(reasoning) * Decimal(str(p.input))
        else:
            cost += Decimal(output_tokens) * out_rate
        return int(cost.quantize(Decimal(1), rounding="ROUND_HALF_UP"))
