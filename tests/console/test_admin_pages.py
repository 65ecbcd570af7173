"""The admin area in the browser: granting and removing an exclusive routing group, and changing a
user's plan, status, role and concurrency limit, each seen from the other user's side; an administrator cannot lock
themselves out."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from bytespike.storage.schema import users
from tests.console.browser import PHONE, check_page, signed_in
from tests.console.conftest import EXCLUSIVE_GROUP
from tests.console.support import PASSWORD, ConsoleHarness, FormClient, sign_up


async def _admin(console: ConsoleHarness) -> str:
    client = FormClient(console.url)
    try:
        email = await sign_up(console, client, email=f"root-{uuid.uuid4().hex[:8]}@example.test")
    finally:
        await client.close()
    await console.make_admin(email)  # before signing in: the session then holds the admin scope
    return email


async def _save_account(page: Any, **choices: str) -> None:
    for name, value in choices.items():
        await page.select_option(f"#f-{name}", value)
    await page.click("button:text-is('Save')")


async def test_admin_grants_groups_and_changes_plan_status_and_role(
    console: ConsoleHarness, browser: Any
) -> None:
    admin_email = await _admin(console)
    member = FormClient(console.url)
    try:
        member_email = await sign_up(console, member)
        assert f">{EXCLUSIVE_GROUP}" not in (await member.get("/keys/new")).text

        async with signed_in(browser, console.url, admin_email, PASSWORD) as page:
            await page.click("nav >> text=Admin")
            await page.fill("#f-email", member_email)
            await page.click("button:has-text('Find')")
            await page.click(f"main a:has-text('{member_email}')")
            user_url = page.url
            vip = page.locator(f".check:has(label:text-is('{EXCLUSIVE_GROUP}')) input")
            assert not await vip.is_checked()

            # Grant the exclusive group: the member can bind keys to it.
            await vip.check()
            await page.click("button:has-text('Save grants')")
            await page.wait_for_url("**?notice=granted")
            assert await vip.is_checked()
            assert f">{EXCLUSIVE_GROUP}" in (await member.get("/keys/new")).text
            await check_page(page, "90-admin-user-granted")

            # Remove it again.
            await vip.uncheck()
            await page.click("button:has-text('Save grants')")
            await page.wait_for_url("**?notice=granted")
            assert not await vip.is_checked()
            assert f">{EXCLUSIVE_GROUP}" not in (await member.get("/keys/new")).text

            # Plan.
            await _save_account(page, tier="pro")
            await page.wait_for_url("**?notice=saved")
            assert await page.input_value("#f-tier") == "pro"
            assert "<dt>Plan</dt><dd>pro</dd>" in (await member.get("/account")).text

            # The account's own concurrency limit (Enterprise's "custom" cap), then the plan's again.
            async def own_limit() -> int | None:
                async with console.engine.connect() as conn:
                    return (
                        await conn.execute(sa.select(users.c.concurrency_limit).where(users.c.email == member_email))
                    ).scalar_one()

            await page.fill("#f-concurrency_limit", "lots")
            await page.click("button:text-is('Save')")
            assert "whole number" in await page.inner_text("#concurrency_limit-error")
            assert await own_limit() is None
            await page.fill("#f-concurrency_limit", "2")
            await page.click("button:text-is('Save')")
            await page.wait_for_url("**?notice=saved")
            assert (await page.input_value("#f-concurrency_limit"), await own_limit()) == ("2", 2)
            await page.fill("#f-concurrency_limit", "")
            await page.click("button:text-is('Save')")
            await page.wait_for_url("**?notice=saved")
            assert (await page.input_value("#f-concurrency_limit"), await own_limit()) == ("", None)

            # Status: a disabled user's session ends, and signing in is refused until re-enabled.
            await _save_account(page, status="disabled")
            await page.wait_for_url("**?notice=saved")
            assert "/sign-in" in (await member.get("/dashboard")).url
            refused = await member.post("/sign-in", {"email": member_email, "password": PASSWORD})
            assert refused.status == 400
            await _save_account(page, status="active")
            await page.wait_for_url("**?notice=saved")
            assert (
                await member.post("/sign-in", {"email": member_email, "password": PASSWORD})
            ).url.endswith("/dashboard")

            # Role: an administrator from the next sign-in on.
            await _save_account(page, role="admin")
            await page.wait_for_url("**?notice=saved")
            await member.post("/sign-out", {})
            await member.post("/sign-in", {"email": member_email, "password": PASSWORD})
            assert (await member.get("/admin")).status == 200

            # Every change is in the audit log.
            await page.click("text=Audit log")
            log = await page.inner_text("main")
            for action in ("admin.group_grant", "admin.group_revoke", "admin.user_update"):
                assert action in log, action

            # No administrator demotes or disables themselves.
            await page.goto(console.url + "/admin")
            await page.fill("#f-email", admin_email)
            await page.click("button:has-text('Find')")
            await page.click(f"main a:has-text('{admin_email}')")
            await _save_account(page, role="user")
            assert (
                await page.inner_text("#user_id-error")
                == "administrators cannot demote or disable themselves"
            )
            await check_page(page, "91-admin-self-lockout")
            await page.set_viewport_size(PHONE)
            for path, name in (("/admin", "admin-users"), (user_url.removeprefix(console.url), "admin-user")):
                await page.goto(console.url + path)
                await check_page(page, f"92-phone-{name}")
    finally:
        await member.close()
