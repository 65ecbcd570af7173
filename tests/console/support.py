"""A real gateway serving the console (``bytespike serve`` in front of ``bytespike simulate``),
and a cookie-keeping HTTP client that fills console forms the way a browser does."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import sqlalchemy as sa

from bytespike.storage.schema import ledger_entries, users, wallets
from tests.support.gateway import GatewayHarness

PASSWORD = "correct-horse-42!"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_CODE = re.compile(r"verification code is (\d{6})")
_RESET = re.compile(r"(http\S+/reset-password\?token=\S+)")


class ConsoleHarness(GatewayHarness):
    """The session harness with console settings added to the gateway's environment."""

    def __init__(self, tmp: Path, **console_env: str) -> None:
        super().__init__(tmp)
        self.console_env = console_env

    def env(self) -> dict[str, str]:
        return {**super().env(), **self.console_env}

    def log(self) -> str:
        assert self.gw is not None
        return self.gw.log()

    async def mailed(self, pattern: re.Pattern[str], email: str, wait_s: float = 10) -> str:
        """The last match of ``pattern`` in mail logged to ``email`` (the development mailer)."""
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            found = None
            for block in self.log().split("mail (no BYTESPIKE_SMTP_URL")[1:]:
                if f"To: {email}" in block:
                    m = pattern.search(block)
                    if m:
                        found = m.group(1)
            if found:
                return found
            await asyncio.sleep(0.1)
        raise AssertionError(f"no mail to {email} matching {pattern.pattern}")

    async def verification_code(self, email: str) -> str:
        return await self.mailed(_CODE, email)

    async def reset_link(self, email: str) -> str:
        return await self.mailed(_RESET, email)

    async def wallet_of(self, email: str) -> tuple[int, int]:
        """(wallet id, balance micro-USD) of the user's personal wallet."""
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(wallets.c.id, wallets.c.balance_micros)
                    .join(users, users.c.id == wallets.c.user_id)
                    .where(users.c.email == email)
                )
            ).one()
        return int(row.id), int(row.balance_micros)

    async def ledger_of(self, wallet_id: int) -> list[tuple[str, int]]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(ledger_entries.c.kind, ledger_entries.c.amount_micros)
                .where(ledger_entries.c.wallet_id == wallet_id)
                .order_by(ledger_entries.c.id)
            )
            return [(r.kind, int(r.amount_micros)) for r in rows]

    async def make_admin(self, email: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(users.update().where(users.c.email == email).values(role="admin"))


@dataclass
class Page:
    status: int
    url: str
    text: str
    headers: dict[str, str]

    @property
    def csrf(self) -> str:
        m = _CSRF.search(self.text)
        assert m, f"no CSRF field on {self.url}"
        return m.group(1)


class FormClient:
    """A cookie-keeping client: GET a page, post its form with the page's CSRF token."""

    def __init__(self, base: str, headers: dict[str, str] | None = None) -> None:
        self.base = base
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), headers=headers)
        self.last: Page | None = None

    async def close(self) -> None:
        await self.http.close()

    async def _page(self, resp: aiohttp.ClientResponse) -> Page:
        page = Page(
            resp.status, str(resp.url), await resp.text(), {k.lower(): v for k, v in resp.headers.items()}
        )
        self.last = page
        return page

    async def get(self, path: str, *, follow: bool = True) -> Page:
        async with self.http.get(self.base + path, allow_redirects=follow) as resp:
            return await self._page(resp)

    async def post(
        self,
        path: str,
        data: dict[str, Any] | list[tuple[str, str]],
        *,
        csrf: str | bool | None = True,
        follow: bool = True,
    ) -> Page:
        """Post a form; ``csrf=True`` takes the token from the last page, ``None`` sends none."""
        items = list(data.items()) if isinstance(data, dict) else list(data)
        if csrf is True:
            assert self.last is not None, "GET a page first"
            items.append(("csrf_token", self.last.csrf))
        elif isinstance(csrf, str):
            items.append(("csrf_token", csrf))
        async with self.http.post(self.base + path, data=items, allow_redirects=follow) as resp:
            return await self._page(resp)


async def sign_up(
    console: ConsoleHarness, client: FormClient, *, email: str | None = None, verify: bool = True
) -> str:
    email = email or f"u-{uuid.uuid4().hex[:10]}@example.test"
    await client.get("/sign-up")
    page = await client.post("/sign-up", {"email": email, "password": PASSWORD})
    assert page.status == 200 and page.url.endswith("/verify-email"), (
        page.status,
        page.url,
        page.text[:2000],
    )
    if verify:
        await client.post("/verify-email", {"code": await console.verification_code(email)})
        assert client.last is not None and "/dashboard" in client.last.url, client.last.url
    return email


async def top_up_dev(client: FormClient, usd: str) -> Page:
    await client.get("/billing")
    page = await client.post("/billing/top-up", {"amount": usd})
    assert "/billing/dev-checkout/" in page.url, (page.status, page.text[:1500])
    return await client.post(page.url.removeprefix(client.base), {"action": "pay"})


async def create_key(
    client: FormClient, name: str = "ci", group: str = "default", **fields: str
) -> tuple[int, str]:
    """Create a key through the form; ``fields`` are more form fields (``scopes`` space-separated).
    Returns (key id, secret)."""
    page = await client.get("/keys/new")
    group_id = re.search(rf'<option value="(\d+)"[^>]*>{re.escape(group)}\b', page.text)
    assert group_id, page.text[:3000]
    data: list[tuple[str, str]] = [("name", name), ("group_id", group_id.group(1)), ("quota", "0")]
    for field, value in fields.items():
        data += [("scopes", s) for s in value.split()] if field == "scopes" else [(field, value)]
    page = await client.post("/keys/new", data)
    m = re.search(r'value="(sk-byts-[A-Za-z0-9_-]+)"', page.text)
    key_id = re.search(r'href="/test\?key=(\d+)"', page.text)
    assert 'data-testid="secret"' in page.text and m and key_id, (page.status, page.text[:3000])
    return int(key_id.group(1)), m.group(1)


async def chat(console: ConsoleHarness, secret: str, model: str = "gpt-5-4") -> tuple[int, dict[str, str]]:
    """One small Chat Completions request with ``secret``: (status, lower-cased headers)."""
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            console.url + "/v1/chat/completions", json=body, headers={"authorization": f"Bearer {secret}"}
        ) as r,
    ):
        await r.read()
        return r.status, {k.lower(): v for k, v in r.headers.items()}


def stripe_signature(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """``Stripe-Signature`` as Stripe computes it (HMAC-SHA256 of ``t.payload``)."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def checkout_completed(
    *, event_id: str, session_id: str, amount_cents: int, payment_intent: str, status: str = "paid"
) -> bytes:
    return orjson.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": "checkout.session.completed",
            "created": int(time.time()),
            "data": {
                "object": {
                    "id": session_id,
                    "object": "checkout.session",
                    "amount_total": amount_cents,
                    "currency": "usd",
                    "payment_status": status,
                    "payment_intent": payment_intent,
                    "status": "complete",
                }
            },
        }
    )
