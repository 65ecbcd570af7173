"""Every way a request can end, on every protocol, streamed and not, billed exactly as
docs/billing.md says — on PostgreSQL + Redis, and with no hold or lease left in Redis after.

Failures are free: no usage record, no wallet movement, nothing held. A client that leaves
after content was delivered is billed what the upstream produced (``client_disconnected``); a
client that leaves before is not.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import aiohttp
import orjson
import pytest
from yarl import URL

from tests.billing.support import Cluster, Key
from tests.errors.support import PROTOCOLS, Resp, auth, body, content_frames, route, send, sse_frames

RESPONSES = "openai_responses"
ALL = (*PROTOCOLS, RESPONSES)
"""The three native surfaces of tests/errors, plus OpenAI Responses (same vendor as Chat)."""


def request(proto: str, text: str, *, stream: bool, max_tokens: int = 32) -> tuple[str, bytes, list]:
    """(path, body, headers) of a well-formed request on ``proto``'s route."""
    if proto == RESPONSES:
        payload = {"model": "gpt-5-4-nano", "input": text, "max_output_tokens": max_tokens, "stream": stream}
        return "/v1/responses", orjson.dumps(payload), [("content-type", "application/json")]
    return (
        route(proto, stream=stream),
        orjson.dumps(body(proto, text, stream=stream, max_tokens=max_tokens)),
        [("content-type", "application/json")],
    )


def credential(proto: str, secret: str) -> list:
    return [("authorization", f"Bearer {secret}")] if proto == RESPONSES else auth(proto, secret)


async def call(client: aiohttp.ClientSession, base: str, proto: str, secret: str, *, stream: bool, text: str) -> Resp:
    path, data, headers = request(proto, text, stream=stream)
    return await send(client, base, "POST", path, data=data, headers=[*credential(proto, secret), *headers], content_type=None)


def delivered_content(proto: str, raw: bytes) -> bool:
    frames = sse_frames(raw)
    if proto == RESPONSES:
        return any(event == "response.output_text.delta" for event, _ in frames)
    return content_frames(proto, frames) >= 1


@dataclass(frozen=True)
class Fault:
    directive: str
    status: int
    """HTTP status the caller sees (200 for a stream that started and then failed)."""
    error_frame: bool = False
    """A stream that ends with the protocol's error frame instead of its terminal frame."""


FAULTS = {
    "upstream-400": Fault("error=400", 400),
    "upstream-500": Fault("error=500", 502),
    "upstream-429": Fault("error=429", 429),
    "upstream-timeout": Fault("hang", 504),
    "reset-before-content": Fault("drop_after=0", 502),
    "reset-mid-body": Fault("drop_after=2", 502),
    "200-with-error-body": Fault("error_body=500", 502),
}
STREAM_FAULTS = {
    **FAULTS,
    "reset-before-content": Fault("drop_after=0", 200, error_frame=True),
    "reset-mid-stream": Fault("drop_after=2", 200, error_frame=True),
    "error-frame-mid-stream": Fault("midstream_error=2", 200, error_frame=True),
}
STREAM_FAULTS.pop("reset-mid-body")


async def _books(cluster: Cluster, key: Key) -> int:
    return await cluster.balance(key.wallet_id)


async def assert_free(cluster: Cluster, key: Key, before: int) -> None:
    assert await cluster.usage_rows(key_id=key.key_id) == []
    assert await cluster.balance(key.wallet_id) == before
    await cluster.assert_nothing_held(key.wallet_id, [key.key_id], [key.user_id])
    assert cluster.state is not None
    hot = await cluster.state.peek("w", key.wallet_id)
    assert hot.value == before, "the hot copy did not move either"


def _cases(faults: dict[str, Fault], stream: bool) -> list:
    return [
        pytest.param(proto, stream, fault, id=f"{proto}-{'stream' if stream else 'whole'}-{name}")
        for proto in ALL
        for name, fault in faults.items()
    ]


@pytest.mark.parametrize(("proto", "stream", "fault"), _cases(FAULTS, False) + _cases(STREAM_FAULTS, True))
async def test_an_upstream_failure_is_free_and_leaves_nothing_held(
    cluster: Cluster, client: aiohttp.ClientSession, proto: str, stream: bool, fault: Fault
) -> None:
    key = await cluster.funded_key("5", concurrency=5)
    before = await _books(cluster, key)
    resp = await call(client, cluster.url(0), proto, key.secret, stream=stream, text=f"Hi [[sim:{fault.directive}]]")
    assert resp.status == fault.status, resp
    if fault.error_frame:
        frames = sse_frames(resp.raw)
        last = frames[-1]
        assert last[0] in ("error", "response.failed") or b'"error"' in last[1], frames
    await assert_free(cluster, key, before)


@pytest.mark.parametrize("proto", ALL)
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_a_client_gone_before_the_first_token_is_free(
    cluster: Cluster, client: aiohttp.ClientSession, proto: str, stream: bool
) -> None:
    """The caller hangs up while the vendor is still thinking (spec §3.10, §4.3 #3)."""
    key = await cluster.funded_key("5", concurrency=5)
    before = await _books(cluster, key)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(
            call(client, cluster.url(0), proto, key.secret, stream=stream, text="Hi [[sim:latency_ms=700]]"),
            0.25,
        )
    await asyncio.sleep(0.8)  # the vendor would have answered by now
    await assert_free(cluster, key, before)


@pytest.mark.parametrize("proto", ALL)
async def test_a_client_gone_mid_stream_is_billed_what_the_upstream_produced(
    cluster: Cluster, client: aiohttp.ClientSession, proto: str
) -> None:
    key = await cluster.funded_key("5", concurrency=5)
    before = await _books(cluster, key)
    text = "Tell me a story. [[sim:chunks=10,chunk_delay_ms=120,words=40]]"
    path, data, headers = request(proto, text, stream=True, max_tokens=64)
    url = URL(cluster.url(0) + path, encoded=True)
    received = b""
    async with client.post(url, data=data, headers=[*credential(proto, key.secret), *headers]) as r:
        assert r.status == 200
        request_id = r.headers["x-request-id"]
        async for chunk in r.content.iter_any():
            received += chunk
            if delivered_content(proto, received):
                break
        r.close()  # hang up after the first content delta
    rows = []
    for _ in range(100):  # the gateway reads the upstream on to learn the usage, then bills
        rows = await cluster.usage_rows(key_id=key.key_id)
        if rows:
            break
        await asyncio.sleep(0.05)
    assert len(rows) == 1, rows
    row = rows[0]
    assert (row["request_id"], row["billing_rule"], row["is_stream"]) == (request_id, "client_disconnected", True)
    assert row["output_tokens"] == 40, "the whole answer the upstream produced, not what was delivered"
    expected = cluster_cost(cluster, row)
    assert row["cost_micros"] == expected > 0
    await cluster.assert_books_balance(key.wallet_id, before)
    await cluster.assert_nothing_held(key.wallet_id, [key.key_id], [key.user_id])


@pytest.mark.parametrize("proto", ALL)
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_a_completed_request_is_billed_and_releases_everything(
    cluster: Cluster, client: aiohttp.ClientSession, proto: str, stream: bool
) -> None:
    key = await cluster.funded_key("5", concurrency=5)
    before = await _books(cluster, key)
    resp = await call(client, cluster.url(1), proto, key.secret, stream=stream, text="Hi [[sim:words=7]]")
    assert resp.status == 200, resp
    rows = await cluster.assert_books_balance(key.wallet_id, before)
    assert len(rows) == 1 and rows[0]["billing_rule"] == "completed"
    assert rows[0]["request_id"] == resp.headers["x-request-id"]
    assert rows[0]["cost_micros"] == cluster_cost(cluster, rows[0]) > 0
    await cluster.assert_nothing_held(key.wallet_id, [key.key_id], [key.user_id])


def cluster_cost(cluster: Cluster, row: dict) -> int:
    """Independent arithmetic: the catalogue price of the row's tokens (half-up, micro-USD)."""
    from decimal import ROUND_HALF_UP, Decimal

    m = cluster.catalogue.models[row["model"]]
    p = m.price
    uncached = row["input_tokens"] - row["cache_read_tokens"] - row["cache_write_tokens"]
    cost = (
        Decimal(uncached) * Decimal(str(p.input))
        + Decimal(row["cache_read_tokens"]) * Decimal(str(p.cache_read))
        + Decimal(row["cache_write_tokens"]) * Decimal(str(p.cache_write))
        + Decimal(row["output_tokens"]) * Decimal(str(p.output))
    )
    return int(cost.quantize(Decimal(1), rounding=ROUND_HALF_UP))
