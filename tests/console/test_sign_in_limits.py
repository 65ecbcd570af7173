"""Sign-in attempts are limited per client address (20 a minute) and per email address (5 a
minute), and with Redis configured the limit is one budget for every gateway process.

Two real ``bytespike serve`` processes share PostgreSQL and Redis. They trust 127.0.0.1 as a
proxy, so each test speaks from an address of its own (``X-Forwarded-For``). Attempts alternate
between the processes: with a limiter in each process, twice as many would get through. The
buckets refill continuously (20 or 5 per minute), so the bound on what gets through counts the
refill over the time the attempts took.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bytespike.routing.catalogue import load_catalogue
from tests.console.support import PASSWORD, FormClient
from tests.support.gateway import prepare_database
from tests.support.processes import Process, start_gateways
from tests.support.services import create_pg_database, drop_pg_database, redis_or_skip

SECRET = "sign-in-limits-secret-0123456789abcdef"


@pytest.fixture(scope="module")
async def two_processes(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[list[Process]]:
    redis_url = await redis_or_skip()
    db_url = await create_pg_database()
    tmp: Path = tmp_path_factory.mktemp("sign-in-limits")
    engine = await prepare_database(db_url, load_catalogue())
    processes: list[Process] = []
    try:
        env = {
            "BYTESPIKE_DATABASE_URL": db_url,
            "BYTESPIKE_REDIS_URL": redis_url,
            "BYTESPIKE_REDIS_PREFIX": f"test-{uuid.uuid4().hex[:12]}:",
            "BYTESPIKE_SECRET_KEY": SECRET,
            "BYTESPIKE_DATA_DIR": str(tmp),
            "BYTESPIKE_TRUSTED_PROXIES": "127.0.0.1/32",
        }
        processes += start_gateways(env, tmp)
        yield processes
    finally:
        for p in processes:
            p.stop()
        await engine.dispose()
        await drop_pg_database(db_url)


def _address() -> str:
    """A client address of this test's own (IPv6 documentation range)."""
    n = uuid.uuid4().int
    return f"2001:db8:{n % 65536:x}:{(n >> 16) % 65536:x}::1"


def _clients(processes: list[Process]) -> list[FormClient]:
    """One client per process, all speaking from the same address."""
    address = _address()
    return [FormClient(p.url, headers={"x-forwarded-for": address}) for p in processes]


async def _attempts_until_refused(
    clients: list[FormClient], emails: list[str], password: str, limit: int
) -> tuple[int, float]:
    """Alternate sign-in attempts between the processes until one is refused with 429.

    Returns (attempts allowed before it, seconds the attempts took)."""
    for c in clients:
        await c.get("/sign-in")
    started = time.monotonic()
    for i in range(limit * 2 + 2):
        client = clients[i % len(clients)]
        page = await client.post("/sign-in", {"email": emails[i % len(emails)], "password": password})
        if page.status == 429:
            assert "Too many sign-in attempts" in page.text and page.headers["retry-after"] == "60"
            return i, time.monotonic() - started
        assert page.status == 400, (page.status, page.text[-500:])
    pytest.fail(f"{limit * 2 + 2} attempts and none refused")


async def test_the_per_address_limit_is_shared_by_every_process(two_processes: list[Process]) -> None:
    clients = _clients(two_processes)
    try:
        emails = [f"nobody-{uuid.uuid4().hex[:8]}@example.test" for _ in range(30)]  # 1 attempt each
        allowed, took = await _attempts_until_refused(clients, emails, "wrong-password-1!", 20)
        # 20 at once, then one more every 3 s; one limiter per process would allow 40.
        assert 20 <= allowed <= 20 + math.ceil(took / 3), (allowed, took)
        # Another address is not affected.
        other = FormClient(two_processes[1].url, headers={"x-forwarded-for": _address()})
        try:
            await other.get("/sign-in")
            page = await other.post("/sign-in", {"email": emails[0], "password": "wrong-password-1!"})
            assert page.status == 400
        finally:
            await other.close()
    finally:
        for c in clients:
            await c.close()


async def test_the_per_email_limit_is_shared_by_every_process(two_processes: list[Process]) -> None:
    clients = _clients(two_processes)
    try:
        email = f"limited-{uuid.uuid4().hex[:8]}@example.test"
        await clients[0].get("/sign-up")
        page = await clients[0].post("/sign-up", {"email": email, "password": PASSWORD})
        assert page.url.endswith("/verify-email"), (page.status, page.text[-500:])
        await clients[0].post("/sign-out", {})
        allowed, took = await _attempts_until_refused(clients, [email], "wrong-password-1!", 5)
        assert 5 <= allowed <= 5 + math.ceil(took / 12), (allowed, took)
        # Even the right password waits now, on either process.
        for c in clients:
            page = await c.post("/sign-in", {"email": email, "password": PASSWORD})
            assert page.status == 429
    finally:
        for c in clients:
            await c.close()
