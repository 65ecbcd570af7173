"""A bug after admission (an exception nobody turned into a reply) releases the hold and the
lease, bills nothing and answers 500 in the caller's own envelope (``Gateway.handle``); a bug
after settlement leaves a billed, delivered answer, never a 500 the caller would retry and pay
again (docs/billing.md). On both databases with the embedded in-process state (the in-process
gateway of this package)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa

from bytespike.state.hot import WALLET
from bytespike.storage.schema import usage_records
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


# ---------------------------------------------------------------- after settlement

CHAT = {"model": "gpt-5-4-nano", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 16}


async def _assert_billed_once(api: Api, me: Any, request_id: str) -> None:
    """One usage row for the request, and the wallet debited by exactly its cost."""
    async with api.engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(usage_records.c.request_id, usage_records.c.cost_micros).where(
                    usage_records.c.wallet_id == me.wallet_id
                )
            )
        ).all()
    assert [row.request_id for row in rows] == [request_id], rows
    wallet = await api.app.runtime.gateway.meter.state.peek(WALLET, me.wallet_id)
    assert (wallet.held, wallet.value) == (0, 5_000_000 - rows[0].cost_micros)
    assert rows[0].cost_micros > 0


async def test_a_failure_building_the_headers_of_a_billed_answer_still_answers_200(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The accounting headers are built after the usage record is committed: if they fail, the
    billed answer goes out without them instead of as a 500 the caller would retry and pay again."""
    me = await api.account(usd="5")
    meter = api.app.runtime.gateway.meter
    settled = []
    real_settle, real_view = meter.settle, meter.quota_view

    async def settle(*args: Any) -> None:
        await real_settle(*args)
        settled.append(True)

    def quota_view(principal: Any) -> Any:
        if settled:
            raise RuntimeError("a bug after settlement")
        return real_view(principal)

    monkeypatch.setattr(meter, "settle", settle)
    monkeypatch.setattr(meter, "quota_view", quota_view)
    r = await api.call("POST", "/v1/chat/completions", me.key, CHAT)
    assert r.status == 200, r
    assert r.json()["choices"][0]["message"]["content"]
    assert "x-quota-remaining-credits" not in r.headers  # what failed is left out
    await _assert_billed_once(api, me, r.headers["x-request-id"])


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_a_failure_in_the_meter_after_the_record_is_durable_bills_once_and_answers(
    api: Api, monkeypatch: pytest.MonkeyPatch, stream: bool
) -> None:
    """The meter's own bookkeeping after the commit (caching the new balance) failing leaves a
    billed, answered request: 200 with the whole answer, or a stream with its terminal frame."""
    me = await api.account(usd="5")
    meter = api.app.runtime.gateway.meter
    committed = []
    real_submit, real_remember = meter._writer.submit, meter._remember

    def submit(record: Any) -> Any:
        committed.append(record.request_id)
        return real_submit(record)

    def remember(view: Any) -> None:
        if committed:
            raise RuntimeError("a bug after the commit")
        real_remember(view)

    monkeypatch.setattr(meter._writer, "submit", submit)
    monkeypatch.setattr(meter, "_remember", remember)
    r = await api.call("POST", "/v1/chat/completions", me.key, {**CHAT, "stream": stream})
    assert r.status == 200, r
    if stream:
        assert r.raw.rstrip().endswith(b"data: [DONE]"), r
    else:
        assert r.json()["choices"][0]["message"]["content"]
    assert committed == [r.headers["x-request-id"]]
    monkeypatch.setattr(meter, "_remember", real_remember)
    await _assert_billed_once(api, me, r.headers["x-request-id"])
