"""Upstream failures, whole and mid-stream, relayed in the caller's own shape and never billed
(spec §3.10, §4.3, §4.4; protocols.md §5.12; relay/upstream_errors.py and docs/decisions.md
for the documented status mapping: vendor 400/413 keep their status, 401/403/404 and other 5xx
→ 502, 503/529 → 503, 504 → 504, 429 → 429 with Retry-After)."""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest

from tests.errors.support import (
    ANTHROPIC,
    GEMINI,
    INVALID,
    OPENAI,
    OVERLOADED,
    PROTOCOLS,
    RATE_LIMITED,
    RESPONSES,
    TIMEOUT,
    TOO_LARGE,
    UPSTREAM_AUTH_FAILED,
    UPSTREAM_FAILED,
    Err,
    assert_error,
    assert_stream_error,
    body,
    call,
    send,
    sse_frames,
)
from tests.support.gateway import SIM_VENDOR_KEY

STATUS_CASES = [
    pytest.param(400, INVALID, id="400"),
    pytest.param(413, TOO_LARGE, id="413"),
    pytest.param(
        422,
        Err(422, "invalid_param", "invalid_request_error", "invalid_request_error", "INVALID_ARGUMENT"),
        id="422",
    ),
    pytest.param(429, RATE_LIMITED, id="429"),
    pytest.param(401, UPSTREAM_AUTH_FAILED, id="401"),
    pytest.param(403, UPSTREAM_AUTH_FAILED, id="403"),
    pytest.param(404, UPSTREAM_FAILED, id="404"),
    pytest.param(500, UPSTREAM_FAILED, id="500"),
    pytest.param(502, UPSTREAM_FAILED, id="502"),
    pytest.param(503, OVERLOADED, id="503"),
    pytest.param(529, OVERLOADED, id="529"),
    pytest.param(504, TIMEOUT, id="504"),
]


@pytest.mark.parametrize("proto", PROTOCOLS)
@pytest.mark.parametrize(("upstream", "err"), STATUS_CASES)
async def test_upstream_error_status_in_callers_shape(account, proto: str, upstream: int, err: Err) -> None:
    acct = await account()
    resp = await call(acct.http, acct.base, proto, acct.secret, text=f"Hi [[sim:error={upstream}]]")
    await _assert_vendor_status(acct, proto, resp, upstream, err)


async def _assert_vendor_status(acct, proto: str, resp, upstream: int, err: Err) -> None:  # type: ignore[no-untyped-def]
    message = assert_error(proto, resp, err, param=None)
    if upstream in (401, 403):
        # The caller's key is fine; the vendor refused the gateway's own credentials.
        assert "credentials" in message, message
    else:
        assert f"Simulated HTTP {upstream} error" in message, message
    if upstream in (429, 503):
        assert resp.headers.get("retry-after") == "1", resp.headers  # the simulator sends 1
    await acct.assert_not_billed(resp)


TRANSLATED_ROUTES = [
    pytest.param(caller, model, id=f"{caller}-over-{vendor}")
    for caller, pairs in {
        ANTHROPIC: (("openai", "gpt-5-4-nano"), ("gemini", "gemini-2-5-flash"), ("deepseek", "deepseek-v4-pro")),
        OPENAI: (("anthropic", "claude-haiku-4-5"), ("gemini", "gemini-2-5-flash")),
        GEMINI: (("anthropic", "claude-haiku-4-5"), ("openai", "gpt-5-4-nano")),
        RESPONSES: (("anthropic", "claude-haiku-4-5"), ("gemini", "gemini-2-5-flash"), ("deepseek", "deepseek-v4-pro")),
    }.items()
    for vendor, model in pairs
]
"""Each caller protocol over every vendor that speaks another protocol (OpenAI Chat on DeepSeek
and Responses on OpenAI keep the fast path, so they are not here)."""


@pytest.mark.parametrize(("proto", "model"), TRANSLATED_ROUTES)
@pytest.mark.parametrize(("upstream", "err"), STATUS_CASES)
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_upstream_error_status_on_a_translated_route(
    account, proto: str, model: str, upstream: int, err: Err, stream: bool
) -> None:
    """The same status mapping when the vendor speaks another protocol than the caller: the
    vendor's error envelope is read in its protocol and rendered in the caller's, before any
    stream (so a streaming caller gets a plain status too), never billed."""
    acct = await account()
    text = f"Hi [[sim:error={upstream}]]"
    resp = await call(acct.http, acct.base, proto, acct.secret, model=model, stream=stream, text=text)
    await _assert_vendor_status(acct, proto, resp, upstream, err)


@pytest.mark.parametrize(("proto", "model"), TRANSLATED_ROUTES)
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
async def test_error_object_in_a_200_on_a_translated_route(account, proto: str, model: str, stream: bool) -> None:
    acct = await account()
    resp = await call(
        acct.http, acct.base, proto, acct.secret, model=model, stream=stream, text="Hi [[sim:error_body=429]]"
    )
    assert_error(proto, resp, RATE_LIMITED, param=None, contains=["Simulated 429 error in a 200 body"])
    await acct.assert_not_billed(resp)


@pytest.mark.parametrize("proto", PROTOCOLS)
@pytest.mark.parametrize(
    ("vendor_status", "err"),
    [
        pytest.param(500, UPSTREAM_FAILED, id="500"),
        pytest.param(429, RATE_LIMITED, id="429"),
        pytest.param(400, INVALID, id="400"),
    ],
)
async def test_error_object_in_a_200_is_rewritten_to_an_error_status(
    account, proto: str, vendor_status: int, err: Err
) -> None:
    """Spec §4.3 #4: a 200 whose body is an error object becomes the proper 4xx/5xx, free."""
    acct = await account()
    resp = await call(acct.http, acct.base, proto, acct.secret, text=f"Hi [[sim:error_body={vendor_status}]]")
    assert_error(proto, resp, err, param=None, contains=[f"Simulated {vendor_status} error in a 200 body"])
    await acct.assert_not_billed(resp)


@pytest.mark.parametrize(
    ("proto", "vendor_status"),
    [
        pytest.param(ANTHROPIC, 529, id="anthropic-overloaded_error"),
        pytest.param(GEMINI, 503, id="gemini-UNAVAILABLE"),
    ],
)
async def test_overloaded_error_object_in_a_200_is_503(account, proto: str, vendor_status: int) -> None:
    """The rewrite follows the vendor's own type: Anthropic ``overloaded_error`` and Google
    ``UNAVAILABLE`` mean overloaded, so 503 (as a whole 503/529 would be)."""
    acct = await account()
    resp = await call(acct.http, acct.base, proto, acct.secret, text=f"Hi [[sim:error_body={vendor_status}]]")
    assert_error(
        proto, resp, OVERLOADED, param=None, contains=[f"Simulated {vendor_status} error in a 200 body"]
    )
    await acct.assert_not_billed(resp)


@pytest.mark.parametrize("proto", PROTOCOLS)
async def test_truncated_non_streamed_body_is_502(account, proto: str) -> None:
    """The vendor announces a Content-Length and breaks the connection half-way."""
    acct = await account()
    resp = await call(acct.http, acct.base, proto, acct.secret, text="Hi [[sim:drop_after=1]]")
    assert_error(proto, resp, UPSTREAM_FAILED, param=None)
    await acct.assert_not_billed(resp)


@pytest.mark.parametrize("proto", PROTOCOLS)
async def test_midstream_directive_without_stream_is_a_whole_502(account, proto: str) -> None:
    acct = await account()
    resp = await call(acct.http, acct.base, proto, acct.secret, text="Hi [[sim:midstream_error=2]]")
    assert_error(proto, resp, UPSTREAM_FAILED, param=None, contains=["Simulated failure while generating"])
    await acct.assert_not_billed(resp)


# --------------------------------------------------------------------------- streams
@pytest.mark.parametrize("proto", PROTOCOLS)
@pytest.mark.parametrize(
    ("upstream", "err"),
    [
        pytest.param(500, UPSTREAM_FAILED, id="500"),
        pytest.param(429, RATE_LIMITED, id="429"),
        pytest.param(400, INVALID, id="400"),
        pytest.param(529, OVERLOADED, id="529"),
    ],
)
async def test_stream_error_before_the_stream_is_a_plain_error_reply(
    account, proto: str, upstream: int, err: Err
) -> None:
    """An upstream that fails before its first byte: a normal status + JSON envelope, no SSE."""
    acct = await account()
    resp = await call(
        acct.http, acct.base, proto, acct.secret, stream=True, text=f"Hi [[sim:error={upstream}]]"
    )
    assert_error(proto, resp, err, param=None, contains=[f"Simulated HTTP {upstream} error"])
    await acct.assert_not_billed(resp)


@pytest.mark.parametrize("proto", PROTOCOLS)
async def test_stream_error_object_in_a_200_is_rewritten_to_an_error_status(account, proto: str) -> None:
    """Spec §4.3 #4 makes no exception for streams: the vendor answered a streaming request with
    HTTP 200 + ``Content-Type: application/json`` + an error object (no event stream at all).
    That is known before the gateway sends its own status line, so the caller must get the
    vendor's 429 in its envelope, not a 200 stream carrying a generic "ended early" frame."""
    acct = await account()
    resp = await call(acct.http, acct.base, proto, acct.secret, stream=True, text="Hi [[sim:error_body=429]]")
    await acct.assert_not_billed(resp)
    assert_error(proto, resp, RATE_LIMITED, param=None, contains=["Simulated 429 error in a 200 body"])


@pytest.mark.parametrize("proto", PROTOCOLS)
async def test_midstream_error_ends_with_the_protocols_error_frame(account, proto: str) -> None:
    """Two content deltas, then the vendor's in-band error: the caller sees the two deltas and
    exactly one error frame in its own protocol, and nothing is billed (spec §3.10)."""
    acct = await account()
    resp = await call(
        acct.http, acct.base, proto, acct.secret, stream=True, text="Hi [[sim:midstream_error=2]]"
    )
    # The simulator's Anthropic frame says overloaded_error, which keeps its meaning (see below).
    expected = OVERLOADED if proto == "anthropic" else UPSTREAM_FAILED
    message = assert_stream_error(proto, resp, expected, content_before=2)
    assert "Simulated mid-stream failure" in message, message
    await acct.assert_not_billed(resp)


async def test_midstream_error_keeps_the_vendors_type_on_anthropic(account, gateway, http) -> None:
    """Same protocol in and out: the vendor's in-band Anthropic error type must reach the caller
    unchanged (protocols.md §5.12 "map upstream status + type into the client's native
    envelope"; e.g. ``overloaded_error`` stays ``overloaded_error``, as a whole 529 already
    does). The vendor's frame is read straight from the simulator for the same request."""
    text = "Hi [[sim:midstream_error=1]]"
    direct = await send(
        http,
        gateway.sim_url,
        "POST",
        "/v1/messages",
        json=body(ANTHROPIC, text, stream=True),
        headers=[("x-api-key", SIM_VENDOR_KEY), ("anthropic-version", "2023-06-01")],
    )
    vendor_event, vendor_data = sse_frames(direct.raw)[-1]
    assert vendor_event == "error", direct
    vendor_type = orjson.loads(vendor_data)["error"]["type"]

    acct = await account()
    resp = await call(acct.http, acct.base, ANTHROPIC, acct.secret, stream=True, text=text)
    await acct.assert_not_billed(resp)
    event, data = sse_frames(resp.raw)[-1]
    assert event == "error", resp
    assert orjson.loads(data)["error"]["type"] == vendor_type, (data, vendor_type)


@pytest.mark.parametrize("proto", PROTOCOLS)
async def test_midstream_error_before_any_content(account, proto: str) -> None:
    acct = await account()
    resp = await call(
        acct.http, acct.base, proto, acct.secret, stream=True, text="Hi [[sim:midstream_error=0]]"
    )
    assert_stream_error(
        proto, resp, OVERLOADED if proto == "anthropic" else UPSTREAM_FAILED, content_before=0
    )
    await acct.assert_not_billed(resp)


@pytest.mark.parametrize("proto", PROTOCOLS)
@pytest.mark.parametrize("after", [0, 2])
async def test_dropped_connection_mid_stream_ends_with_an_error_frame(
    account, proto: str, after: int
) -> None:
    """The vendor's connection breaks after ``after`` content deltas: error frame, free."""
    acct = await account()
    resp = await call(
        acct.http, acct.base, proto, acct.secret, stream=True, text=f"Hi [[sim:drop_after={after}]]"
    )
    assert_stream_error(proto, resp, UPSTREAM_FAILED, content_before=after)
    await acct.assert_not_billed(resp)


async def test_hung_upstream_is_504_after_the_read_timeout(account) -> None:
    """The harness sets the upstream read timeout to 5 s. One hung request per protocol, run
    concurrently (one 5 s wait): whole (Anthropic, OpenAI) and streamed (Gemini, OpenAI), each
    a plain 504 envelope since the vendor never sent a status line."""
    cases = [(ANTHROPIC, False), (OPENAI, False), (OPENAI, True), (GEMINI, True)]
    accts = [await account() for _ in cases]
    started = time.monotonic()
    resps = await asyncio.gather(
        *(
            call(a.http, a.base, proto, a.secret, stream=stream, text="Hi [[sim:hang]]")
            for a, (proto, stream) in zip(accts, cases, strict=True)
        )
    )
    elapsed = time.monotonic() - started
    assert 4.5 <= elapsed < 20, elapsed
    for a, (proto, _), resp in zip(accts, cases, resps, strict=True):
        assert_error(proto, resp, TIMEOUT, param=None)
        await a.assert_not_billed(resp)
