"""Accounts over HTTP: sign-up rules, email verification before keys, sign-in and its rate
limit, sign-out ending the session, password reset, CSRF on every form, security headers."""

from __future__ import annotations

import re
import uuid

import aiohttp
import pytest

from tests.console.support import PASSWORD, ConsoleHarness, FormClient, create_key, sign_up


def _email() -> str:
    return f"u-{uuid.uuid4().hex[:10]}@example.test"


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short-1!", "at least 12 characters"),
        ("no-digits-here!!", "include at least one number"),
        ("nosymbols12345", "include at least one symbol"),
    ],
)
async def test_sign_up_refuses_weak_passwords_next_to_the_field(
    client: FormClient, password: str, problem: str
) -> None:
    await client.get("/sign-up")
    page = await client.post("/sign-up", {"email": _email(), "password": password})
    assert page.status == 400
    error = re.search(r'<p class="field-error" id="password-error" role="alert">([^<]+)</p>', page.text)
    assert error and problem in error.group(1)
    assert 'aria-describedby="password-hint password-error"' in page.text


async def test_sign_up_refuses_a_taken_email(console: ConsoleHarness, client: FormClient) -> None:
    email = await sign_up(console, client)
    other = FormClient(console.url)
    try:
        await other.get("/sign-up")
        page = await other.post("/sign-up", {"email": email.upper(), "password": PASSWORD})
        assert page.status == 400 and 'id="email-error"' in page.text
    finally:
        await other.close()


async def test_keys_need_a_verified_email(console: ConsoleHarness, client: FormClient) -> None:
    email = await sign_up(console, client, verify=False)
    page = await client.get("/keys/new")
    assert page.url.endswith("/verify-email")
    await client.get("/verify-email")
    page = await client.post(
        "/verify-email",
        {"code": "111111" if await console.verification_code(email) == "000000" else "000000"},
    )
    assert page.status == 400 and 'id="code-error"' in page.text
    await client.post("/verify-email", {"code": await console.verification_code(email)})
    assert client.last is not None and client.last.url.endswith("/dashboard?notice=verified")
    key_id, secret = await create_key(client)
    assert secret.startswith("sk-byts-") and key_id > 0


async def test_sign_in_sign_out_and_wrong_password(console: ConsoleHarness, client: FormClient) -> None:
    email = await sign_up(console, client)
    await client.get("/dashboard")
    await client.post("/sign-out", {})
    assert client.last is not None and "/sign-in" in client.last.url
    page = await client.get("/dashboard")
    assert "/sign-in" in page.url
    page = await client.post("/sign-in", {"email": email, "password": PASSWORD + "x"})
    assert page.status == 400 and "The email or the password is wrong." in page.text
    page = await client.post("/sign-in", {"email": email, "password": PASSWORD, "next": "/keys"})
    assert page.url.endswith("/keys"), page.url
    # An open redirect through ?next= is not possible.
    await client.post("/sign-out", {})
    page = await client.post(
        "/sign-in", {"email": email, "password": PASSWORD, "next": "//evil.example/"}, follow=False
    )
    assert page.headers["location"] == "/dashboard"


async def test_signed_out_session_cookie_stops_working(console: ConsoleHarness, client: FormClient) -> None:
    await sign_up(console, client)
    stolen = {c.key: c.value for c in client.http.cookie_jar}
    await client.get("/dashboard")
    await client.post("/sign-out", {})
    thief = FormClient(console.url)
    try:
        thief.http.cookie_jar.update_cookies(stolen)
        page = await thief.get("/dashboard")
        assert "/sign-in" in page.url
    finally:
        await thief.close()


async def test_sign_in_is_rate_limited_per_email(console: ConsoleHarness, client: FormClient) -> None:
    email = await sign_up(console, client)
    await client.post("/sign-out", {})
    statuses = []
    for _ in range(7):
        page = await client.post("/sign-in", {"email": email, "password": "wrong-password-1!"})
        statuses.append(page.status)
    assert statuses[:5] == [400] * 5
    assert statuses[-1] == 429 and "Too many sign-in attempts" in client.last.text  # type: ignore[union-attr]
    # Even the right password waits now.
    page = await client.post("/sign-in", {"email": email, "password": PASSWORD})
    assert page.status == 429


async def test_password_reset_by_emailed_link(console: ConsoleHarness, client: FormClient) -> None:
    email = await sign_up(console, client)
    await client.post("/sign-out", {})
    await client.get("/forgot-password")
    page = await client.post("/forgot-password", {"email": email})
    assert "reset link is on its way" in page.text
    link = await console.reset_link(email)
    page = await client.get(link.removeprefix(console.url))
    assert page.status == 200
    page = await client.post("/reset-password", {"token": link.split("token=", 1)[1], "password": "short"})
    assert page.status == 400 and 'id="password-error"' in page.text
    page = await client.post(
        "/reset-password", {"token": link.split("token=", 1)[1], "password": "a-new-password-7?"}
    )
    assert "/sign-in" in page.url and "password is changed" in page.text
    # The link works once.
    page = await client.get(link.removeprefix(console.url))
    assert page.status == 400 and 'id="token-error"' in page.text
    await client.get("/sign-in")
    page = await client.post("/sign-in", {"email": email, "password": PASSWORD})
    assert page.status == 400
    page = await client.post("/sign-in", {"email": email, "password": "a-new-password-7?"})
    assert page.url.endswith("/dashboard")


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/sign-in", {"email": "a@b.c", "password": "x"}),
        ("/sign-up", {"email": "new@example.test", "password": PASSWORD}),
        ("/keys/new", {"name": "x", "group_id": "1"}),
        ("/billing/top-up", {"amount": "20"}),
        ("/sign-out", {}),
    ],
)
@pytest.mark.parametrize("token", [None, "forged-token"])
async def test_forms_without_the_csrf_token_are_refused(
    console: ConsoleHarness, client: FormClient, path: str, data: dict, token: str | None
) -> None:
    await sign_up(console, client)
    page = await client.post(path, data, csrf=token)
    assert page.status == 403 and "Form refused" in page.text
    page = await client.get("/dashboard")
    assert page.url.endswith("/dashboard"), "the refused sign-out must not have signed out"


async def test_security_headers_and_cookie_flags(console: ConsoleHarness, client: FormClient) -> None:
    page = await client.get("/sign-in")
    h = page.headers
    assert (
        "default-src 'self'" in h["content-security-policy"]
        and "frame-ancestors 'none'" in h["content-security-policy"]
    )
    assert h["x-frame-options"] == "DENY" and h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"] == "same-origin" and h["cache-control"] == "no-store"
    await client.get("/sign-up")
    email = _email()
    async with client.http.post(
        console.url + "/sign-up",
        data={"email": email, "password": PASSWORD, "csrf_token": client.last.csrf},  # type: ignore[union-attr]
        allow_redirects=False,
    ) as r:
        cookies = r.headers.getall("set-cookie")
    session = next(c for c in cookies if c.startswith("bs_session="))
    assert "HttpOnly" in session and "SameSite=lax" in session and "Path=/" in session


async def test_root_serves_browsers_the_console_and_clients_json(
    console: ConsoleHarness, client: FormClient
) -> None:
    async with client.http.get(
        console.url + "/", headers={"accept": "text/html"}, allow_redirects=False
    ) as r:
        assert r.status == 303 and r.headers["location"] == "/dashboard"
    async with client.http.get(console.url + "/", headers={"accept": "application/json"}) as r:
        assert r.status == 200 and (await r.json())["service"] == "bytespike"


async def test_the_management_api_also_refuses_keys_before_the_email_is_verified(
    console: ConsoleHarness, client: FormClient
) -> None:
    """The rule lives in the shared `KeyManager`, not only in the console's key page."""
    email = await sign_up(console, client, verify=False)
    async with aiohttp.ClientSession() as http:
        async with http.post(
            console.url + "/api/v1/auth/sign-in", json={"email": email, "password": PASSWORD}
        ) as r:
            assert r.status == 200, await r.text()
            management_key = (await r.json())["key"]
        headers = {"authorization": f"Bearer {management_key}"}
        async with http.post(
            console.url + "/api/v1/keys", json={"name": "early", "group_id": 1}, headers=headers
        ) as r:
            error = (await r.json())["error"]
            assert r.status == 403 and error["code"] == "email_not_verified", error
        await client.get("/verify-email")
        await client.post("/verify-email", {"code": await console.verification_code(email)})
        async with http.post(
            console.url + "/api/v1/keys", json={"name": "now", "group_id": 1}, headers=headers
        ) as r:
            assert r.status == 201, await r.text()
