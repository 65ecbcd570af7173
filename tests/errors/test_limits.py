"""402 (wallet and quota) on every billed surface and 403 (routing group and address lists) on
every surface, token counts included (spec §2.3, §4.3, §6.3, §9 #3). Token counts are free: an
empty wallet still gets its count."""

from __future__ import annotations

import asyncio

import pytest

from tests.errors.support import (
    ANTHROPIC,
    ANTHROPIC_COUNT,
    BILLED_SURFACES,
    GEMINI,
    GEMINI_COUNT,
    INSUFFICIENT_BALANCE,
    IP_DENIED,
    MODEL_NOT_IN_GROUP,
    NATIVE_MODEL,
    OPENAI,
    QUOTA_EXCEEDED,
    RESPONSES,
    SURFACES,
    assert_error,
    assert_overhead,
    call,
)

WORST_CASE_MAX_TOKENS = {ANTHROPIC: 8192, OPENAI: 16384, GEMINI: 10000, RESPONSES: 16384}
"""Within each model's max_output_tokens; at the catalogue's output price each worst case is
above $0.005 (haiku 8192 × $5/M = $0.041, nano 16384 × $0.40/M = $0.0066, 2.5-flash
10000 × $2.50/M = $0.025), while 16 tokens cost a few hundred micro-USD at most."""


@pytest.mark.parametrize("proto", BILLED_SURFACES)
async def test_empty_wallet_is_402_insufficient_balance(account, proto: str) -> None:
    acct = await account(usd="0")
    assert acct.quota == "0.00"
    resp = await call(acct.http, acct.base, proto, acct.secret)
    assert_error(proto, resp, INSUFFICIENT_BALANCE, param=None, contains=["insufficient_balance"])
    await acct.assert_not_billed(resp)


@pytest.mark.parametrize("proto", BILLED_SURFACES)
async def test_wallet_below_the_worst_case_estimate_is_402(account, proto: str) -> None:
    """The pre-flight hold is max_tokens × price (spec §4.3): a wallet that could pay for the
    tokens actually produced is still refused when it cannot cover the worst case."""
    acct = await account(usd="0.005")
    resp = await call(acct.http, acct.base, proto, acct.secret, max_tokens=WORST_CASE_MAX_TOKENS[proto])
    assert_error(proto, resp, INSUFFICIENT_BALANCE, param=None, contains=["insufficient_balance"])
    await acct.assert_not_billed(resp)
    # Control: the same wallet covers a small worst case, so the 402 was about the estimate.
    ok = await call(acct.http, acct.base, proto, acct.secret, max_tokens=16)
    assert ok.status == 200, ok


@pytest.mark.parametrize("proto", [ANTHROPIC_COUNT, GEMINI_COUNT])
@pytest.mark.parametrize("spec", [{"usd": "0"}, {"usd": "10", "quota_usd": "0.000001"}], ids=["empty-wallet", "spent-quota"])
async def test_token_counts_are_free_even_for_an_empty_wallet(account, proto: str, spec: dict) -> None:
    """Counting is never billed (spec §3: count_tokens is free), so the balance and the quota do
    not gate it: the count comes back, with the accounting headers, and nothing moves."""
    acct = await account(**spec)
    resp = await call(acct.http, acct.base, proto, acct.secret)
    assert resp.status == 200, resp
    assert resp.json()["totalTokens" if proto == GEMINI_COUNT else "input_tokens"] > 0, resp
    assert resp.headers.get("x-request-id"), resp
    assert_overhead(resp)
    await acct.assert_not_billed(resp)


@pytest.mark.parametrize("proto", BILLED_SURFACES)
async def test_tiny_quota_is_402_quota_exceeded(account, proto: str) -> None:
    acct = await account(usd="10", quota_usd="0.000001")
    assert (acct.quota, acct.quota_micros) == ("0.00", "1")  # min(wallet, quota left), spec §4.2
    resp = await call(acct.http, acct.base, proto, acct.secret, max_tokens=16)
    assert_error(proto, resp, QUOTA_EXCEEDED, param=None, contains=["quota_exceeded"])
    await acct.assert_not_billed(resp)


@pytest.mark.parametrize("proto", SURFACES)
async def test_model_outside_the_group_is_403_model_not_in_group(account, proto: str) -> None:
    """Spec §9 #3: a gemini-default key calling Claude → 403 ``model_not_in_group``
    (Google shape: 403 ``PERMISSION_DENIED``), on every surface."""
    acct = await account(group="gemini-default")
    resp = await call(acct.http, acct.base, proto, acct.secret, model="claude-haiku-4-5")
    assert_error(proto, resp, MODEL_NOT_IN_GROUP, param="model", contains=["claude-haiku-4-5"])
    await acct.assert_not_billed(resp)


@pytest.mark.parametrize("proto", [ANTHROPIC, OPENAI, RESPONSES, ANTHROPIC_COUNT])
async def test_native_model_outside_a_claude_group(account, proto: str) -> None:
    """The group check is not about protocols: gpt through a claude-default key is also 403."""
    acct = await account(group="claude-default")
    model = NATIVE_MODEL[OPENAI]
    resp = await call(acct.http, acct.base, proto, acct.secret, model=model)
    assert_error(proto, resp, MODEL_NOT_IN_GROUP, param="model", contains=[model])
    await acct.assert_not_billed(resp)


@pytest.mark.parametrize("proto", [GEMINI, GEMINI_COUNT])
async def test_gemini_model_outside_a_claude_group_on_gemini_surface(account, proto: str) -> None:
    acct = await account(group="claude-default")
    resp = await call(acct.http, acct.base, proto, acct.secret)
    assert_error(proto, resp, MODEL_NOT_IN_GROUP, contains=[NATIVE_MODEL[GEMINI]])
    await acct.assert_not_billed(resp)


IP_CASES = [
    pytest.param({"ip_whitelist": ["10.0.0.0/8"]}, id="outside-whitelist"),
    pytest.param({"ip_blacklist": ["127.0.0.0/8"]}, id="inside-blacklist"),
    pytest.param({"ip_whitelist": ["10.0.0.0/8", "2001:db8::/32", "fd00::/8"]}, id="outside-ipv6-whitelist"),
    pytest.param({"ip_blacklist": ["2001:db8::/32", "127.0.0.1/32"]}, id="ipv6-and-ipv4-blacklist"),
    pytest.param({"ip_whitelist": ["127.0.0.0/8"], "ip_blacklist": ["127.0.0.1"]}, id="deny-beats-allow"),
]


@pytest.mark.parametrize("proto", SURFACES)
@pytest.mark.parametrize("lists", IP_CASES)
async def test_address_lists_refuse_the_client_with_403(account, proto: str, lists: dict) -> None:
    """The client is 127.0.0.1 (spec §2.3: 403 ``permission_denied``; deny beats allow)."""
    acct = await account(**lists)
    resp = await call(acct.http, acct.base, proto, acct.secret)
    assert_error(proto, resp, IP_DENIED, param=None, contains=["127.0.0.1"])
    await acct.assert_not_billed(resp)


@pytest.mark.parametrize("proto", SURFACES)
async def test_ipv6_cidrs_are_accepted_and_do_not_block_an_ipv4_client(account, proto: str) -> None:
    """IPv6 CIDRs are valid list entries; an IPv6 deny entry does not refuse 127.0.0.1 and an
    allow list naming both families admits it (control for the 403s above)."""
    acct = await account(ip_whitelist=["fd00::/8", "127.0.0.0/8"], ip_blacklist=["::1/128", "2001:db8::/32"])
    resp = await call(acct.http, acct.base, proto, acct.secret, max_tokens=16)
    assert resp.status == 200, resp


async def test_a_pending_hold_makes_a_concurrent_request_402(account, gateway) -> None:
    """Spec §4.3: the hold counts against what is available. With $0.05 and a slow request
    holding haiku's worst case ($0.041), a concurrent one cannot be covered: 402, free, and the
    header does not move (holds are not subtracted, docs/billing.md); only the slow one bills."""
    acct = await account(usd="0.05")
    slow = asyncio.create_task(
        call(acct.http, acct.base, ANTHROPIC, acct.secret, max_tokens=8192, text="Hi [[sim:latency_ms=800]]")
    )
    await asyncio.sleep(0.3)  # the slow request is admitted and waiting on the vendor
    refused = await call(acct.http, acct.base, ANTHROPIC, acct.secret, max_tokens=8192)
    assert not slow.done(), "the slow request finished before the concurrent one was judged"
    assert_error(ANTHROPIC, refused, INSUFFICIENT_BALANCE, contains=["insufficient_balance"])
    assert refused.headers.get("x-quota-remaining-credits") == acct.quota == "0.05"
    ok = await slow
    assert ok.status == 200, ok
    rows = await gateway.usage_rows(acct.key.key_id)
    assert len(rows) == 1, rows
    assert await gateway.balance(acct.key.wallet_id) == acct.balance - rows[0]["cost_micros"]
