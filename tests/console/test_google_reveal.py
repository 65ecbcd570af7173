"""An account made through Google has no password to re-enter: it reveals a key after a fresh
Google sign-in (``prompt=login``, ``max_age=0``), proven by the ID token's ``auth_time`` and the
linked subject. A provider that skips the fresh sign-in, or another Google account, reveals
nothing."""

from __future__ import annotations

import re
import uuid
from typing import Any

from tests.console.browser import check_page, fresh_page
from tests.console.providers import OidcProvider, Person
from tests.console.support import ConsoleHarness, FormClient, create_key, sign_up


async def test_a_google_account_reveals_a_key_after_signing_in_to_google_again(
    console: ConsoleHarness, oidc: OidcProvider, browser: Any
) -> None:
    me = Person(sub=uuid.uuid4().hex, email=f"g-reveal-{uuid.uuid4().hex[:8]}@example.test")
    oidc.person = me
    try:
        async with fresh_page(browser) as page:
            await page.goto(console.url + "/sign-in")
            await page.click("text=Sign in with Google")
            await page.wait_for_url("**/dashboard")
            await page.goto(console.url + "/keys/new")
            await page.fill("#f-name", "google-owned")
            await page.click("button:has-text('Create key')")
            secret = await page.input_value("[data-testid=secret]")
            key_id = int((await page.get_attribute("text=Test this key", "href")).split("key=")[1])

            # No password to re-enter: the page offers Google only.
            await page.goto(f"{console.url}/keys/{key_id}")
            await page.click("text=Reveal the secret")
            assert await page.locator("#f-password").count() == 0
            await check_page(page, "80-reveal-google-only")

            await page.click("button:has-text('Confirm with Google')")
            await page.wait_for_selector("[data-testid=secret]")
            asked = oidc.authorize_requests[-1]
            assert asked["prompt"] == "login" and asked["max_age"] == "0"
            assert await page.input_value("[data-testid=secret]") == secret
            await check_page(page, "81-revealed-after-google")

            # A provider that does not make the person sign in again: refused.
            oidc.honours_reauthentication = False
            await page.goto(f"{console.url}/keys/{key_id}/reveal")
            await page.click("button:has-text('Confirm with Google')")
            await page.wait_for_selector("h1:has-text('The secret stays hidden')")
            assert "did not confirm that you signed in again" in await page.inner_text("main")
            assert secret not in await page.content()
            await check_page(page, "82-reveal-google-refused")
            oidc.honours_reauthentication = True

            # Someone else's Google account, freshly signed in: refused too.
            oidc.person = Person(sub=uuid.uuid4().hex, email=f"intruder-{uuid.uuid4().hex[:8]}@example.test")
            await page.goto(f"{console.url}/keys/{key_id}/reveal")
            await page.click("button:has-text('Confirm with Google')")
            await page.wait_for_selector("h1:has-text('The secret stays hidden')")
            assert "not the one linked" in await page.inner_text("main")
            assert secret not in await page.content()
    finally:
        oidc.honours_reauthentication = True
        oidc.person = me


async def test_a_password_account_without_google_is_not_offered_it(
    console: ConsoleHarness, client: FormClient
) -> None:
    await sign_up(console, client)
    key_id, secret = await create_key(client, "pw-only")
    page = await client.get(f"/keys/{key_id}/reveal")
    assert 'id="f-password"' in page.text and "Confirm with Google" not in page.text
    page = await client.post(f"/keys/{key_id}/reveal/google", {})
    assert page.status == 400 and "not linked to a Google account" in page.text
    assert secret not in page.text and re.search(r'class="form-error" role="alert"', page.text)
