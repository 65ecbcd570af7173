"""A bug after admission (an exception nobody turned into a reply) releases the hold and the
lease, bills nothing and answers 500 in the caller's own envelope (``Gateway.handle``), on both
databases with the embedded in-process state (the in-process gateway of this package)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bytespike.state.hot import WALLET
from tests.web_management.support import Api


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_an_exception_after_admission_is_free_and_releases_everything(
    api: Api, monkeypatch: pytest.MonkeyPatch, stream: bool
) -> None:
    me = await api.account(usd="5")
    gateway = api.app.runtime.gateway
    state = gateway.meter.state
    seen: dict[str, Any] = {}

    async def broken_upstream_call(*_args: Any, **_kwargs: Any) -> Any:
        seen["held"] = (await state.peek(WALLET, me.wallet_id)).held
        seen["leases"] = await state.leases(me.user_id)
        raise RuntimeError("a bug in the upstream client")

    monkeypatch.setattr(gateway.client, "post", broken_upstream_call)
    body = {"model": "gpt-5-4-nano", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 16, "stream": stream}
    r = await api.call("POST", "/v1/chat/completions", me.key, body)
    assert r.status == 500, r
    assert r.error["code"] == "internal_error" and "not billed" in r.error["message"]
    assert r.headers["x-request-id"] in r.error["message"]
    assert seen["held"] > 0 and len(seen["leases"]) == 1, "the hold and lease were placed before the bug"
    for _ in range(100):  # the release runs in the background
        wallet = await state.peek(WALLET, me.wallet_id)
        if wallet.held == 0:
            break
        await asyncio.sleep(0.01)
    assert (wallet.held, wallet.holds, wallet.value) == (0, (), 5_000_000)
    assert await state.leases(me.user_id) == ()
    usage = await api.call("GET", "/api/v1/usage", me.key)
    assert usage.json()["data"] == []
    assert r.headers["x-bytespike-quota-remaining-micros"] == "5000000"
