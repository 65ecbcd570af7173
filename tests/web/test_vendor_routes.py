"""Vendor routes with their own addressing, and identity echoes clients rely on."""

from __future__ import annotations

import anthropic
import pytest
from google import genai
from google.genai import types

from tests.web.billing import ANTHROPIC, Billed, assert_billed, from_anthropic
from tests.web.upstream_log import new_marker, upstream_requests


async def test_deepseek_anthropic_route_is_called_at_its_own_path(gateway) -> None:
    """deepseek-v3-anthropic is served by DeepSeek's Anthropic-shape API under /anthropic."""
    key = await gateway.funded_key(group="claude-default")
    before = await gateway.balance(key.wallet_id)
    marker = new_marker()
    client = anthropic.AsyncAnthropic(api_key=key.secret, base_url=gateway.url, max_retries=0)
    raw = await client.messages.with_raw_response.create(
        model="deepseek-v3-anthropic", max_tokens=64, messages=[{"role": "user", "content": f"hi {marker}"}]
    )
    message = await raw.parse()
    assert message.model == "deepseek-v3-anthropic"
    # The Anthropic SDK surfaces the gateway's request id from the request-id header.
    assert (
        raw.headers["request-id"] == raw.headers["x-request-id"]
        and message._request_id == raw.headers["request-id"]
    )
    [upstream] = await upstream_requests(gateway, marker)
    assert upstream["path"] == "/anthropic/v1/messages"
    assert upstream["body"]["model"] == gateway.catalogue.models["deepseek-v3-anthropic"].upstream_model
    await assert_billed(
        gateway, key, before, Billed("deepseek-v3-anthropic", ANTHROPIC, False, from_anthropic(message.usage))
    )


@pytest.mark.filterwarnings("ignore:Inheritance class AiohttpClientSession from ClientSession is discouraged")
async def test_gemini_model_version_is_the_slug_streamed_or_not(gateway) -> None:
    key = await gateway.funded_key()
    client = genai.Client(
        api_key=key.secret,
        http_options=types.HttpOptions(
            base_url=gateway.url, api_version="v1beta", retry_options=types.HttpRetryOptions(attempts=1)
        ),
    )
    whole = await client.aio.models.generate_content(model="gemini-3-1-pro", contents="hello")
    assert whole.model_version == "gemini-3-1-pro"
    versions = [c.model_version async for c in await client.aio.models.generate_content_stream(
        model="gemini-3-1-pro", contents="hello"
    )]  # fmt: skip
    assert versions and set(versions) == {"gemini-3-1-pro"}
