"""Editing a key in the console: the owner changes name, caps, IP lists, scopes and expiry through
the page; an unchanged form keeps the key's expiry; every refusal (negative cap, bad CIDR, a
sub-key exceeding its parent, a bad rotation grace period) shows next to its field; a key revoked
meanwhile answers 409 with a visible message, and a revoked key shows no editable form."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from bytespike.storage import keys as key_rows
from bytespike.storage.records import KeyRecord
from tests.console.browser import check_page, signed_in
from tests.console.support import PASSWORD, ConsoleHarness, FormClient, create_key, sign_up


async def _record(console: ConsoleHarness, key_id: int) -> KeyRecord:
    async with console.engine.connect() as conn:
        record = await key_rows.get_key(conn, key_id)
    assert record is not None
    return record


def _expires(record: KeyRecord) -> datetime | None:
    value = record.expires_at
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


@pytest.fixture
async def owner(console: ConsoleHarness) -> Any:
    client = FormClient(console.url)
    email = await sign_up(console, client)
    try:
        yield client, email
    finally:
        await client.close()


async def test_owner_edits_a_key_through_the_page(console: ConsoleHarness, owner: Any, browser: Any) -> None:
    client, email = owner
    key_id, _ = await create_key(client, "edit-me", expires_in_days="30")
    expires = _expires(await _record(console, key_id))
    assert expires is not None and timedelta(days=29) < expires - datetime.now(UTC) <= timedelta(days=30)

    async with signed_in(browser, console.url, email, PASSWORD) as page:
        await page.goto(f"{console.url}/keys/{key_id}")
        # The current expiry is shown, and keeping it is the default.
        assert expires.strftime("%Y-%m-%d %H:%M") in await page.inner_text("[data-testid=expiry-now]")
        assert await page.is_checked("#expiry-keep")
        assert await page.input_value("#f-expires_in_days") == ""

        # Saving another change keeps the expiry (it used to be erased to "never").
        await page.fill("#f-name", "renamed")
        await page.click("button:has-text('Save changes')")
        await page.wait_for_url(f"**/keys/{key_id}?notice=saved")
        record = await _record(console, key_id)
        assert record.name == "renamed" and _expires(record) == expires

        # Refusals show right under their field, and the form keeps what was typed.
        await page.fill("#f-quota", "-1")
        await page.click("button:has-text('Save changes')")
        assert await page.inner_text("#quota-error") == "quota must not be negative"
        assert await page.get_attribute("#f-quota", "aria-invalid") == "true"
        assert await page.input_value("#f-quota") == "-1"
        await check_page(page, "50-key-edit-field-error")
        await page.fill("#f-quota", "50")
        await page.fill("#f-ip_whitelist", "10.0.0.0/8\n10.0.0.300/24")
        await page.click("button:has-text('Save changes')")
        assert "10.0.0.300/24" in await page.inner_text("#ip_whitelist-error")
        assert (await _record(console, key_id)).quota_micros == 0  # nothing was saved

        # A full edit: caps, IP lists, scopes.
        await page.fill("#f-quota", "50")
        await page.fill("#f-rate_limit_5h", "1.5")
        await page.fill("#f-rate_limit_1d", "2")
        await page.fill("#f-rate_limit_7d", "3")
        await page.fill("#f-ip_whitelist", "10.0.0.0/8\n192.168.1.0/24")
        await page.fill("#f-ip_blacklist", "10.1.0.0/16")
        await page.uncheck("input[name=scopes][value='models:read']")
        await page.check("input[name=scopes][value='usage:read']")
        await page.click("button:has-text('Save changes')")
        await page.wait_for_url(f"**/keys/{key_id}?notice=saved")
        record = await _record(console, key_id)
        assert (
            record.quota_micros,
            record.rate_limit_5h_micros,
            record.rate_limit_1d_micros,
            record.rate_limit_7d_micros,
        ) == (50_000_000, 1_500_000, 2_000_000, 3_000_000)
        assert list(record.ip_whitelist) == ["10.0.0.0/8", "192.168.1.0/24"]
        assert list(record.ip_blacklist) == ["10.1.0.0/16"]
        assert "models:read" not in record.scopes and "usage:read" in record.scopes
        assert _expires(record) == expires
        assert await page.input_value("#f-rate_limit_5h") == "1.50"

        # "Never expires" is an explicit choice; typing days picks "days from now".
        await page.check("#expiry-never")
        await page.click("button:has-text('Save changes')")
        await page.wait_for_url(f"**/keys/{key_id}?notice=saved")
        assert (await _record(console, key_id)).expires_at is None
        assert "never expires" in await page.inner_text("[data-testid=expiry-now]")
        await page.fill("#f-expires_in_days", "10")
        assert await page.is_checked("#expiry-days")
        await page.click("button:has-text('Save changes')")
        await page.wait_for_url(f"**/keys/{key_id}?notice=saved")
        expires = _expires(await _record(console, key_id))
        assert expires is not None and timedelta(days=9) < expires - datetime.now(UTC) <= timedelta(days=10)

        # A bad grace period is refused next to its field, on the key's own page.
        await page.fill("#f-grace_seconds", "soon")
        await page.click("button:has-text('Rotate')")
        assert "whole seconds" in await page.inner_text("#grace_seconds-error")
        assert await page.inner_text("h1") == "Key “renamed”"
        await page.fill("#f-grace_seconds", "999999")
        await page.click("button:has-text('Rotate')")
        assert await page.inner_text("#grace_seconds-error") == "grace_period_seconds must be 0 to 604800"
        await check_page(page, "51-key-rotate-grace-error")

        # Revoked in another tab meanwhile: saving answers 409 with a visible message.
        await page.goto(f"{console.url}/keys/{key_id}")
        await client.get(f"/keys/{key_id}")
        await client.post(f"/keys/{key_id}/revoke", {})
        await page.fill("#f-name", "too-late")
        async with page.expect_response(f"{console.url}/keys/{key_id}") as answer:
            await page.click("button:has-text('Save changes')")
        assert (await answer.value).status == 409
        assert await page.inner_text(".form-error") == f"key {key_id} is revoked"
        # A revoked key shows its settings, and no form to change them.
        assert await page.is_visible("[data-testid=key-revoked]")
        assert await page.locator("button:has-text('Save changes')").count() == 0
        assert await page.locator("button:has-text('Rotate')").count() == 0
        assert (await _record(console, key_id)).name == "renamed"
        await check_page(page, "52-key-revoked-409")
        await page.goto(f"{console.url}/keys/{key_id}")
        assert "10.0.0.0/8, 192.168.1.0/24" in await page.inner_text("[data-testid=key-settings]")
        assert await page.locator("#f-name").count() == 0


async def test_a_sub_key_is_refused_settings_beyond_its_parent(
    console: ConsoleHarness, owner: Any, browser: Any
) -> None:
    client, email = owner
    parent_id, parent_secret = await create_key(
        client,
        "parent",
        rate_limit_1d="5",
        expires_in_days="30",
        scopes="inference models:read keys:read keys:write",
    )
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            console.url + "/api/v1/keys",
            json={"name": "child", "parent_key_id": parent_id, "rate_limit_1d": 1},
            headers={"authorization": f"Bearer {parent_secret}"},
        ) as r,
    ):
        assert r.status == 201, await r.text()
        child_id = int((await r.json())["id"])
    child_expires = _expires(await _record(console, child_id))
    assert child_expires is not None  # inherited from the parent

    async with signed_in(browser, console.url, email, PASSWORD) as page:
        await page.goto(f"{console.url}/keys")
        await page.click("a:has-text('Manage child')")
        # An edit that keeps the inherited expiry is accepted (an erased expiry would outlive the parent).
        await page.fill("#f-name", "child-renamed")
        await page.click("button:has-text('Save changes')")
        await page.wait_for_url(f"**/keys/{child_id}?notice=saved")
        assert _expires(await _record(console, child_id)) == child_expires

        await page.fill("#f-rate_limit_1d", "10")
        await page.click("button:has-text('Save changes')")
        assert (
            await page.inner_text("#rate_limit_1d-error")
            == "rate_limit_1d 10 USD exceeds the parent key's rate_limit_1d of 5 USD"
        )
        await page.fill("#f-rate_limit_1d", "1")
        await page.check("#expiry-never")
        await page.click("button:has-text('Save changes')")
        assert (
            await page.inner_text("#expires_in_days-error")
            == "a sub-key cannot outlive its parent key's expiry"
        )
        await check_page(page, "53-sub-key-field-error")
        record = await _record(console, child_id)
        assert record.rate_limit_1d_micros == 1_000_000 and _expires(record) == child_expires


async def test_contradictory_expiry_and_bad_wallet_are_field_errors(
    console: ConsoleHarness, owner: Any
) -> None:
    client, _ = owner
    key_id, _ = await create_key(client, "exp")
    page = await client.get(f"/keys/{key_id}")
    group_id = re.search(r'<option value="(\d+)" selected', page.text).group(1)  # type: ignore[union-attr]
    page = await client.post(
        f"/keys/{key_id}",
        {"name": "exp", "group_id": group_id, "expiry": "never", "expires_in_days": "5"},
    )
    assert page.status == 400
    assert re.search(r'id="expires_in_days-error" role="alert">Choose either', page.text)
    page = await client.post(f"/keys/{key_id}", {"name": "exp", "group_id": group_id, "expiry": "days"})
    assert page.status == 400 and 'id="expires_in_days-error"' in page.text
    assert (await _record(console, key_id)).expires_at is None

    # A wallet this user may not use: the message shows (the form has no wallet choice for them).
    await client.get("/keys/new")
    page = await client.post("/keys/new", {"name": "x", "group_id": group_id, "org_id": "987654"})
    assert page.status == 404
    assert re.search(r'<p class="form-error" role="alert">no organization with id 987654', page.text)
    page = await client.post("/keys/new", {"name": "x", "group_id": group_id, "org_id": "mine"})
    assert page.status == 400 and re.search(r'class="form-error" role="alert">Choose a wallet', page.text)


async def test_org_owner_sees_a_bad_wallet_next_to_the_wallet_field(console: ConsoleHarness) -> None:
    from bytespike.access.orgs import OrgManager
    from bytespike.storage import accounts

    client = FormClient(console.url)
    try:
        email = await sign_up(console, client)
        async with console.engine.connect() as conn:
            user = await accounts.get_user_by_email(conn, email)
        assert user is not None
        await OrgManager(console.engine).create(
            name=f"Org {uuid.uuid4().hex[:6]}", owner_user_id=user.id, actor_user_id=None
        )
        page = await client.get("/keys/new")
        group_id = re.search(r'<option value="(\d+)"[^>]*>default\b', page.text).group(1)  # type: ignore[union-attr]
        page = await client.post("/keys/new", {"name": "x", "group_id": group_id, "org_id": "987654"})
        assert page.status == 404
        assert re.search(r'id="org_id-error" role="alert">no organization with id 987654', page.text)
        assert 'aria-describedby="org_id-error" aria-invalid="true"' in page.text
    finally:
        await client.close()
