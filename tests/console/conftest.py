"""Gateways serving the console, each with the outside services its tests need.

``console``: the development payment provider and Google sign-in against a local OpenID Connect
provider. ``invite_console``: invite-only, mail through a local SMTP server, Google too.
``stripe_console``: Stripe keys, its API at a local stand-in, so the development
provider is off and only signed webhooks credit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from playwright.async_api import async_playwright

from tests.console.browser import launch
from tests.console.providers import CLIENT_ID, CLIENT_SECRET, OidcProvider, StripeApi
from tests.console.smtp import SmtpServer
from tests.console.support import ConsoleHarness, FormClient

STRIPE_WEBHOOK_SECRET = "whsec_test_0123456789abcdef"


@pytest.fixture(scope="session")
async def oidc() -> AsyncIterator[OidcProvider]:
    provider = OidcProvider()
    await provider.start()
    try:
        yield provider
    finally:
        await provider.stop()


@asynccontextmanager
async def serving(harness: ConsoleHarness) -> AsyncIterator[ConsoleHarness]:
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


def google_env(oidc: OidcProvider) -> dict[str, str]:
    """Sign in with Google against the local provider."""
    return {
        "BYTESPIKE_GOOGLE_CLIENT_ID": CLIENT_ID,
        "BYTESPIKE_GOOGLE_CLIENT_SECRET": CLIENT_SECRET,
        "BYTESPIKE_GOOGLE_ISSUER": oidc.issuer,
    }


EXCLUSIVE_GROUP = "vip"
CONFIG = f"""
[groups.{EXCLUSIVE_GROUP}]
description = "An exclusive group: usable only with a grant."
public = false
models = ["gpt-5-4"]
"""


@pytest.fixture(scope="session")
async def console(
    tmp_path_factory: pytest.TempPathFactory, oidc: OidcProvider
) -> AsyncIterator[ConsoleHarness]:
    """The console with Google sign-in, and one exclusive routing group for grants."""
    tmp = tmp_path_factory.mktemp("console")
    (tmp / "bytespike.toml").write_text(CONFIG)
    harness = ConsoleHarness(tmp, BYTESPIKE_CONFIG=str(tmp / "bytespike.toml"), **google_env(oidc))
    async with serving(harness):
        yield harness


@pytest.fixture(scope="session")
def smtp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmtpServer]:
    server = SmtpServer(tmp_path_factory.mktemp("smtp"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
async def invite_console(
    tmp_path_factory: pytest.TempPathFactory, oidc: OidcProvider, smtp: SmtpServer
) -> AsyncIterator[ConsoleHarness]:
    """Configured like a public deployment: invite-only, mail through a real SMTP server, Google."""
    harness = ConsoleHarness(
        tmp_path_factory.mktemp("invite-console"),
        BYTESPIKE_INVITE_ONLY="true",
        BYTESPIKE_SMTP_URL=smtp.url,
        BYTESPIKE_MAIL_FROM="console@bytespike.test",
        SSL_CERT_FILE=str(smtp.cert_path),  # the server's STARTTLS certificate, made for the test
        **google_env(oidc),
    )
    async with serving(harness):
        yield harness


@pytest.fixture(scope="session")
async def stripe_api() -> AsyncIterator[StripeApi]:
    api = StripeApi()
    await api.start()
    try:
        yield api
    finally:
        await api.stop()


@pytest.fixture(scope="session")
async def stripe_console(
    tmp_path_factory: pytest.TempPathFactory, stripe_api: StripeApi
) -> AsyncIterator[ConsoleHarness]:
    harness = ConsoleHarness(
        tmp_path_factory.mktemp("stripe-console"),
        BYTESPIKE_STRIPE_SECRET_KEY="sk_test_bytespike",
        BYTESPIKE_STRIPE_WEBHOOK_SECRET=STRIPE_WEBHOOK_SECRET,
        BYTESPIKE_STRIPE_API_BASE=stripe_api.url,
    )
    async with serving(harness):
        yield harness


@pytest.fixture
async def client(console: ConsoleHarness) -> AsyncIterator[FormClient]:
    c = FormClient(console.url)
    try:
        yield c
    finally:
        await c.close()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    """One headless Chromium for every browser test of the session."""
    async with async_playwright() as p:
        b = await launch(p)
        try:
            yield b
        finally:
            await b.close()
