"""Streams are relayed as the upstream produces them, never collected first (issue 2: "chunk by
chunk, never buffered"), on the same-protocol fast path and through translation alike.

The simulator sends the first content delta at once and the next one a minute later. A gateway
that waited for the upstream to finish would show the client nothing for that minute; one that
relays shows the first delta while the upstream is still in its pause. The ten-second bound is
a liveness bound (six times shorter than the pause), not a speed claim.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import orjson
import pytest

PAUSED = "Relay me. [[sim:chunks=2,chunk_delay_ms=60000,words=4]]"
FIRST_DELTA_WITHIN_S = 10.0

CASES = [
    # caller, model, translated?
    ("anthropic", "claude-sonnet-4-6", False),
    ("anthropic", "gpt-5-4", True),
    ("openai_chat", "gpt-5-4", False),
    ("openai_chat", "claude-sonnet-4-6", True),
    ("gemini", "gemini-3-1-pro", False),
    ("gemini", "claude-sonnet-4-6", True),
]


def _request(caller: str, model: str, secret: str) -> tuple[str, dict[str, str], dict[str, Any]]:
    if caller == "anthropic":
        headers = {"x-api-key": secret, "anthropic-version": "2023-06-01"}
        body = {"model": model, "max_tokens": 64, "stream": True, "messages": [{"role": "user", "content": PAUSED}]}
        return "/v1/messages", headers, body
    if caller == "openai_chat":
        body = {"model": model, "stream": True, "messages": [{"role": "user", "content": PAUSED}]}
        return "/v1/chat/completions", {"authorization": f"Bearer {secret}"}, body
    body = {"contents": [{"role": "user", "parts": [{"text": PAUSED}]}]}
    return f"/v1beta/models/{model}:streamGenerateContent?alt=sse", {"x-goog-api-key": secret}, body


def _content_delta(caller: str, event: dict[str, Any]) -> str | None:
    """The text of a content delta event in the caller's protocol, else None."""
    if caller == "anthropic":
        delta = event.get("delta") or {}
        return delta.get("text") if event.get("type") == "content_block_delta" else None
    if caller == "openai_chat":
        choices = event.get("choices") or [{}]
        return (choices[0].get("delta") or {}).get("content") or None
    parts = ((event.get("candidates") or [{}])[0].get("content") or {}).get("parts") or []
    return "".join(p.get("text", "") for p in parts) or None


async def _first_delta(resp: aiohttp.ClientResponse, caller: str) -> str:
    async for line in resp.content:
        if line.startswith(b"data: ") and line.strip() != b"data: [DONE]":
            text = _content_delta(caller, orjson.loads(line[6:]))
            if text:
                return text
    raise AssertionError("the stream ended without a content delta")


@pytest.mark.parametrize(("caller", "model", "translated"), CASES, ids=[f"{c}-{m}" for c, m, _ in CASES])
async def test_the_first_delta_arrives_while_the_upstream_is_still_streaming(
    gateway, caller: str, model: str, translated: bool
) -> None:
    key = await gateway.funded_key()
    path, headers, body = _request(caller, model, key.secret)
    async with aiohttp.ClientSession() as session, session.post(gateway.url + path, json=body, headers=headers) as resp:
        assert resp.status == 200, await resp.text()
        try:
            text = await asyncio.wait_for(_first_delta(resp, caller), FIRST_DELTA_WITHIN_S)
        except TimeoutError:
            pytest.fail(
                f"{caller} → {model}: no content delta within {FIRST_DELTA_WITHIN_S} s while the "
                "upstream paused a minute after its first one: the stream was buffered"
            )
        assert text.strip(), (caller, model, translated)
        # The rest really is a minute away: the whole stream does not end within the bound.
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(resp.read(), 1.0)
        resp.close()  # leave mid-stream; the gateway bills what the upstream produced
