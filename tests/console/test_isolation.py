"""A user never sees or touches another user's keys, usage, ledger or payments (tested by trying)."""

from __future__ import annotations

import re

from tests.console.support import ConsoleHarness, FormClient, create_key, sign_up, top_up_dev


async def test_one_user_cannot_reach_anothers_keys_usage_or_ledger(console: ConsoleHarness) -> None:
    alice, bob = FormClient(console.url), FormClient(console.url)
    try:
        await sign_up(console, alice)
        await sign_up(console, bob)
        page = await top_up_dev(alice, "20")
        assert "Payment received" in page.text
        key_id, secret = await create_key(alice, name="alice-prod")
        await alice.get(f"/test?key={key_id}")
        page = await alice.post("/test", {"key_id": str(key_id), "model": "gpt-5-4"})
        assert 'data-testid="test-status">200<' in page.text, page.text[-3000:]
        request_id = re.search(r"<code>(req_[0-9a-f]+)</code>", page.text).group(1)  # type: ignore[union-attr]
        payment_id = (await alice.get("/billing")).text  # alice's ledger holds her top-up
        assert "topup" in payment_id

        # Bob's own pages show none of it.
        for path in (
            "/keys",
            "/usage",
            "/dashboard",
            "/billing",
            "/test",
            f"/usage?key={key_id}",
            f"/usage.csv?key={key_id}",
        ):
            page = await bob.get(path)
            assert (
                "alice-prod" not in page.text and request_id not in page.text and secret not in page.text
            ), path
        assert "No transactions yet." in (await bob.get("/billing")).text
        csv = (await bob.get(f"/usage.csv?key={key_id}")).text
        assert csv.strip().count("\n") == 0, csv  # only the header row

        # Bob addressing Alice's key by id: not found, and nothing changes.
        for method, path, data in (
            ("GET", f"/keys/{key_id}", None),
            ("GET", f"/keys/{key_id}/reveal", None),
            ("POST", f"/keys/{key_id}", {"name": "stolen", "group_id": "1"}),
            ("POST", f"/keys/{key_id}/reveal", {"password": "x"}),
            ("POST", f"/keys/{key_id}/rotate", {}),
            ("POST", f"/keys/{key_id}/revoke", {}),
        ):
            if method == "GET":
                page = await bob.get(path)
            else:
                await bob.get("/keys")
                page = await bob.post(path, data)
            assert page.status == 404 and secret not in page.text, (method, path, page.status)
        await bob.get("/test")
        page = await bob.post("/test", {"key_id": str(key_id), "model": "gpt-5-4"})
        assert page.status == 400 and 'data-testid="test-result"' not in page.text
        # Alice's payment page is not Bob's either.
        ledger = (await alice.get("/billing")).text
        assert "devpay_" in ledger
        payment_row = re.search(r"devpay_(\d+)", ledger).group(1)  # type: ignore[union-attr]
        page = await bob.get(f"/billing/dev-checkout/{payment_row}")
        assert page.status == 404

        # Alice's key still works and is unchanged.
        page = await alice.get(f"/keys/{key_id}")
        assert page.status == 200 and "alice-prod" in page.text and "status-active" in page.text
        # Bob is no administrator.
        page = await bob.get("/admin")
        assert page.status == 403
    finally:
        await alice.close()
        await bob.close()


async def test_org_members_see_the_org_wallet_and_owners_see_org_keys(console: ConsoleHarness) -> None:
    from bytespike.access.orgs import OrgManager
    from bytespike.storage import accounts

    owner, admin, member = FormClient(console.url), FormClient(console.url), FormClient(console.url)
    try:
        emails = [await sign_up(console, c) for c in (owner, admin, member)]
        async with console.engine.connect() as conn:
            ids = [(await accounts.get_user_by_email(conn, e)).id for e in emails]  # type: ignore[union-attr]
        orgs = OrgManager(console.engine)
        org = await orgs.create(name="Dosia AI", owner_user_id=ids[0], actor_user_id=None)
        await orgs.set_member(org.id, ids[1], "admin", actor_user_id=ids[0], actor_key_id=None, ip=None)
        await orgs.set_member(org.id, ids[2], "member", actor_user_id=ids[0], actor_key_id=None, ip=None)

        # An org admin creates a key on the org wallet.
        page = await admin.get("/keys/new")
        assert "Dosia AI (org wallet)" in page.text
        group_id = re.search(r'<option value="(\d+)"[^>]*>default\b', page.text).group(1)  # type: ignore[union-attr]
        page = await admin.post(
            "/keys/new", {"name": "org-shared", "group_id": group_id, "org_id": str(org.id)}
        )
        assert "sk-byts-" in page.text, page.text[-2000:]

        # The owner sees it among the org's keys; a plain member does not, but sees the org wallet.
        assert "org-shared" in (await owner.get("/keys")).text
        member_keys = await member.get("/keys")
        assert "org-shared" not in member_keys.text and "Other keys of" not in member_keys.text
        dashboard = await member.get("/dashboard")
        assert "Dosia AI" in dashboard.text and "Org wallet" in dashboard.text
        assert "Dosia AI (org wallet)" not in (await member.get("/keys/new")).text
    finally:
        for c in (owner, admin, member):
            await c.close()
