"""Composition root: build every dependency from `Settings`, wire them, own their lifetimes.

`create_app(settings)` returns the ASGI application. Its lifespan opens the database (migrating
the embedded SQLite file by itself), starts the usage writer and, in demo mode, the in-process
simulator; on shutdown it drains the usage writer so no billed request is lost.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bytespike.access.authenticator import KeyResolver
from bytespike.access.secrets import KeySealer
from bytespike.accounting.meter import Meter, MeterConfig
from bytespike.metrics import Metrics
from bytespike.relay.chaining import ResponseChains
from bytespike.relay.gateway import Gateway
from bytespike.routing.catalogue import Catalogue, load_catalogue
from bytespike.settings import Settings
from bytespike.state.backends import create_hot_state
from bytespike.state.key_events import KeyEvents
from bytespike.state.request_budget import RedisBudget
from bytespike.storage import accounts
from bytespike.storage.batch_writer import UsageSink, UsageWriter
from bytespike.storage.engine import async_url, create_engine, ensure_migrated
from bytespike.storage.postgres_sink import PostgresUsageSink
from bytespike.storage.response_store import ResponseStore
from bytespike.storage.sqlite_sink import SqliteUsageSink
from bytespike.upstreams.client import UpstreamClient
from bytespike.upstreams.media_fetch import MediaFetcher, MediaPolicy
from bytespike.upstreams.registry import UpstreamRegistry
from bytespike.upstreams.targets import Target
from bytespike.web.console import ConsoleServices, console_routes
from bytespike.web.generations import generation_endpoint
from bytespike.web.management import ManagementServices, management_routes
from bytespike.web.metrics import metrics_endpoint
from bytespike.web.surfaces import InferenceSurfaces, not_found_reply

log = logging.getLogger("bytespike")

DEMO_VENDOR_KEY = "sk-simulator"


def usage_sink(settings: Settings) -> UsageSink | None:
    """Each database's own batch writer (storage/sqlite_sink.py, storage/postgres_sink.py)."""
    path = settings.sqlite_path
    if path is not None:
        return SqliteUsageSink(path)
    if settings.database_url.startswith("postgresql"):
        return PostgresUsageSink(async_url(settings.database_url))
    return None


def is_demo(settings: Settings) -> bool:
    """Demo mode: asked for, or no vendor has credentials (the embedded default's first run)."""
    configured = [
        c for c in (settings.anthropic, settings.openai, settings.gemini, settings.deepseek) if c.api_key
    ]
    return settings.demo or not (configured or settings.compatible)


def vendor_targets(settings: Settings) -> dict[str, Target]:
    targets = {}
    for provider, creds in (
        ("anthropic", settings.anthropic),
        ("openai", settings.openai),
        ("gemini", settings.gemini),
        ("deepseek", settings.deepseek),
    ):
        if creds.api_key:
            targets[provider] = Target(provider, creds.base_url, creds.api_key)
    for provider, creds in settings.compatible.items():
        targets[provider] = Target(provider, creds.base_url, creds.api_key or "")
    if settings.deepseek.api_key:
        # DeepSeek serves its Anthropic-shape API under /anthropic on the same origin.
        targets["deepseek_anthropic"] = Target(
            "deepseek", settings.deepseek.base_url + "/anthropic", settings.deepseek.api_key
        )
    return targets


def demo_targets(base_url: str) -> dict[str, Target]:
    """Every provider at the simulator, each addressed the way its real base URL is."""
    return {
        "anthropic": Target("anthropic", base_url, DEMO_VENDOR_KEY),
        "openai": Target("openai", base_url + "/v1", DEMO_VENDOR_KEY),
        "gemini": Target("gemini", base_url, DEMO_VENDOR_KEY),
        "deepseek": Target("deepseek", base_url, DEMO_VENDOR_KEY),
        "deepseek_anthropic": Target("deepseek", base_url, DEMO_VENDOR_KEY),
    }


@dataclass
class Runtime:
    """Everything the lifespan opens; exposed on ``app.state.runtime`` for tests and the CLI."""

    settings: Settings
    catalogue: Catalogue
    demo: bool
    gateway: Gateway | None = None
    engine: Any = None
    writer: UsageWriter | None = None
    simulator_url: str | None = None
    _closers: list[Any] = field(default_factory=list)


async def _root(request: Request) -> Response:
    if request.method == "HEAD":
        return Response(status_code=200)
    return JSONResponse({"service": "bytespike", "docs": "https://github.com/bytespike/bytespike"})


async def _health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def create_app(settings: Settings, *, catalogue: Catalogue | None = None) -> Any:
    catalogue = catalogue or load_catalogue(settings.catalogue_extra)
    runtime = Runtime(settings=settings, catalogue=catalogue, demo=is_demo(settings))
    holder: dict[str, InferenceSurfaces] = {}
    management = ManagementServices.create(
        catalogue, per_minute=settings.management_rate_per_minute, trusted_proxies=settings.trusted_proxies
    )

    console = ConsoleServices(settings, management)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url)
        runtime.engine = engine
        if settings.database_url.startswith("sqlite"):
            await ensure_migrated(engine)
        async with engine.begin() as conn:
            await accounts.sync_groups(
                conn, {g.name: (g.description, g.public) for g in catalogue.groups.values()}
            )
        metrics = Metrics()
        writer = UsageWriter(engine, sink=usage_sink(settings))
        meter = Meter(
            engine,
            create_hot_state(settings, metrics),
            writer,
            MeterConfig(
                hold_ttl_s=settings.hold_ttl_s,
                cache_ttl_s=settings.wallet_cache_ttl_s,
                fail_open=settings.redis_fail_open,
            ),
            metrics,
        )
        writer.start()
        await meter.start()
        runtime.writer = writer
        responses = ResponseStore(engine)
        responses.start()
        client = UpstreamClient(
            connect_timeout=settings.upstream_connect_timeout_s, read_timeout=settings.upstream_read_timeout_s
        )
        simulator = None
        if runtime.demo:
            from bytespike.simulator.config import SimulatorConfig
            from bytespike.simulator.server import start_simulator_in_background

            simulator = await start_simulator_in_background(
                "127.0.0.1", 0, SimulatorConfig(api_key=DEMO_VENDOR_KEY)
            )
            runtime.simulator_url = f"http://127.0.0.1:{simulator[2]}"
            targets = demo_targets(runtime.simulator_url)
        else:
            targets = vendor_targets(settings)
        media = MediaFetcher(
            MediaPolicy(
                max_bytes=settings.media_fetch_max_bytes,
                timeout_s=settings.media_fetch_timeout_s,
                allow_networks=tuple(ipaddress.ip_network(n) for n in settings.media_fetch_allow_networks),
            )
        )
        gateway = Gateway(
            resolver=KeyResolver(engine, KeySealer(settings.secret_key), ttl=settings.key_cache_ttl_s),
            catalogue=catalogue,
            meter=meter,
            upstreams=UpstreamRegistry(targets),
            client=client,
            same_protocol_upstream=runtime.demo,
            chains=ResponseChains(responses, retention_s=settings.response_retention_s),
            media=media,
        )
        runtime.gateway = gateway
        holder["surfaces"].gateway = gateway
        # Key changes reach every process at once through Redis pub/sub when it is configured.
        events = KeyEvents(gateway.resolver.invalidate, settings.redis_url, prefix=settings.redis_prefix)
        await events.start()
        management.bind(
            gateway=gateway,
            engine=engine,
            sealer=KeySealer(settings.secret_key),
            events=events,
            budget=RedisBudget(
                settings.redis_url, settings.management_rate_per_minute, prefix=settings.redis_prefix
            )
            if settings.redis_url
            else None,
        )
        try:
            yield
        finally:
            await events.close()
            await gateway.resolver.close()
            await management.budget.close()
            await console.close()
            await writer.close()
            await responses.close()
            await meter.close()
            await client.close()
            await media.close()
            if simulator is not None:
                server, task, _ = simulator
                server.should_exit = True
                with contextlib.suppress(Exception):
                    await task
            await engine.dispose()

    async def not_found(request: Request, exc: Exception) -> Response:
        gateway = runtime.gateway
        if gateway is None:
            return JSONResponse({"error": {"message": "not found"}}, status_code=404)
        reply = await not_found_reply(
            gateway, request.url.path, request.scope["headers"], request.scope.get("query_string", b"")
        )
        return Response(
            reply.body, status_code=reply.status, headers={k.decode(): v.decode() for k, v in reply.headers}
        )

    fallback = Starlette(
        routes=[
            *console_routes(console, api_root=_root),
            Route("/healthz", _health, methods=["GET"]),
            Route("/v1/generations/{request_id}", generation_endpoint, methods=["GET"]),
            Route("/metrics", metrics_endpoint, methods=["GET"]),
            *management_routes(management),
        ],
        lifespan=lifespan,
        exception_handlers={404: not_found, 405: not_found},
    )
    fallback.state.runtime = runtime
    fallback.state.management = management
    surfaces = InferenceSurfaces(
        None,  # type: ignore[arg-type]  # set by the lifespan once the gateway exists
        max_body_bytes=settings.max_body_bytes,
        trusted_proxies=settings.trusted_proxies,
        fallback=fallback,
    )
    surfaces.runtime = runtime  # type: ignore[attr-defined]
    holder["surfaces"] = surfaces
    return surfaces
