"""Org wallet top-ups from Billing (``?org=``): owners and admins pay into the org's wallet through
the same path as a personal top-up (development provider and Stripe Checkout, bonus included);
a plain member sees no form and is refused (403), anyone else gets 404; nothing moves then."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from bytespike.access.orgs import OrgManager
from bytespike.storage import accounts
from bytespike.storage.console_schema import payments
from bytespike.storage.orgs import OrgRecord
from tests.console.browser import check_page, signed_in
from tests.console.conftest import STRIPE_WEBHOOK_SECRET
from tests.console.providers import StripeApi
from tests.console.support import (
    PASSWORD,
    ConsoleHarness,
    FormClient,
    checkout_completed,
    sign_up,
    stripe_signature,
)


async def _org_of(console: ConsoleHarness, clients: dict[str, FormClient]) -> tuple[OrgRecord, dict[str, str]]:
    """An org owned by ``owner`` with ``admin`` and ``member`` (every other client is an outsider)."""
    emails = {name: await sign_up(console, client) for name, client in clients.items()}
    async with console.engine.connect() as conn:
        ids = {n: (await accounts.get_user_by_email(conn, e)).id for n, e in emails.items()}  # type: ignore[union-attr]
    orgs = OrgManager(console.engine)
    org = await orgs.create(name=f"Acme {uuid.uuid4().hex[:4]}", owner_user_id=ids["owner"], actor_user_id=None)
    for who in ("admin", "member"):
        if who in ids:
            await orgs.set_member(org.id, ids[who], who, actor_user_id=None, actor_key_id=None, ip=None)
    return org, emails


async def _payment_count(console: ConsoleHarness) -> int:
    async with console.engine.connect() as conn:
        return int(await conn.scalar(sa.select(sa.func.count()).select_from(payments)) or 0)


async def test_owners_and_admins_top_up_the_org_wallet_members_cannot(
    console: ConsoleHarness, browser: Any
) -> None:
    clients = {n: FormClient(console.url) for n in ("owner", "admin", "member", "outsider")}
    try:
        org, emails = await _org_of(console, clients)

        # The owner, in the browser: Billing of the org, the form, the development checkout.
        async with signed_in(browser, console.url, emails["owner"], PASSWORD) as page:
            await page.goto(f"{console.url}/billing?org={org.id}")
            await check_page(page, "b3-billing-org-top-up")
            await page.fill("#f-amount", "25")
            await page.click("button:has-text('Continue')")
            await page.wait_for_url("**/billing/dev-checkout/*")
            assert f"Into the wallet of {org.name}" in await page.inner_text("main")
            await page.click("button:has-text('Pay $25.00')")
            await page.wait_for_url(f"**/billing?org={org.id}&notice=paid")
            assert await page.inner_text("[data-testid=org-balance]") == "$25.75"  # 3% bonus
            ledger = await page.inner_text("[data-testid=ledger]")
            assert "topup" in ledger and "bonus" in ledger
            await check_page(page, "b4-billing-org-paid")
        assert await console.ledger_of(org.wallet_id) == [("topup", 25_000_000), ("bonus", 750_000)]
        assert (await console.wallet_of(emails["owner"]))[1] == 0, "the owner's own wallet is untouched"

        # The admin, through the form.
        admin = clients["admin"]
        await admin.get(f"/billing?org={org.id}")
        page = await admin.post(f"/billing/top-up?org={org.id}", {"amount": "5"})
        assert "/billing/dev-checkout/" in page.url, page.text[:1500]
        page = await admin.post(page.url.removeprefix(admin.base), {"action": "pay"})
        assert page.url.endswith(f"/billing?org={org.id}&notice=paid") and "Payment received" in page.text
        assert await console.balance(org.wallet_id) == 30_750_000

        # A plain member sees the wallet but no form, and a forged post is refused.
        before = await _payment_count(console)
        member = clients["member"]
        page = await member.get(f"/billing?org={org.id}")
        assert page.status == 200 and "$30.75" in page.text and "/billing/top-up" not in page.text
        assert "ask one of them" in page.text
        page = await member.post(f"/billing/top-up?org={org.id}", {"amount": "50"})
        assert page.status == 403 and "owner or admin" in page.text
        # An outsider does not learn that the org exists.
        outsider = clients["outsider"]
        await outsider.get("/billing")
        assert (await outsider.post(f"/billing/top-up?org={org.id}", {"amount": "50"})).status == 404
        assert await _payment_count(console) == before
        assert await console.balance(org.wallet_id) == 30_750_000
    finally:
        for c in clients.values():
            await c.close()


async def test_an_org_top_up_through_stripe_credits_the_org_wallet(
    stripe_console: ConsoleHarness, stripe_api: StripeApi
) -> None:
    clients = {"owner": FormClient(stripe_console.url)}
    try:
        org, emails = await _org_of(stripe_console, clients)
        owner = clients["owner"]
        await owner.get(f"/billing?org={org.id}")
        page = await owner.post(f"/billing/top-up?org={org.id}", {"amount": "100"}, follow=False)
        assert page.status == 303, page.text[:1000]
        sent = stripe_api.sessions[-1]
        assert sent["metadata[org_id]"] == str(org.id) and sent["metadata[wallet_id]"] == str(org.wallet_id)
        assert sent["line_items[0][price_data][product_data][name]"] == f"bytespike credits for {org.name}"
        assert sent["cancel_url"].endswith(f"/billing?org={org.id}&notice=cancelled")
        payload = checkout_completed(
            event_id=f"evt_{uuid.uuid4().hex}",
            session_id=page.headers["location"].rsplit("/", 1)[1],
            amount_cents=10000,
            payment_intent=f"pi_{uuid.uuid4().hex}",
        )
        async with owner.http.post(
            stripe_console.url + "/billing/stripe/webhook",
            data=payload,
            headers={
                "content-type": "application/json",
                "stripe-signature": stripe_signature(payload, STRIPE_WEBHOOK_SECRET),
            },
        ) as r:
            assert (r.status, await r.json()) == (200, {"received": True, "credited": True})
        assert await stripe_console.ledger_of(org.wallet_id) == [("topup", 100_000_000), ("bonus", 5_000_000)]
        own_wallet, own_balance = await stripe_console.wallet_of(emails["owner"])
        assert own_balance == 0 and await stripe_console.ledger_of(own_wallet) == []
        payment_row = sent["metadata[payment_row_id]"]
        page = await owner.get(f"/billing/return?payment={payment_row}")
        assert f"credited to the wallet of {org.name}" in page.text
        assert f'href="/billing?org={org.id}"' in page.text
    finally:
        for c in clients.values():
            await c.close()
