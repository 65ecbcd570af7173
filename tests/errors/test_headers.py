"""The gateway's own headers on every response, success or failure, whole or streamed (issue 2
#11): ``x-request-id``, ``X-ByteSpike-Overhead-Ms`` and, whenever the key was resolved,
``X-Quota-Remaining-Credits`` — unknown routes included."""

from __future__ import annotations

import re

import pytest

from tests.errors.support import (
    ANTHROPIC_COUNT,
    BILLED_SURFACES,
    GEMINI,
    GEMINI_COUNT,
    INVALID,
    OPENAI,
    QUOTA_HEADER,
    ROUTE_NOT_FOUND,
    SURFACES,
    Resp,
    assert_error,
    assert_overhead,
    auth,
    call,
    route,
    send,
)


def _gateway_headers(resp: Resp, quota: str | None) -> None:
    assert resp.headers.get("x-request-id", "").startswith("req_"), resp
    assert_overhead(resp)
    assert resp.headers.get(QUOTA_HEADER) == quota, (resp.headers.get(QUOTA_HEADER), quota, resp)


@pytest.mark.parametrize("proto", SURFACES)
async def test_a_success_carries_the_headers(account, proto: str) -> None:
    acct = await account()
    resp = await call(acct.http, acct.base, proto, acct.secret, max_tokens=16)
    assert resp.status == 200, resp
    # Token counts are free, so their header shows the balance unchanged; an answer's shows it
    # after the debit, in USD with two decimals.
    quota = acct.quota if proto in (ANTHROPIC_COUNT, GEMINI_COUNT) else resp.headers.get(QUOTA_HEADER, "")
    assert re.fullmatch(r"\d+\.\d{2}", quota), (quota, resp)
    _gateway_headers(resp, quota)


@pytest.mark.parametrize("proto", BILLED_SURFACES)
async def test_a_stream_carries_the_headers(account, proto: str) -> None:
    acct = await account()
    resp = await call(acct.http, acct.base, proto, acct.secret, max_tokens=16, stream=True)
    assert resp.status == 200 and resp.headers["content-type"].startswith("text/event-stream"), resp
    # A stream's headers go out before it is billed: the quota is the one before the request.
    _gateway_headers(resp, acct.quota)


@pytest.mark.parametrize("proto", BILLED_SURFACES)
async def test_a_failed_stream_carries_the_headers(account, proto: str) -> None:
    acct = await account()
    resp = await call(
        acct.http, acct.base, proto, acct.secret, stream=True, text="Hi [[sim:midstream_error=1]]"
    )
    assert resp.status == 200, resp
    _gateway_headers(resp, acct.quota)
    await acct.assert_not_billed(resp)


@pytest.mark.parametrize("proto", SURFACES)
async def test_refusals_carry_the_headers(account, proto: str) -> None:
    acct = await account()
    # Without a key: no account to report, but still the request id and the overhead.
    anonymous = await call(acct.http, acct.base, proto, None)
    assert anonymous.status == 401, anonymous
    _gateway_headers(anonymous, None)
    # With a key: a refused body reports the key's quota too.
    broken = await send(
        acct.http, acct.base, "POST", route(proto), data=b"{", headers=auth(proto, acct.secret)
    )
    assert_error(proto, broken, INVALID, contains=["not valid JSON"])
    _gateway_headers(broken, acct.quota)
    await acct.assert_not_billed(broken)


@pytest.mark.parametrize(
    ("path", "family", "credential"),
    [
        ("/v1/nothing", OPENAI, "bearer"),
        ("/v1/chat/completions/extra", OPENAI, "x-api-key"),
        ("/v1beta/no-such-path", GEMINI, "x-goog-api-key"),
        ("/v1beta/models/gemini-2-5-flash:noSuchVerb", GEMINI, "query"),
    ],
)
async def test_an_unknown_route_with_a_valid_key_reports_the_keys_quota(
    account, path: str, family: str, credential: str
) -> None:
    acct = await account()
    headers, full = [], path
    if credential == "bearer":
        headers = [("authorization", f"Bearer {acct.secret}")]
    elif credential == "query":
        full = f"{path}?key={acct.secret}"
    else:
        headers = [(credential, acct.secret)]
    resp = await send(acct.http, acct.base, "GET" if "/v1beta" not in path else "POST", full, headers=headers)
    assert_error(family, resp, ROUTE_NOT_FOUND)
    _gateway_headers(resp, acct.quota)
    await acct.assert_not_billed(resp)


@pytest.mark.parametrize(
    "headers",
    [
        [],
        [("authorization", "Bearer sk-byts-" + "Q" * 43)],
        [("authorization", "Basic nope")],
        [("x-api-key", "a"), ("x-api-key", "b")],
    ],
    ids=["no-key", "unknown-key", "bad-scheme", "conflicting"],
)
async def test_an_unknown_route_without_a_valid_key_is_still_a_plain_404(gateway, http, headers) -> None:
    resp = await send(http, gateway.url, "GET", "/v1/nothing", headers=headers)
    assert_error(OPENAI, resp, ROUTE_NOT_FOUND)
    _gateway_headers(resp, None)
