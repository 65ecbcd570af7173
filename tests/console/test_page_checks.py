"""Screenshots, axe-core and layout checks of the pages the first-day flow does not reach: forgot
and reset password (with a field error), the password reveal form, the return page after a
payment, the CSRF refusal, and the signed-out and account pages at phone width."""

from __future__ import annotations

import re
from typing import Any

from tests.console.browser import DESKTOP, PHONE, check_page, fresh_page, sign_in
from tests.console.support import PASSWORD, ConsoleHarness, FormClient, create_key, sign_up


async def test_remaining_pages_pass_the_checks_at_desktop_and_phone_width(
    console: ConsoleHarness, browser: Any
) -> None:
    client = FormClient(console.url)
    try:
        email = await sign_up(console, client)
        key_id, _ = await create_key(client, "checked")
        await client.get("/billing")
        checkout = await client.post("/billing/top-up", {"amount": "5"})
        payment_id = int(re.search(r"/billing/dev-checkout/(\d+)", checkout.url).group(1))  # type: ignore[union-attr]
    finally:
        await client.close()

    async with fresh_page(browser) as page:
        # Signed out: sign-in, sign-up, forgot password, at phone width.
        await page.set_viewport_size(PHONE)
        for path, name in (("/sign-in", "sign-in"), ("/sign-up", "sign-up"), ("/forgot-password", "forgot")):
            await page.goto(console.url + path)
            await check_page(page, f"a0-phone-{name}")
        await page.set_viewport_size(DESKTOP)

        # Forgot and reset password, with a field error on each.
        await page.fill("#f-email", "not-an-address")
        await page.click("main button")
        assert await page.inner_text("#email-error") == "Enter the email address of your account."
        await check_page(page, "a1-forgot-password-error")
        await page.fill("#f-email", email)
        await page.click("main button")
        await page.wait_for_url("**/sign-in?notice=reset-sent")
        await page.goto(await console.reset_link(email))
        await check_page(page, "a2-reset-password")
        await page.fill("#f-password", "short")
        await page.click("main button")
        assert "at least 12 characters" in await page.inner_text("#password-error")
        await check_page(page, "a3-reset-password-error")
        await page.set_viewport_size(PHONE)
        await check_page(page, "a4-phone-reset-password")
        await page.set_viewport_size(DESKTOP)
        await page.goto(console.url + "/reset-password?token=not-a-token")
        assert "wrong or has expired" in await page.inner_text("#token-error")
        await check_page(page, "a5-reset-password-bad-link")

        await sign_in(page, console.url, email, PASSWORD)
        # The password reveal form, and its error.
        await page.goto(f"{console.url}/keys/{key_id}/reveal")
        await check_page(page, "a6-reveal-form")
        await page.fill("#f-password", "not-my-password-1!")
        await page.click("button:text-is('Reveal')")
        assert await page.inner_text("#password-error") == "The password is wrong."
        await check_page(page, "a7-reveal-form-error")

        # Back from a payment page: pending, and one that is not ours.
        await page.goto(f"{console.url}/billing/return?payment={payment_id}")
        assert "confirming your payment of $5.00" in await page.inner_text("main")
        await check_page(page, "a8-billing-return")
        await page.goto(f"{console.url}/billing/return?payment=999999")
        assert "No such payment." in await page.inner_text("main")

        # A form whose token was tampered with: the refusal page.
        await page.goto(console.url + "/account")
        await page.evaluate("() => document.querySelector('main input[name=csrf_token]').value = 'forged'")
        async with page.expect_response(console.url + "/account/invites") as answer:
            await page.click("button:has-text('Mint an invite code')")
        assert (await answer.value).status == 403
        assert await page.inner_text("h1") == "Form refused"
        await check_page(page, "a9-csrf-refused")

        await page.set_viewport_size(PHONE)
        await page.goto(console.url + "/account")
        await check_page(page, "aa-phone-account")
