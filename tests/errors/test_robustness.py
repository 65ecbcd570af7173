"""Garbage never makes the gateway fail (no 5xx), and paths it does not serve are 404 in the
shape of the protocol family they belong to (docs/decisions.md "Unknown routes")."""

from __future__ import annotations

import random
from typing import Any

import aiohttp
import orjson
import pytest

from tests.errors.support import (
    GEMINI,
    NATIVE_MODEL,
    OPENAI,
    ROUTE_NOT_FOUND,
    Resp,
    assert_error,
    send,
)

MESSAGES = "/v1/messages"
CHAT = "/v1/chat/completions"
GENERATE = f"/v1beta/models/{NATIVE_MODEL[GEMINI]}:generateContent"
STREAM = f"/v1beta/models/{NATIVE_MODEL[GEMINI]}:streamGenerateContent?alt=sse"
ROUTES = (MESSAGES, CHAT, GENERATE, STREAM)


def _nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def _garbage(
    secret: str,
) -> list[tuple[str, bytes | aiohttp.FormData, list[tuple[str, str]], str | None, str]]:
    """40 (path, body, headers, content type, label) requests; deterministic."""
    rng = random.Random(20260724)
    a = [("x-api-key", secret)]
    out: list[tuple[str, Any, list[tuple[str, str]], str | None, str]] = []
    # 1-8: random bytes, on every route, twice.
    for i in range(8):
        out.append(
            (ROUTES[i % 4], rng.randbytes(rng.randint(1, 4096)), a, "application/json", "random bytes")
        )
    # 9-12: absurd nesting (beyond any JSON parser's depth limit), every route.
    for r in ROUTES:
        out.append((r, b"[" * 200_000, a, "application/json", "200k open brackets"))
    out.append((MESSAGES, _nested(5000), a, "application/json", "5000-deep object"))
    out.append(
        (
            CHAT,
            orjson.dumps(
                {
                    "model": NATIVE_MODEL[OPENAI],
                    "messages": [{"role": "user", "content": "x"}],
                    "metadata": None,
                }
            )[:-1]
            + b',"deep":'
            + _nested(3000)
            + b"}",
            a,
            "application/json",
            "valid body with a 3000-deep extra field",
        )
    )
    # 15-18: wrong content types.
    form = aiohttp.FormData()
    form.add_field("model", "claude-haiku-4-5")
    form.add_field("file", b"\x00\x01binary", filename="x.bin")
    out.append((MESSAGES, form, a, None, "multipart form"))
    out.append((CHAT, b"model=gpt&messages=hi", a, "application/x-www-form-urlencoded", "urlencoded form"))
    out.append((GENERATE, b"<xml><contents/></xml>", a, "application/xml", "xml"))
    out.append((STREAM, b"\x89PNG\r\n\x1a\n" + bytes(64), a, "image/png", "png bytes"))
    # 19-23: emoji everywhere.
    out.append(
        (MESSAGES, orjson.dumps({"🔥": "💥", "🤖": ["🧨"] * 100}), a, "application/json", "emoji keys")
    )
    out.append(
        (
            CHAT,
            orjson.dumps({"model": "🤖", "messages": [{"role": "👤", "content": "😀"}]}),
            a,
            "application/json",
            "emoji model and role",
        )
    )
    out.append(
        (
            "/v1beta/models/%F0%9F%A4%96:generateContent",
            orjson.dumps({"contents": [{"parts": [{"text": "😀"}]}]}),
            a,
            "application/json",
            "emoji model in the path",
        )
    )
    out.append(
        (
            MESSAGES,
            b"{}",
            [("x-api-key", "sk-byts-😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀")],
            "application/json",
            "emoji key",
        )
    )
    out.append((CHAT, b"{}", [("authorization", "Bearer 🔑🔑🔑")], "application/json", "emoji bearer"))
    # 24-27: null bodies.
    for r in ROUTES:
        out.append((r, b"null", a, "application/json", "null body"))
    # 28-32: numbers where strings belong.
    out.append(
        (
            MESSAGES,
            orjson.dumps({"model": 42, "max_tokens": 1, "messages": []}),
            a,
            "application/json",
            "model 42",
        )
    )
    out.append(
        (
            CHAT,
            b'{"model": 1e308, "messages": [{"role": "user", "content": "x"}]}',
            a,
            "application/json",
            "model 1e308",
        )
    )
    out.append((CHAT, b'{"model": -0.0, "messages": 7}', a, "application/json", "model -0.0"))
    out.append(
        (
            "/v1beta/models/12345:generateContent",
            orjson.dumps({"contents": [{"parts": [{"text": "x"}]}]}),
            a,
            "application/json",
            "numeric model in the path",
        )
    )
    out.append(
        (
            MESSAGES,
            b'{"model": "claude-haiku-4-5", "max_tokens": 99999999999999999999999, "messages": []}',
            a,
            "application/json",
            "max_tokens beyond 64 bits",
        )
    )
    # 33-40: odd but well-formed JSON and odd HTTP.
    out.append(
        (
            MESSAGES,
            orjson.dumps(
                {
                    "model": "claude-haiku-4-5",
                    "max_tokens": 2**62,
                    "messages": [{"role": "user", "content": "x"}],
                }
            ),
            a,
            "application/json",
            "max_tokens 2**62",
        )
    )
    out.append(
        (
            GENERATE,
            orjson.dumps(
                {"contents": [{"parts": [{"text": "x"}]}], "generationConfig": {"maxOutputTokens": 2**63 - 1}}
            ),
            a,
            "application/json",
            "maxOutputTokens int64 max",
        )
    )
    out.append(
        (CHAT, orjson.dumps({"model": None, "messages": None}), a, "application/json", "all null fields")
    )
    out.append(
        (GENERATE, orjson.dumps({"contents": [None, 1, "x"]}), a, "application/json", "contents of junk")
    )
    out.append((MESSAGES, b"\x00" * 1024, a, "application/json", "NUL bytes"))
    out.append(
        (CHAT, b'{"model": "' + b"m" * 100_000 + b'", "messages": []}', a, "text/plain", "100k model name")
    )
    out.append(
        (
            "/v1beta/models/" + "x" * 5000 + ":streamGenerateContent",
            b"{}",
            a,
            "application/json",
            "5000-char model in the path",
        )
    )
    out.append((GENERATE + "?key=%FF%FE&alt=%00", b"{}", [], "application/json", "junk query key"))
    return out


RESPONSES = "/v1/responses"
COUNT = "/v1/messages/count_tokens"
GEMINI_COUNT = f"/v1beta/models/{NATIVE_MODEL[GEMINI]}:countTokens"
MORE_ROUTES = (RESPONSES, COUNT, GEMINI_COUNT)


def _garbage_on_the_other_surfaces(
    secret: str,
) -> list[tuple[str, bytes | aiohttp.FormData, list[tuple[str, str]], str | None, str]]:
    """26 requests on OpenAI Responses and both token counts (deterministic)."""
    rng = random.Random(20261021)
    a = [("x-api-key", secret)]
    out: list[tuple[str, Any, list[tuple[str, str]], str | None, str]] = []
    for r in MORE_ROUTES:
        out += [
            (r, rng.randbytes(rng.randint(1, 4096)), a, "application/json", "random bytes"),
            (r, b"[" * 200_000, a, "application/json", "200k open brackets"),
            (r, b"null", a, "application/json", "null body"),
            (r, b"\x00" * 512, a, "application/json", "NUL bytes"),
            (r, _nested(5000), a, "application/json", "5000-deep object"),
            (r, b"<xml/>", a, "application/xml", "xml"),
        ]
    out += [
        (RESPONSES, b'{"model": 1e308, "input": "x"}', a, "application/json", "model 1e308"),
        (RESPONSES, orjson.dumps({"model": "gpt-5-4-nano", "input": [None, 1, "x"]}), a, "application/json", "input of junk"),
        (
            RESPONSES,
            b'{"model": "gpt-5-4-nano", "input": "x", "max_output_tokens": 99999999999999999999999}',
            a,
            "application/json",
            "max_output_tokens beyond 64 bits",
        ),
        (RESPONSES, orjson.dumps({"model": "gpt-5-4-nano", "input": "x", "tools": [None, 7]}), a, "application/json", "tools of junk"),
        (COUNT, orjson.dumps({"model": 42, "messages": []}), a, "application/json", "model 42"),
        (COUNT, orjson.dumps({"model": "claude-haiku-4-5", "messages": [{"role": "👤", "content": "😀"}]}), a, "application/json", "emoji role"),
        (GEMINI_COUNT, orjson.dumps({"generateContentRequest": [1, 2]}), a, "application/json", "wrapper of junk"),
        (GEMINI_COUNT, orjson.dumps({"generateContentRequest": {"contents": None}}), a, "application/json", "wrapped null contents"),
    ]
    return out


async def _refused_cleanly(acct: Any, requests: list[tuple[str, Any, list[tuple[str, str]], str | None, str]]) -> None:
    """No 5xx, a request id on every answer, a JSON error envelope on every refusal, nothing billed."""
    failures = []
    for path, data, headers, ctype, label in requests:
        resp = await send(acct.http, acct.base, "POST", path, data=data, headers=headers, content_type=ctype)
        if resp.status >= 500 or not resp.headers.get("x-request-id"):
            failures.append((label, path[:80], resp))
            continue
        # Every refusal is still a JSON envelope, never an HTML or plain-text error page.
        if resp.status >= 400:
            payload = resp.json()
            assert isinstance(payload, dict) and isinstance(payload.get("error"), dict), (label, resp)
    assert failures == [], failures
    # None is a billable success (each is refused before or at admission).
    assert await acct.gateway.usage_rows(acct.key.key_id) == []
    assert await acct.gateway.balance(acct.key.wallet_id) == acct.balance


async def test_forty_garbage_requests_never_produce_a_5xx(account) -> None:
    acct = await account()
    requests = _garbage(acct.secret)
    assert len(requests) == 40
    await _refused_cleanly(acct, requests)


async def test_garbage_on_responses_and_token_counts_never_produces_a_5xx(account) -> None:
    acct = await account()
    requests = _garbage_on_the_other_surfaces(acct.secret)
    assert len(requests) == 26
    await _refused_cleanly(acct, requests)


async def test_head_root_is_200(gateway, http) -> None:
    resp = await send(http, gateway.url, "HEAD", "/")
    assert resp.status == 200, resp
    assert resp.raw == b""


async def test_get_root_is_200(gateway, http) -> None:
    resp = await send(http, gateway.url, "GET", "/")
    assert resp.status == 200, resp


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/no/such/path"),
        ("POST", "/v1/no-such-endpoint"),
        ("GET", "/v1/chat/completions/extra"),
        ("DELETE", "/v2/messages"),
    ],
)
async def test_unknown_path_is_404_in_openai_shape(gateway, http, method: str, path: str) -> None:
    resp = await send(http, gateway.url, method, path)
    message = assert_error(OPENAI, resp, ROUTE_NOT_FOUND, param=None)
    assert path in message, message


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1beta/no-such-path"),
        ("POST", "/v1beta/models/gemini-2-5-flash:noSuchVerb"),
        ("POST", "/v1beta/models/gemini-2-5-flash"),
        ("GET", "/v1beta/models/gemini-2-5-flash:generateContent"),
    ],
)
async def test_unknown_path_under_v1beta_is_404_in_google_shape(
    gateway, http, method: str, path: str
) -> None:
    resp: Resp = await send(http, gateway.url, method, path)
    message = assert_error(GEMINI, resp, ROUTE_NOT_FOUND)
    assert path in message, message
