"""Users can check the self-reported overhead: every X-ByteSpike-Overhead-Ms value a response
carried is counted in the ``bytespike_overhead_ms`` histogram at ``GET /metrics`` (issue 6 #6)."""

from __future__ import annotations

import aiohttp

BODY = {"model": "gpt-5-4", "messages": [{"role": "user", "content": "hi"}]}


async def _histogram(session: aiohttp.ClientSession, base: str) -> dict[str, float]:
    async with session.get(base + "/metrics") as resp:
        assert resp.status == 200
        text = await resp.text()
    out = {}
    for line in text.splitlines():
        if line.startswith('bytespike_overhead_ms_') and 'protocol="openai_chat"' in line:
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


async def test_each_reported_overhead_lands_in_the_histogram(gateway) -> None:
    key = await gateway.funded_key()
    async with aiohttp.ClientSession() as session:
        before = await _histogram(session, gateway.url)
        reported = []
        for secret in (key.secret, key.secret, "sk-byts-" + "x" * 43):  # two successes, one 401
            async with session.post(
                gateway.url + "/v1/chat/completions", json=BODY, headers={"authorization": f"Bearer {secret}"}
            ) as resp:
                await resp.read()
                reported.append(float(resp.headers["x-bytespike-overhead-ms"]))
        after = await _histogram(session, gateway.url)
    count = 'bytespike_overhead_ms_count{protocol="openai_chat"}'
    total = 'bytespike_overhead_ms_sum{protocol="openai_chat"}'
    assert after[count] - before.get(count, 0) == 3
    assert abs((after[total] - before.get(total, 0)) - sum(reported)) < 0.01
    inf = 'bytespike_overhead_ms_bucket{protocol="openai_chat",le="+Inf"}'
    assert after[inf] == after[count]
