"""Org wallets in the console: a member of several orgs sees every one of them on the dashboard,
each org's ledger is in Billing, and org usage follows the role: owners and admins see every
member's requests on the org wallet, a plain member only their own; outsiders see nothing."""

from __future__ import annotations

import re
import uuid
from decimal import ROUND_DOWN, Decimal
from typing import Any

from bytespike.access.orgs import OrgManager
from bytespike.storage import accounts, ledger
from bytespike.storage.orgs import OrgRecord
from tests.console.browser import PHONE, check_page, signed_in
from tests.console.support import PASSWORD, ConsoleHarness, FormClient, chat, create_key, sign_up

MODEL = "gpt-5-4"


async def _credit(console: ConsoleHarness, org: OrgRecord, micros: int, note: str) -> None:
    async with console.engine.begin() as conn:
        await ledger.apply_movement(
            conn,
            wallet_id=org.wallet_id,
            kind="admin_credit",
            amount_micros=micros,
            idempotency_key=f"test-{uuid.uuid4().hex}",
            note=note,
        )


async def _call(console: ConsoleHarness, secret: str) -> str:
    """One billed request; returns its request id."""
    status, headers = await chat(console, secret, MODEL)
    assert status == 200
    return headers["x-request-id"]


def _request_ids(text: str) -> set[str]:
    return set(re.findall(r"<code>(req_[0-9a-zA-Z_-]+)</code>", text))


async def test_org_wallets_ledgers_and_usage_by_role(console: ConsoleHarness, browser: Any) -> None:
    names = ("owner", "admin", "member", "outsider")
    clients = {n: FormClient(console.url) for n in names}
    try:
        emails = {n: await sign_up(console, c) for n, c in clients.items()}
        async with console.engine.connect() as conn:
            ids = {n: (await accounts.get_user_by_email(conn, e)).id for n, e in emails.items()}  # type: ignore[union-attr]
        orgs = OrgManager(console.engine)
        first = await orgs.create(
            name=f"First {uuid.uuid4().hex[:4]}", owner_user_id=ids["owner"], actor_user_id=None
        )
        second = await orgs.create(
            name=f"Second {uuid.uuid4().hex[:4]}", owner_user_id=ids["admin"], actor_user_id=None
        )
        for org, user, role in (
            (first, "admin", "admin"),
            (first, "member", "member"),
            (second, "member", "member"),
        ):
            await orgs.set_member(org.id, ids[user], role, actor_user_id=None, actor_key_id=None, ip=None)
        await _credit(console, first, 10_000_000, "first funds")
        await _credit(console, second, 3_000_000, "second funds")

        # Org keys of the owner and the admin, each used once.
        requests = {}
        for who in ("owner", "admin"):
            _, secret = await create_key(clients[who], f"{who}-org-key", org_id=str(first.id))
            requests[who] = await _call(console, secret)
        # The admin's key form offers both orgs it runs (it owns the second).
        form = (await clients["admin"].get("/keys/new")).text
        assert f"{first.name} (org wallet)" in form and f"{second.name} (org wallet)" in form

        # Every org on the member's dashboard, with its balance.
        dashboard = (await clients["member"].get("/dashboard")).text
        assert first.name in dashboard and second.name in dashboard and "$3.00" in dashboard

        # Each org's ledger in Billing, for every member; not for outsiders.
        for who in ("owner", "member"):
            page = await clients[who].get(f"/billing?org={first.id}")
            assert page.status == 200 and "first funds" in page.text and "second funds" not in page.text
        page = await clients["member"].get(f"/billing?org={second.id}")
        assert "second funds" in page.text and "$3.00" in page.text
        assert (await clients["outsider"].get(f"/billing?org={first.id}")).status == 404
        assert "first funds" not in (await clients["owner"].get("/billing")).text  # their own wallet

        # Usage of the org wallet by role.
        for who in ("owner", "admin"):
            seen = _request_ids((await clients[who].get(f"/usage?org={first.id}")).text)
            assert set(requests.values()) <= seen, who
        assert _request_ids((await clients["member"].get(f"/usage?org={first.id}")).text) == set()
        csv = (await clients["owner"].get(f"/usage.csv?org={first.id}")).text
        assert all(r in csv for r in requests.values())
        page = await clients["outsider"].get(f"/usage?org={first.id}")
        assert page.status == 400 and 'id="org-error"' in page.text and not _request_ids(page.text)
        assert (await clients["outsider"].get(f"/usage.csv?org={first.id}")).status == 400
        # Demoted to member, the admin sees only their own requests on the org wallet.
        await orgs.set_member(
            first.id, ids["admin"], "member", actor_user_id=None, actor_key_id=None, ip=None
        )
        assert _request_ids((await clients["admin"].get(f"/usage?org={first.id}")).text) == {
            requests["admin"]
        }

        async with signed_in(browser, console.url, emails["member"], PASSWORD) as page:
            assert (
                await page.inner_text(f"[data-testid=org-{second.id}] [data-testid=org-balance]") == "$3.00"
            )
            await check_page(page, "b0-dashboard-two-orgs")
            await page.click(f"a:has-text('Ledger of {first.name}')")
            assert "first funds" in await page.inner_text("[data-testid=ledger]")
            balance = await console.balance(first.wallet_id)
            assert 0 < 10_000_000 - balance < 10_000  # two requests spent a fraction of a cent
            cents = (Decimal(balance) / 1_000_000).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
            assert await page.inner_text("[data-testid=org-balance]") == f"${cents}"
            await check_page(page, "b1-billing-org-ledger")
            await page.set_viewport_size(PHONE)
            await page.goto(f"{console.url}/usage?org={first.id}")
            await check_page(page, "b2-phone-usage-org")
    finally:
        for c in clients.values():
            await c.close()
