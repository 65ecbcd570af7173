"""No overdraw across processes: 200 concurrent requests, two gateway processes sharing
PostgreSQL and Redis, against a limit that admits about 20 (docs/billing.md "Boundary rule").

Each test checks the money three ways: the usage records, the database wallet and the hot copy
in Redis agree to the micro-USD; every 2xx has its usage record and nothing else has one; no
hold or lease is left behind.
"""

from __future__ import annotations

import asyncio
import re
from decimal import Decimal
from typing import Any

import aiohttp
import orjson

from bytespike.accounting.pricing import estimate_micros
from bytespike.money import micros_to_usd
from tests.billing.support import Cluster, Key
from tests.errors.support import ANTHROPIC, GEMINI, NATIVE_MODEL, OPENAI, Resp, body, call, sse_frames

REQUESTS = 200
MAX_TOKENS = 48
TEXT = "Count to three. [[sim:latency_ms=300,words=12]]"
"""300 ms at the vendor keeps the 200 requests in flight together; 12 words < max_tokens."""


def estimate(cluster: Cluster, proto: str, stream: bool) -> int:
    """The gateway's worst case for this exact body (relay: body bytes ÷ 4 + 1, max_tokens)."""
    raw = orjson.dumps(body(proto, TEXT, stream=stream, max_tokens=MAX_TOKENS))
    return estimate_micros(len(raw) // 4 + 1, MAX_TOKENS, cluster.catalogue.models[NATIVE_MODEL[proto]])


def usd(micros: int) -> str:
    return str(Decimal(micros) / 1_000_000)


def is_whole_stream(proto: str, resp: Resp) -> bool:
    frames = sse_frames(resp.raw)
    if proto == ANTHROPIC:
        return bool(frames) and frames[-1][0] == "message_stop"
    if proto == OPENAI:
        return bool(frames) and frames[-1][1] == b"[DONE]"
    last = orjson.loads(frames[-1][1])
    return "error" not in last and bool(last["candidates"][0].get("finishReason"))


async def fire(
    client: aiohttp.ClientSession, cluster: Cluster, proto: str, keys: list[Key]
) -> list[tuple[bool, Resp]]:
    """``REQUESTS`` requests at once, alternating processes, keys and streaming."""

    async def one(i: int) -> tuple[bool, Resp]:
        stream = i % 2 == 1
        # Key by i // 4, not i: with keys[i % n] each key was tied to one process and one stream
        # mode, so whichever process won the race spent the whole wallet with one or two keys.
        key = keys[(i // 4) % len(keys)]
        resp = await call(
            client, cluster.url(i // 2), proto, key.secret, text=TEXT, stream=stream, max_tokens=MAX_TOKENS
        )
        return stream, resp

    return await asyncio.gather(*(one(i) for i in range(REQUESTS)))


def split(proto: str, results: list[tuple[bool, Resp]], refusal: int) -> dict[str, tuple[bool, Resp]]:
    """The admitted requests by request id; every other one must have the refusal status."""
    admitted: dict[str, tuple[bool, Resp]] = {}
    for stream, resp in results:
        if resp.status == 200:
            assert not stream or is_whole_stream(proto, resp), resp
            admitted[resp.headers["x-request-id"]] = (stream, resp)
            continue
        assert resp.status == refusal, resp
    return admitted


def check_records(
    rows: list[dict[str, Any]], admitted: dict[str, tuple[bool, Resp]], estimates: dict[bool, int]
) -> tuple[int, int]:
    """One record per admitted request, none for the refused; returns (total cost, the part of
    it above the requests' own holds — the only way a limit can be passed besides the rule)."""
    assert {r["request_id"] for r in rows} == set(admitted), "2xx responses and usage records differ"
    excess = 0
    for r in rows:
        stream, _ = admitted[r["request_id"]]
        assert r["billing_rule"] == "completed" and r["status"] == 200
        assert r["is_stream"] is stream
        excess += max(0, r["cost_micros"] - estimates[stream])
    return sum(r["cost_micros"] for r in rows), excess


async def test_a_key_quota_is_never_overdrawn_by_two_processes(cluster: Cluster, client) -> None:
    estimates = {s: estimate(cluster, ANTHROPIC, s) for s in (False, True)}
    quota = 20 * max(estimates.values())
    key = await cluster.funded_key("10", quota_usd=usd(quota))
    before = await cluster.balance(key.wallet_id)
    results = await fire(client, cluster, ANTHROPIC, [key])
    admitted = split(ANTHROPIC, results, 402)
    for _, resp in results:
        if resp.status == 402:
            assert resp.json()["error"]["type"] == "billing_error", resp
            assert resp.json()["error"]["message"].startswith("quota_exceeded"), resp
    rows = await cluster.assert_books_balance(key.wallet_id, before)
    total, excess = check_records(rows, admitted, estimates)
    # The boundary rule: holds are worst cases, so the quota is passed only by charges above them.
    assert excess == 0
    assert total <= quota + excess, (total, quota)
    assert 15 <= len(admitted) < REQUESTS, len(admitted)
    assert await cluster.used(key.key_id) == total
    assert cluster.state is not None
    assert (await cluster.state.peek("k", key.key_id)).value == total
    await cluster.assert_nothing_held(key.wallet_id, [key.key_id], [key.user_id])


async def test_a_5h_window_is_passed_only_by_the_last_admitted_request(cluster: Cluster, client) -> None:
    estimates = {s: estimate(cluster, OPENAI, s) for s in (False, True)}
    cap = 20 * max(estimates.values())
    key = await cluster.funded_key("10", rate_limit_5h_usd=usd(cap))
    before = await cluster.balance(key.wallet_id)
    results = await fire(client, cluster, OPENAI, [key])
    admitted = split(OPENAI, results, 429)
    message = re.compile(r"rate_limit_5h exceeded: \d+\.\d\d / \d+\.\d\d used; resets at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC")
    for _, resp in results:
        if resp.status == 429:
            error = resp.json()["error"]
            assert (error["type"], error["code"]) == ("rate_limit_error", "rate_limit_exceeded"), resp
            assert message.match(error["message"]), resp
            assert int(resp.headers["retry-after"]) >= 1
            assert resp.headers["x-ratelimit-limit"] == micros_to_usd(cap), resp.headers
    rows = await cluster.assert_books_balance(key.wallet_id, before)
    total, excess = check_records(rows, admitted, estimates)
    # Spec §5.1: admitted while something is left, holds counted; so at most one hold beyond.
    assert total < cap + max(estimates.values()) + excess, (total, cap)
    assert 15 <= len(admitted) < REQUESTS, len(admitted)
    await cluster.assert_nothing_held(key.wallet_id, [key.key_id], [key.user_id])


async def test_an_org_wallet_shared_by_several_keys_is_never_overdrawn(cluster: Cluster, client) -> None:
    estimates = {s: estimate(cluster, GEMINI, s) for s in (False, True)}
    funds = 20 * max(estimates.values())
    wallet_id, keys = await cluster.org_keys(usd(funds), members=4)
    before = await cluster.balance(wallet_id)
    assert before == funds
    # Every process knows every key before the burst: otherwise the burst is ordered by whose key
    # loads first (one load per key is shared by all its requests), and that key can spend the
    # whole wallet before the others are loaded — a valid outcome, but not the contention tested.
    for i in range(len(cluster.procs)):
        for key in keys:
            async with client.get(cluster.url(i) + "/v1/models", headers={"authorization": f"Bearer {key.secret}"}) as r:
                assert r.status == 200
    results = await fire(client, cluster, GEMINI, keys)
    admitted = split(GEMINI, results, 402)
    for _, resp in results:
        if resp.status == 402:
            assert resp.json()["error"]["status"] == "RESOURCE_EXHAUSTED", resp
            assert "insufficient_balance" in resp.json()["error"]["message"], resp
        assert "x-org-quota-remaining-credits" in resp.headers, resp
    rows = await cluster.assert_books_balance(wallet_id, before)
    total, excess = check_records(rows, admitted, estimates)
    assert total <= funds + excess and await cluster.balance(wallet_id) >= -excess
    assert 15 <= len(admitted) < REQUESTS, len(admitted)
    assert len({r["api_key_id"] for r in rows}) >= 2, "several keys spent from the one org wallet"
    await cluster.assert_nothing_held(wallet_id, [k.key_id for k in keys], [k.user_id for k in keys])
