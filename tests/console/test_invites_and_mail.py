"""Invite-only sign-up through the pages (email and Google), with the console's mail going out
through a real SMTP server: the verification code and the password-reset link arrive there."""

from __future__ import annotations

import re
import uuid
from typing import Any

from bytespike.access.issuance import create_user
from tests.console.browser import DESKTOP, PHONE, check_page, fresh_page
from tests.console.providers import OidcProvider, Person
from tests.console.smtp import SMTP_USER, SmtpServer
from tests.console.support import PASSWORD, ConsoleHarness, FormClient

_INVITE = re.compile(r"<code>(BS-[A-Z0-9]{4}-[A-Z0-9]{4})</code></td><td>unused")
_CODE = re.compile(r"verification code is (\d{6})")
_LINK = re.compile(r"(http\S+/reset-password\?token=\S+)")


async def mint_invites(console: ConsoleHarness, count: int) -> list[str]:
    """Codes minted on the account page by an existing member (made by the operator)."""
    email = f"inviter-{uuid.uuid4().hex[:8]}@example.test"
    await create_user(console.engine, email=email, password=PASSWORD)
    client = FormClient(console.url)
    try:
        await client.get("/sign-in")
        await client.post("/sign-in", {"email": email, "password": PASSWORD})
        for _ in range(count):
            await client.get("/account")
            await client.post("/account/invites", {})
        page = await client.get("/account")
        codes = _INVITE.findall(page.text)
        assert len(codes) == count, page.text[-2000:]
        return codes
    finally:
        await client.close()


async def assert_spent(console: ConsoleHarness, code: str) -> None:
    """Nobody else signs up with ``code`` any more."""
    other = FormClient(console.url)
    try:
        await other.get("/sign-up")
        page = await other.post(
            "/sign-up", {"email": _email("late"), "password": PASSWORD, "invite_code": code}
        )
        assert page.status == 400
        assert 'id="invite_code-error" role="alert">this invite code is unknown or already used' in page.text
    finally:
        await other.close()


def _email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}@example.test"


async def test_invite_only_sign_up_and_the_verification_mail_over_smtp(
    invite_console: ConsoleHarness, smtp: SmtpServer, browser: Any
) -> None:
    (code,) = await mint_invites(invite_console, 1)
    email = _email("invited")
    async with fresh_page(browser) as page:
        await page.goto(invite_console.url + "/sign-up")
        await page.fill("#f-email", email)
        await page.fill("#f-password", PASSWORD)
        await page.click("button:text-is('Sign up')")
        assert await page.inner_text("#invite_code-error") == "an invite code looks like BS-XXXX-XXXX"
        await page.fill("#f-invite_code", "BS-ZZZZ-ZZZZ")
        await page.fill("#f-password", PASSWORD)
        await page.click("button:text-is('Sign up')")
        assert await page.inner_text("#invite_code-error") == "this invite code is unknown or already used"
        assert await page.get_attribute("#f-invite_code", "aria-invalid") == "true"
        await check_page(page, "70-sign-up-invite-error")
        await page.set_viewport_size(PHONE)
        await check_page(page, "71-phone-sign-up-invite")
        await page.set_viewport_size(DESKTOP)

        await page.fill("#f-invite_code", code.lower())  # codes are read case-insensitively
        await page.fill("#f-password", PASSWORD)
        await page.click("button:text-is('Sign up')")
        await page.wait_for_url("**/verify-email")

        # The code arrives through SMTP, sent with the configured account and sender.
        mail = await smtp.mail_to(email, "verification code")
        assert mail.login == SMTP_USER and mail.mail_from == "console@bytespike.test"
        assert mail.message["To"] == email and mail.message["From"] == "console@bytespike.test"
        found = _CODE.search(mail.body)
        assert found and found.group(1) in str(mail.message["Subject"])
        assert "mail (no BYTESPIKE_SMTP_URL" not in invite_console.log()
        await page.set_viewport_size(PHONE)
        await check_page(page, "72-phone-verify-email")
        await page.fill("#f-code", found.group(1))
        await page.click("button:has-text('Verify')")
        await page.wait_for_url("**/dashboard?notice=verified")

    await assert_spent(invite_console, code)


async def test_password_reset_link_arrives_over_smtp(
    invite_console: ConsoleHarness, smtp: SmtpServer
) -> None:
    email = _email("forgetful")
    await create_user(invite_console.engine, email=email, password=PASSWORD)
    client = FormClient(invite_console.url)
    try:
        await client.get("/forgot-password")
        await client.post("/forgot-password", {"email": email})
        mail = await smtp.mail_to(email, "Reset your bytespike password")
        found = _LINK.search(mail.body)
        assert found and found.group(1).startswith(invite_console.url + "/reset-password?token=")
        link = found.group(1)
        page = await client.get(link.removeprefix(invite_console.url))
        assert page.status == 200
        page = await client.post(
            "/reset-password", {"token": link.split("token=", 1)[1], "password": "a-new-password-7?"}
        )
        assert "/sign-in" in page.url and "password is changed" in page.text
        page = await client.post("/sign-in", {"email": email, "password": "a-new-password-7?"})
        assert page.url.endswith("/dashboard")
    finally:
        await client.close()


async def test_google_sign_up_with_a_typed_invite_code(
    invite_console: ConsoleHarness, oidc: OidcProvider, browser: Any
) -> None:
    (code,) = await mint_invites(invite_console, 1)
    email = _email("google-invited")
    oidc.person = Person(sub=uuid.uuid4().hex, email=email)
    async with fresh_page(browser) as page:
        # Without a code, Google sign-up is refused before anything is created.
        await page.goto(invite_console.url + "/sign-in")
        await page.click("text=Sign in with Google")
        await page.wait_for_selector("h1:has-text('Google sign-in failed')")
        assert "new accounts need an invite code" in await page.inner_text("main")

        # A wrong code typed on the sign-up page is refused there, next to the field.
        await page.goto(invite_console.url + "/sign-up")
        await page.fill("#f-invite_code", "BS-ZZZZ-ZZZZ")
        await page.click("button:has-text('Sign up with Google')")
        assert await page.inner_text("#invite_code-error") == "this invite code is unknown or already used"
        assert await page.input_value("#f-invite_code") == "BS-ZZZZ-ZZZZ"
        assert len(oidc.codes) == 0 or all(g["person"].email != email for g in oidc.codes.values())

        # The typed code goes along to Google and back: the account is created with it.
        await page.fill("#f-invite_code", code)
        await page.click("button:has-text('Sign up with Google')")
        await page.wait_for_url("**/dashboard")
        assert email in await page.inner_text("header")
        await page.goto(invite_console.url + "/keys")
        assert await page.is_visible("text=Create a key")  # Google verified the address

    await assert_spent(invite_console, code)
