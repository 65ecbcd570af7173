"""``bytespike serve``: bootstrap the embedded default, then run uvicorn.

On the embedded default (SQLite + in-process state) every start prints the URL and the
quickstart key, so a fresh clone is usable with one command; bytespike/bootstrap.py does that
work in a short-lived child process (migrations, the demo account, revealing the key), so
Alembic and the AES-GCM code it needs never occupy the serving process's memory.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

import uvicorn

from bytespike.app import create_app, is_demo
from bytespike.bootstrap import bootstrap_in_child
from bytespike.settings import Settings, share_with_workers, worker_settings


def _banner(settings: Settings, key: str | None) -> str:
    url = f"http://{settings.host}:{settings.port}"
    lines = [f"bytespike listening on {url}"]
    if is_demo(settings):
        lines.append(
            "upstream: built-in simulator (no vendor key configured; see README to add real vendors)"
        )
    if key:
        lines += [
            f"key: {key}",
            "try:",
            f"  curl {url}/v1/chat/completions -H 'Authorization: Bearer {key}' "
            "-H 'content-type: application/json' "
            """-d '{"model":"gpt-5-4","messages":[{"role":"user","content":"Hello"}]}'""",
        ]
    return "\n".join(lines)


def serve(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if settings.workers > 1 and settings.redis_url is None:
        print(
            "bytespike: error: --workers above 1 needs shared hot state (Redis): set BYTESPIKE_REDIS_URL; "
            "without it every worker would enforce balances, caps and concurrency on its own",
            file=sys.stderr,
        )
        raise SystemExit(2)
    key = bootstrap_in_child(settings) if settings.is_embedded else None
    print(_banner(settings, key), flush=True)
    app: Any
    workers: dict[str, Any] = {}
    if settings.workers == 1:
        app = create_app(settings)
    else:
        # uvicorn starts workers from an import string; each rebuilds the settings and the app.
        if settings.database_url.startswith("sqlite"):
            asyncio.run(_migrate(settings))  # once, before the workers race for it
        share_with_workers(settings)
        app = "bytespike.serve:worker_app"
        workers = {"workers": settings.workers, "factory": True}
    loop = "uvloop"
    try:
        import uvloop  # noqa: F401
    except ImportError:  # pragma: no cover - non-POSIX
        loop = "asyncio"
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        loop=loop,
        http="httptools",
        lifespan="on",
        access_log=False,
        # uvicorn would otherwise rewrite the client address from X-Forwarded-For for any peer
        # in --forwarded-allow-ips (127.0.0.1 by default); the gateway trusts that header only
        # from BYTESPIKE_TRUSTED_PROXIES (web/client_address.py), which IP lists depend on.
        proxy_headers=False,
        log_level="warning",
        server_header=False,
        date_header=False,
        **workers,
    )


def worker_app() -> Any:
    """The application of one ``serve --workers N`` worker (a uvicorn app factory)."""
    settings = worker_settings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    return create_app(settings)


async def _migrate(settings: Settings) -> None:
    from bytespike.storage.engine import create_engine, upgrade

    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
