"""The console in a real browser (Debian's Chromium, headless, driven by Playwright): the whole
first-day flow of issue 7, Google sign-in against a local OpenID Connect provider, and every
page checked for accessibility and phone-width layout, with screenshots as test artifacts."""

from __future__ import annotations

import re
import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from joserfc.jwk import RSAKey

from tests.console.browser import DESKTOP, PHONE, check_page
from tests.console.providers import OidcProvider, Person
from tests.console.support import PASSWORD, ConsoleHarness, chat

MODEL = "gpt-5-4"


def dollars(micros: int) -> str:
    return "$" + str((Decimal(micros) / 1_000_000).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


async def gateway_status(console: ConsoleHarness, secret: str) -> int:
    return (await chat(console, secret, MODEL))[0]


async def test_first_day_in_the_console(console: ConsoleHarness, browser: Any) -> None:
    """sign up → verify → top up (development provider) → create a key and copy its secret →
    Test it → the request in Usage and the balance down by its cost → reveal → rotate → the old
    secret refused by the gateway → revoke."""
    context = await browser.new_context(viewport=DESKTOP)
    await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=console.url)
    page = await context.new_page()
    page.set_default_timeout(15_000)
    email = f"ada-{uuid.uuid4().hex[:8]}@example.test"

    # Sign up.
    await page.goto(console.url + "/")
    assert page.url.endswith("/sign-in?next=/dashboard")
    await check_page(page, "01-sign-in")
    await page.click("text=Create an account")
    await check_page(page, "02-sign-up")
    await page.fill("#f-email", email)
    await page.fill("#f-password", "short")
    await page.click("button:has-text('Sign up')")
    assert await page.inner_text("#password-error") == "password: use at least 12 characters"
    await check_page(page, "03-sign-up-field-error")
    await page.fill("#f-password", PASSWORD)
    await page.click("button:has-text('Sign up')")
    await page.wait_for_url("**/verify-email")
    await check_page(page, "04-verify-email")

    # Verify with the code the development mailer logged.
    await page.fill("#f-code", await console.verification_code(email))
    await page.click("button:has-text('Verify')")
    await page.wait_for_url("**/dashboard?notice=verified")
    assert await page.inner_text("[data-testid=balance]") == "$0.00"
    await check_page(page, "05-dashboard-empty")

    # Top up $20 through the development provider: $20 plus the 3% bonus.
    await page.click("nav >> text=Billing")
    await check_page(page, "06-billing")
    await page.fill("#f-amount", "4")
    await page.click("button:has-text('Continue')")
    assert "between $5.00 and $1250.00" in await page.inner_text("#amount-error")
    await page.fill("#f-amount", "20")
    await page.click("button:has-text('Continue')")
    await page.wait_for_url("**/billing/dev-checkout/*")
    assert "Development payment provider" in await page.inner_text("main")
    await check_page(page, "07-dev-checkout")
    await page.click("button:has-text('Pay $20.00')")
    await page.wait_for_url("**/billing?notice=paid")
    assert await page.inner_text("[data-testid=balance]") == "$20.60"
    ledger = await page.inner_text("[data-testid=ledger]")
    assert "topup" in ledger and "bonus" in ledger and "$0.60" in ledger
    await check_page(page, "08-billing-paid")
    _, balance = await console.wallet_of(email)
    assert balance == 20_600_000

    # Create a key and copy the secret (shown once).
    await page.click("nav >> text=API keys")
    await check_page(page, "09-keys-empty")
    await page.click("text=Create a key")
    await page.fill("#f-name", "first-key")
    await page.select_option(
        "#f-group_id",
        label="default — " + (await page.inner_text("#f-group_id option:checked")).split(" — ", 1)[1],
    )
    await page.fill("#f-rate_limit_1d", "5")
    await check_page(page, "10-key-form")
    await page.click("button:has-text('Create key')")
    await page.wait_for_selector("[data-testid=secret]")
    secret = await page.input_value("[data-testid=secret]")
    assert secret.startswith("sk-byts-")
    await page.click("button[data-copy=secret]")
    await page.wait_for_selector(".copied:has-text('Copied')")
    assert await page.evaluate("() => navigator.clipboard.readText()") == secret
    await check_page(page, "11-key-created")
    key_link = await page.get_attribute("text=Test this key", "href")
    key_id = int(key_link.split("key=")[1])

    # Test it against the simulator, through the real gateway path.
    await page.click("text=Test this key")
    await page.select_option("#f-model", MODEL)
    await page.click("button:has-text('Test')")
    await page.wait_for_selector("[data-testid=test-result]")
    assert await page.inner_text("[data-testid=test-status]") == "200"
    cost = int(await page.get_attribute("[data-testid=test-cost]", "data-micros"))
    assert cost > 0
    await check_page(page, "12-test-ok")

    # The request is in Usage, and the balance dropped by exactly its cost.
    await page.click("nav >> text=Usage")
    rows = await page.inner_text("[data-testid=usage-rows]")
    assert MODEL in rows and "first-key" in rows
    assert await page.get_attribute("[data-testid=usage-rows] td[data-micros]", "data-micros") == str(cost)
    # The charts are drawn by deferred scripts: wait for them rather than racing the page load
    # (a bare evaluate once failed with "Chart is not defined" on a busy machine).
    await page.wait_for_function(
        "() => typeof Chart !== 'undefined'"
        " && !!Chart.getChart('chart-spend-day') && !!Chart.getChart('chart-tokens-model')",
        timeout=15_000,
    )
    # Axes in plain USD and whole tokens, never "9.00000E-5".
    spend_ticks = await page.evaluate(
        "() => Chart.getChart('chart-spend-day').scales.y.ticks.map(t => t.label)"
    )
    token_ticks = await page.evaluate(
        "() => Chart.getChart('chart-tokens-day').scales.y.ticks.map(t => t.label)"
    )
    assert spend_ticks and all(re.fullmatch(r"\$\d+(\.\d+)?", t) for t in spend_ticks), spend_ticks
    assert token_ticks and all(re.fullmatch(r"[\d,]+", t) for t in token_ticks), token_ticks
    assert "1 request · " in await page.inner_text("[data-testid=usage-totals]")
    await check_page(page, "13-usage")
    async with page.expect_download() as download_info:
        await page.click("text=Export CSV")
    csv_text = (await (await download_info.value).path()).read_text()
    assert csv_text.splitlines()[0].startswith("created_at,request_id") and MODEL in csv_text
    assert (await console.wallet_of(email))[1] == 20_600_000 - cost
    await page.click("nav >> text=Dashboard")
    assert await page.inner_text("[data-testid=balance]") == dollars(20_600_000 - cost)
    assert MODEL in await page.inner_text("main")
    # A sub-cent spend reads as what it is, not "$0.00".
    exact = "$" + format(Decimal(cost) / 1_000_000, "f")
    assert cost < 10_000 and exact in await page.inner_text("tr:has-text('last 5 hours')")
    await check_page(page, "14-dashboard")
    assert await gateway_status(console, secret) == 200

    # Reveal after re-entering the password.
    await page.goto(f"{console.url}/keys/{key_id}")
    await check_page(page, "15-key-detail")
    await page.click("text=Reveal the secret")
    await page.fill("#f-password", "not-my-password-1!")
    await page.click("button:has-text('Reveal')")
    assert await page.inner_text("#password-error") == "The password is wrong."
    await page.fill("#f-password", PASSWORD)
    await page.click("button:has-text('Reveal')")
    assert await page.input_value("[data-testid=secret]") == secret
    await check_page(page, "16-key-revealed")

    # Rotate: a new secret; the old one is refused by the gateway at once.
    await page.goto(f"{console.url}/keys/{key_id}")
    await page.click("button:has-text('Rotate')")
    await page.wait_for_selector("[data-testid=secret]")
    rotated = await page.input_value("[data-testid=secret]")
    assert rotated.startswith("sk-byts-") and rotated != secret
    await check_page(page, "17-key-rotated")
    assert await gateway_status(console, secret) == 401
    assert await gateway_status(console, rotated) == 200

    # Revoke (after the confirmation dialog): the gateway refuses the key.
    await page.goto(f"{console.url}/keys/{key_id}")

    async def accept(dialog: Any) -> None:
        await dialog.accept()

    page.on("dialog", accept)
    await page.click("button:has-text('Revoke this key')")
    await page.wait_for_url("**/keys?notice=revoked")
    assert "revoked" in await page.inner_text("[data-testid=keys]")
    await check_page(page, "18-keys-revoked")
    assert await gateway_status(console, rotated) == 401

    # The remaining pages.
    await page.click("nav >> text=Account")
    await page.click("button:has-text('Mint an invite code')")
    assert "BS-" in await page.inner_text("main")
    await check_page(page, "19-account")
    await page.click("nav >> text=Test")
    await check_page(page, "20-test-no-keys")

    # Phone width: the same pages, no sideways scrolling.
    await page.set_viewport_size(PHONE)
    for path, name in (
        ("/dashboard", "dashboard"),
        ("/keys", "keys"),
        ("/usage", "usage"),
        ("/billing", "billing"),
        (f"/keys/{key_id}", "key-detail"),
    ):
        await page.goto(console.url + path)
        await check_page(page, f"21-phone-{name}")

    # Sign out.
    await page.click("button:has-text('Sign out')")
    await page.wait_for_url("**/sign-in?notice=signed-out")
    await context.close()


async def test_admin_pages(console: ConsoleHarness, browser: Any) -> None:
    context = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    email = f"admin-{uuid.uuid4().hex[:8]}@example.test"
    await page.goto(console.url + "/sign-up")
    await page.fill("#f-email", email)
    await page.fill("#f-password", PASSWORD)
    await page.click("button:has-text('Sign up')")
    await page.wait_for_url("**/verify-email")
    await console.make_admin(email)
    await page.click("button:has-text('Sign out')")
    await page.fill("#f-email", email)
    await page.fill("#f-password", PASSWORD)
    await page.click("button:has-text('Sign in')")
    await page.click("nav >> text=Admin")
    await check_page(page, "30-admin-users")
    await page.fill("#f-email", email)
    await page.click("button:has-text('Find')")
    await page.click(f"main a:has-text('{email}')")
    await check_page(page, "31-admin-user")
    await page.fill("#f-amount_usd", "12.5")
    await page.fill("#f-note", "welcome credit")
    await page.click("button:has-text('Record')")
    await page.wait_for_url("**?notice=credited")
    assert "$12.50" in await page.inner_text("main")
    wallet_id, balance = await console.wallet_of(email)
    assert balance == 12_500_000 and ("admin_credit", 12_500_000) in await console.ledger_of(wallet_id)
    await page.click("text=Audit log")
    assert "admin.credit_adjust" in await page.inner_text("main")
    await check_page(page, "32-admin-audit")
    await context.close()


async def test_sign_in_with_google(console: ConsoleHarness, oidc: OidcProvider, browser: Any) -> None:
    context = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    email = f"g-{uuid.uuid4().hex[:8]}@example.test"
    oidc.person = Person(sub=uuid.uuid4().hex, email=email)
    await page.goto(console.url + "/sign-in")
    await page.click("text=Sign in with Google")
    await page.wait_for_url("**/dashboard")
    assert email in await page.inner_text("header")
    # Google verified the address: keys can be created straight away.
    await page.click("nav >> text=API keys")
    assert await page.is_visible("text=Create a key")
    await check_page(page, "40-google-signed-in")
    assert oidc.token_requests[-1]["code_verifier"]  # PKCE was used
    await page.click("button:has-text('Sign out')")
    # Signing in again finds the same account through the linked identity.
    await page.click("text=Sign in with Google")
    await page.wait_for_url("**/dashboard")
    await context.close()


async def test_google_sign_in_with_a_forged_id_token_is_refused(
    console: ConsoleHarness, oidc: OidcProvider, browser: Any
) -> None:
    context = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    oidc.person = Person(sub=uuid.uuid4().hex, email=f"forged-{uuid.uuid4().hex[:8]}@example.test")
    oidc.published_key = RSAKey.generate_key(2048, parameters={"kid": "test-1"})
    try:
        await page.goto(console.url + "/sign-in")
        await page.click("text=Sign in with Google")
        await page.wait_for_selector("h1:has-text('Google sign-in failed')")
        await check_page(page, "41-google-refused")
        await page.goto(console.url + "/dashboard")
        assert "/sign-in" in page.url
    finally:
        oidc.published_key = None
        await context.close()
