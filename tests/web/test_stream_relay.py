"""Streams are relayed as the upstream produces them, never collected first (issue 2: "chunk by
chunk, never buffered"), on the same-protocol fast path and through translation alike.

The simulator sends the first content delta at once and the next one a minute later. A gateway
that waited for the upstream to finish would show the client nothing for that minute; one that
relays shows the first delta while the upstream is still in its pause. The ten-second bound is
a liveness bound (six times shorter than the pause), not a speed claim.
"""

from __future__ import annotations

import asyncio

import aiohttp
import orjson
import pytest

from bytespike.protocols.sse import SSESplitter, frame_fields
from tests.errors.support import ANTHROPIC, GEMINI, OPENAI, auth, body, content_frames, route

PAUSED = "Relay me. [[sim:chunks=2,chunk_delay_ms=60000,words=4]]"
FIRST_DELTA_WITHIN_S = 10.0

CASES = [
    # caller, model, translated?
    (ANTHROPIC, "claude-sonnet-4-6", False),
    (ANTHROPIC, "gpt-5-4", True),
    (OPENAI, "gpt-5-4", False),
    (OPENAI, "claude-sonnet-4-6", True),
    (GEMINI, "gemini-3-1-pro", False),
    (GEMINI, "claude-sonnet-4-6", True),
]


async def _first_delta(resp: aiohttp.ClientResponse, proto: str) -> None:
    """Returns at the first frame that carries generated text."""
    splitter = SSESplitter()
    async for chunk in resp.content.iter_any():
        for frame in splitter.feed(chunk):
            event, data = frame_fields(frame)
            if content_frames(proto, [(event.decode() if event else None, data)]):
                return
    raise AssertionError("the stream ended without a content delta")


@pytest.mark.parametrize(("proto", "model", "translated"), CASES, ids=[f"{c}-{m}" for c, m, _ in CASES])
async def test_the_first_delta_arrives_while_the_upstream_is_still_streaming(
    gateway, proto: str, model: str, translated: bool
) -> None:
    key = await gateway.funded_key()
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            gateway.url + route(proto, model=model, stream=True),
            data=orjson.dumps(body(proto, PAUSED, model=model, stream=True, max_tokens=64)),
            headers=[*auth(proto, key.secret), ("content-type", "application/json")],
        ) as resp,
    ):
        assert resp.status == 200, await resp.text()
        try:
            await asyncio.wait_for(_first_delta(resp, proto), FIRST_DELTA_WITHIN_S)
        except TimeoutError:
            pytest.fail(
                f"{proto} → {model} (translated: {translated}): no content delta within "
                f"{FIRST_DELTA_WITHIN_S} s while the upstream paused a minute after its first one: "
                "the stream was buffered"
            )
        # The rest really is a minute away: the whole stream does not end within the bound.
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(resp.read(), 1.0)
        resp.close()  # leave mid-stream; the gateway bills what the upstream produced
