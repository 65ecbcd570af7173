"""Accounting headers from the shared state (spec §4.2, §5.1): X-RateLimit-* report the tightest
window of a capped key on every response, are absent for a key without window caps, and the
quota header moves by exactly each request's cost, across processes."""

from __future__ import annotations

import re
import time

from bytespike.money import micros_to_usd
from tests.billing.support import Cluster
from tests.errors.support import ANTHROPIC, GEMINI, OPENAI, call

DAY_S = 86_400


async def test_a_key_without_window_caps_gets_no_rate_limit_headers(cluster: Cluster, client) -> None:
    key = await cluster.funded_key("1")
    resp = await call(client, cluster.url(0), OPENAI, key.secret)
    assert resp.status == 200
    assert not {h for h in resp.headers if h.startswith("x-ratelimit-")}, resp.headers


async def test_rate_limit_headers_report_the_tightest_window(cluster: Cluster, client) -> None:
    key = await cluster.funded_key("5", rate_limit_5h_usd="3", rate_limit_1d_usd="2", rate_limit_7d_usd="4")
    first = await call(client, cluster.url(0), ANTHROPIC, key.secret)
    assert first.status == 200
    cost = (await cluster.usage_rows(key_id=key.key_id))[0]["cost_micros"]
    h = first.headers
    assert (h["x-ratelimit-limit"], h["x-ratelimit-remaining"]) == ("2.00", micros_to_usd(2_000_000 - cost))
    # Reset: the spend just made ages out of the 1 d window (5-minute buckets) a day from now.
    assert 0 <= int(h["x-ratelimit-reset"]) - (time.time() + DAY_S) <= 300 + 2
    # A failure shows the same window, unmoved; so does the other process.
    failed = await call(client, cluster.url(1), GEMINI, key.secret, text="Hi [[sim:error=500]]")
    assert failed.status == 502
    assert failed.headers["x-ratelimit-remaining"] == h["x-ratelimit-remaining"]
    assert failed.headers["x-ratelimit-reset"] == h["x-ratelimit-reset"]


async def test_the_window_429_names_the_window_and_when_it_resets(cluster: Cluster, client) -> None:
    """Spec §5.1: admitted while something is left, even if it overshoots; the next is a 429
    with the spec's message and ``Retry-After`` until the spend ages out."""
    key = await cluster.funded_key("5", rate_limit_5h_usd="0.000001")
    ok = await call(client, cluster.url(0), ANTHROPIC, key.secret)
    assert ok.status == 200
    refused = await call(client, cluster.url(1), ANTHROPIC, key.secret)
    assert refused.status == 429, refused
    error = refused.json()["error"]
    assert error["type"] == "rate_limit_error"
    m = re.fullmatch(
        r"rate_limit_5h exceeded: (\d+\.\d\d) / 0\.00 used; resets at (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC",
        error["message"],
    )
    assert m, error["message"]
    reset = int(refused.headers["x-ratelimit-reset"])
    assert time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(reset)) == m.group(2)
    assert 5 * 3600 - 5 <= int(refused.headers["retry-after"]) <= 5 * 3600 + 60
    assert refused.headers["x-ratelimit-remaining"] == "0.00"
    assert refused.headers["x-quota-remaining-credits"] == ok.headers["x-quota-remaining-credits"]
    assert len(await cluster.usage_rows(key_id=key.key_id)) == 1


async def test_the_quota_header_moves_by_exactly_the_cost_across_processes(cluster: Cluster, client) -> None:
    key = await cluster.funded_key("3", quota_usd="2")
    micros = "x-bytespike-quota-remaining-micros"
    r1 = await call(client, cluster.url(0), OPENAI, key.secret)
    r2 = await call(client, cluster.url(1), GEMINI, key.secret)
    # Streams send headers before the charge: they show r2's after-value, not their own cost.
    r3 = await call(client, cluster.url(0), ANTHROPIC, key.secret, stream=True)
    r4 = await call(client, cluster.url(1), OPENAI, key.secret)
    c1, c2, c3, c4 = (r["cost_micros"] for r in await cluster.usage_rows(key_id=key.key_id))
    assert int(r1.headers[micros]) == 2_000_000 - c1
    assert int(r2.headers[micros]) == 2_000_000 - c1 - c2
    assert int(r3.headers[micros]) == 2_000_000 - c1 - c2
    assert int(r4.headers[micros]) == 2_000_000 - c1 - c2 - c3 - c4
