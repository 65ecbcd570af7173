"""Requests a route refuses before any upstream call: unknown chained responses, media to text-only models."""

from __future__ import annotations

import aiohttp
import pytest


async def _post(gateway, key, path: str, body: dict) -> tuple[int, dict]:
    headers = {"authorization": f"Bearer {key.secret}"}
    async with aiohttp.ClientSession() as s, s.post(gateway.url + path, json=body, headers=headers) as r:
        return r.status, await r.json()


@pytest.mark.parametrize("model", ["gpt-5-4", "claude-sonnet-4-6"])
async def test_an_unknown_previous_response_id_is_openais_400_on_every_route(gateway, model: str) -> None:
    """The gateway resolves previous_response_id itself (tests/relay/test_chaining.py); an id it
    never stored is OpenAI's own 400, before any upstream call, and free."""
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    status, body = await _post(
        gateway, key, "/v1/responses", {"model": model, "input": "and then?", "previous_response_id": "resp_abc"}
    )
    assert status == 400
    assert body["error"]["param"] == "previous_response_id"
    assert body["error"]["code"] == "previous_response_not_found"
    assert body["error"]["message"] == "Previous response with id 'resp_abc' not found."
    assert await gateway.usage_rows(key.key_id) == [] and await gateway.balance(key.wallet_id) == before


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (
            "/v1/chat/completions",
            {
                "model": "deepseek-v4-pro",
                "messages": [
                    {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}]}
                ],
            },
        ),
        (
            "/v1/messages",
            {
                "model": "deepseek-v3-anthropic",
                "max_tokens": 10,
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "image", "source": {"type": "url", "url": "https://x.test/a.png"}}],
                    }
                ],
            },
        ),
    ],
)
async def test_media_to_a_text_only_model_is_a_400_on_the_fast_path(gateway, path: str, body: dict) -> None:
    key = await gateway.funded_key()
    status, reply = await _post(gateway, key, path, body)
    assert status == 400
    message = reply["error"]["message"]
    assert "accepts only text content, not image input" in message and "content[0]" in message
    assert await gateway.usage_rows(key.key_id) == []
