"""The Test page's failure path, in the browser: the status and the exact error a client would
have seen, for an empty wallet (402), a model outside the key's group (403) and a key revoked
while the page was open (401)."""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson

from bytespike.web.console.probe import probe_body
from tests.console.browser import PHONE, check_page, signed_in
from tests.console.support import PASSWORD, ConsoleHarness, FormClient, create_key, sign_up

MODEL = "gpt-5-4"


async def client_error(console: ConsoleHarness, secret: str, model: str) -> tuple[int, str, str]:
    """What a client sending the probe's own Chat Completions request gets: (status, code, message)."""
    body = probe_body("openai_chat", model)
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            console.url + "/v1/chat/completions",
            data=orjson.dumps(body),  # byte for byte the probe's body: the hold estimate reads its size
            headers={"authorization": f"Bearer {secret}", "content-type": "application/json"},
        ) as r,
    ):
        error = (await r.json())["error"]
        return r.status, str(error.get("code") or error.get("type")), error["message"]


async def press_test(page: Any, key_label: str, model: str) -> tuple[str, str]:
    """Choose the key and model, press Test; returns (status, error text) as the page shows them."""
    await page.select_option("#f-key_id", label=key_label)
    await page.select_option("#f-model", model)
    await page.click("main button:has-text('Test')")
    await page.wait_for_selector("[data-testid=test-result]")
    assert await page.inner_text("[data-testid=test-result] h2") == "Failed"
    assert await page.locator("[data-testid=test-cost]").count() == 0
    return await page.inner_text("[data-testid=test-status]"), await page.inner_text(
        "[data-testid=test-error]"
    )


async def test_the_test_page_shows_the_status_and_exact_error_of_a_failure(
    console: ConsoleHarness, browser: Any
) -> None:
    client = FormClient(console.url)
    try:
        email = await sign_up(console, client)  # verified, and the wallet is empty
        chat_id, secret = await create_key(client, "chat")
        _, claude_secret = await create_key(client, "claude-only", group="claude-default")
        async with signed_in(browser, console.url, email, PASSWORD) as page:
            await page.goto(console.url + "/test")
            labels = {
                name: await page.inner_text(f"#f-key_id option:has-text('{name} (')")
                for name in ("chat", "claude-only")
            }

            # 402: nothing in the wallet.
            status, error = await press_test(page, labels["chat"], MODEL)
            expected = await client_error(console, secret, MODEL)
            assert expected[:2] == (402, "insufficient_balance")
            assert status == "402" and error == f"{expected[1]} {expected[2]}"
            await check_page(page, "60-test-failed-402")

            # 403: the model list offers every group's models; this key's group lacks this one.
            status, error = await press_test(page, labels["claude-only"], MODEL)
            expected = await client_error(console, claude_secret, MODEL)
            assert expected[:2] == (403, "model_not_in_group")
            assert status == "403" and error == f"{expected[1]} {expected[2]}"
            assert MODEL in error and "claude-default" in error

            # 401: revoked in another tab after this page was opened.
            await page.goto(console.url + "/test")
            await page.select_option("#f-key_id", label=labels["chat"])
            await page.select_option("#f-model", MODEL)
            await client.get(f"/keys/{chat_id}")
            await client.post(f"/keys/{chat_id}/revoke", {})
            await page.click("main button:has-text('Test')")
            await page.wait_for_selector("[data-testid=test-result]")
            status = await page.inner_text("[data-testid=test-status]")
            error = await page.inner_text("[data-testid=test-error]")
            expected = await client_error(console, secret, MODEL)
            assert expected[:2] == (401, "invalid_api_key")
            assert status == "401" and error == f"{expected[1]} {expected[2]}"
            await check_page(page, "61-test-failed-401")
            await page.set_viewport_size(PHONE)
            await check_page(page, "62-phone-test-failed")
    finally:
        await client.close()
