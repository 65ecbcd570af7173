"""400 for bodies the gateway cannot accept, 400/404 for model names (spec §9 #4), and 413 for
bodies over the 32 MiB limit (spec §3.0, §6.3), on every surface: the three protocols, OpenAI
Responses and both token counts."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from yarl import URL

from tests.errors.support import (
    ANTHROPIC,
    ANTHROPIC_COUNT,
    ENVELOPE,
    GEMINI,
    GEMINI_COUNT,
    INVALID,
    OPENAI,
    RESPONSES,
    RETIRED_MODEL,
    SURFACES,
    TOO_LARGE,
    UNKNOWN_MODEL,
    Resp,
    assert_error,
    auth,
    body,
    call,
    route,
    send,
)

LIMIT = 32 << 20


# --------------------------------------------------------------------------- not JSON / not an object
def _valid(proto: str) -> bytes:
    return orjson.dumps(body(proto))


SYNTAX_CASES = [
    pytest.param(lambda proto: b'{"model": "x", "messages": [', id="malformed"),
    pytest.param(lambda proto: _valid(proto)[: len(_valid(proto)) // 2], id="truncated"),
    pytest.param(lambda proto: _valid(proto).replace(b"Say hello.", b"Say \xff\xfe hello."), id="non-utf8"),
    pytest.param(lambda proto: b"\xef\xbb\xbf\xc3\x28" + _valid(proto), id="bom-and-bad-utf8"),
    pytest.param(lambda proto: b"", id="empty"),
    pytest.param(lambda proto: b"{'model': 'single-quoted'}", id="single-quotes"),
    pytest.param(lambda proto: b'{"model": "x",}', id="trailing-comma"),
    pytest.param(lambda proto: _valid(proto) + b"}", id="trailing-garbage"),
]


@pytest.mark.parametrize("proto", SURFACES)
@pytest.mark.parametrize("build", SYNTAX_CASES)
async def test_body_that_is_not_json_is_400(account, proto: str, build: Callable[[str], bytes]) -> None:
    acct = await account()
    payload = build(proto)
    resp = await send(
        acct.http, acct.base, "POST", route(proto), data=payload, headers=auth(proto, acct.secret)
    )
    assert_error(proto, resp, INVALID, param=None, contains=["not valid JSON"])
    await acct.assert_not_billed(resp)


@pytest.mark.parametrize("proto", SURFACES)
@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b"[]", id="empty-array"),
        pytest.param(None, id="array-of-valid-body"),
        pytest.param(b"null", id="null"),
        pytest.param(b'"a string"', id="string"),
        pytest.param(b"42", id="number"),
        pytest.param(b"true", id="boolean"),
    ],
)
async def test_json_that_is_not_an_object_is_400(account, proto: str, payload: bytes | None) -> None:
    acct = await account()
    data = orjson.dumps([body(proto)]) if payload is None else payload
    resp = await send(acct.http, acct.base, "POST", route(proto), data=data, headers=auth(proto, acct.secret))
    assert_error(proto, resp, INVALID, param=None, contains=["must be a JSON object"])
    await acct.assert_not_billed(resp)


# --------------------------------------------------------------------------- fields
Mutation = Callable[[dict[str, Any]], None]


def _drop(name: str) -> Mutation:
    return lambda b: b.pop(name)


def _set(path: tuple, value: Any) -> Mutation:
    def apply(b: dict[str, Any]) -> None:
        target: Any = b
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return apply


def _del(path: tuple) -> Mutation:
    def apply(b: dict[str, Any]) -> None:
        target: Any = b
        for step in path[:-1]:
            target = target[step]
        del target[path[-1]]

    return apply


FIELD_CASES: list[Any] = [
    # Anthropic Messages: paths use Anthropic's own dotted style (messages.0.content).
    pytest.param(ANTHROPIC, _drop("model"), "model", id="anthropic-missing-model"),
    pytest.param(ANTHROPIC, _drop("messages"), "messages", id="anthropic-missing-messages"),
    pytest.param(ANTHROPIC, _drop("max_tokens"), "max_tokens", id="anthropic-missing-max_tokens"),
    pytest.param(ANTHROPIC, _set(("model",), 42), "model", id="anthropic-model-number"),
    pytest.param(ANTHROPIC, _set(("max_tokens",), "100"), "max_tokens", id="anthropic-max_tokens-string"),
    pytest.param(ANTHROPIC, _set(("max_tokens",), -1), "max_tokens", id="anthropic-max_tokens-negative"),
    pytest.param(ANTHROPIC, _set(("messages",), "hi"), "messages", id="anthropic-messages-string"),
    pytest.param(ANTHROPIC, _set(("messages", 0), "hi"), "messages.0", id="anthropic-message-not-object"),
    pytest.param(
        ANTHROPIC, _set(("messages", 0, "content"), 42), "messages.0.content", id="anthropic-content-number"
    ),
    pytest.param(
        ANTHROPIC, _set(("messages", 0, "role"), "robot"), "messages.0.role", id="anthropic-bad-role"
    ),
    pytest.param(
        ANTHROPIC,
        _set(("messages", 0, "content"), [{"text": "no type"}]),
        "messages.0.content.0",
        id="anthropic-block-without-type",
    ),
    pytest.param(ANTHROPIC, _set(("stream",), "yes"), "stream", id="anthropic-stream-string"),
    pytest.param(ANTHROPIC, _set(("temperature",), "hot"), "temperature", id="anthropic-temperature-string"),
    # OpenAI Chat: paths in OpenAI's bracket style, and the `param` field carries them.
    pytest.param(OPENAI, _drop("model"), "model", id="openai-missing-model"),
    pytest.param(OPENAI, _drop("messages"), "messages", id="openai-missing-messages"),
    pytest.param(OPENAI, _set(("messages",), []), "messages", id="openai-messages-empty"),
    pytest.param(OPENAI, _set(("model",), 42), "model", id="openai-model-number"),
    pytest.param(OPENAI, _set(("max_tokens",), "100"), "max_tokens", id="openai-max_tokens-string"),
    pytest.param(OPENAI, _set(("messages", 0), 7), "messages[0]", id="openai-message-not-object"),
    pytest.param(
        OPENAI, _set(("messages", 0, "content"), 42), "messages[0].content", id="openai-content-number"
    ),
    pytest.param(OPENAI, _set(("messages", 0, "role"), "robot"), "messages[0].role", id="openai-bad-role"),
    pytest.param(OPENAI, _set(("stream",), 1), "stream", id="openai-stream-number"),
    pytest.param(OPENAI, _set(("temperature",), "hot"), "temperature", id="openai-temperature-string"),
    pytest.param(OPENAI, _set(("tools",), {"a": 1}), "tools", id="openai-tools-object"),
    # Gemini: the model is in the path, so the required body field is `contents`.
    pytest.param(GEMINI, _drop("contents"), "contents", id="gemini-missing-contents"),
    pytest.param(GEMINI, _set(("contents",), []), "contents", id="gemini-contents-empty"),
    pytest.param(GEMINI, _set(("contents",), "hi"), "contents", id="gemini-contents-string"),
    pytest.param(GEMINI, _set(("contents", 0), "hi"), "contents[0]", id="gemini-content-not-object"),
    pytest.param(GEMINI, _del(("contents", 0, "parts")), "contents[0].parts", id="gemini-missing-parts"),
    pytest.param(
        GEMINI, _set(("contents", 0, "parts", 0), 5), "contents[0].parts[0]", id="gemini-part-number"
    ),
    pytest.param(GEMINI, _set(("contents", 0, "role"), "robot"), "contents[0].role", id="gemini-bad-role"),
    pytest.param(
        GEMINI,
        _set(("generationConfig", "maxOutputTokens"), "many"),
        "generationConfig.maxOutputTokens",
        id="gemini-maxOutputTokens-string",
    ),
    pytest.param(
        GEMINI, _set(("generationConfig",), []), "generationConfig", id="gemini-generationConfig-array"
    ),
    # OpenAI Responses: OpenAI's envelope, paths in its bracket style.
    pytest.param(RESPONSES, _drop("model"), "model", id="responses-missing-model"),
    pytest.param(RESPONSES, _set(("model",), 42), "model", id="responses-model-number"),
    pytest.param(RESPONSES, _set(("input",), 42), "input", id="responses-input-number"),
    pytest.param(RESPONSES, _set(("input",), [7]), "input[0]", id="responses-item-not-object"),
    pytest.param(
        RESPONSES, _set(("max_output_tokens",), "100"), "max_output_tokens", id="responses-max-string"
    ),
    pytest.param(RESPONSES, _set(("stream",), "yes"), "stream", id="responses-stream-string"),
    pytest.param(RESPONSES, _set(("temperature",), "hot"), "temperature", id="responses-temperature-string"),
    pytest.param(RESPONSES, _set(("tools",), {"a": 1}), "tools", id="responses-tools-object"),
    pytest.param(RESPONSES, _set(("reasoning",), "high"), "reasoning", id="responses-reasoning-string"),
    # Token counts: the same shape rules as the inference bodies they count.
    pytest.param(ANTHROPIC_COUNT, _drop("model"), "model", id="anthropic-count-missing-model"),
    pytest.param(ANTHROPIC_COUNT, _drop("messages"), "messages", id="anthropic-count-missing-messages"),
    pytest.param(
        ANTHROPIC_COUNT, _set(("messages", 0, "role"), "robot"), "messages.0.role", id="anthropic-count-bad-role"
    ),
    pytest.param(GEMINI_COUNT, _drop("contents"), "contents", id="gemini-count-missing-contents"),
    pytest.param(GEMINI_COUNT, _set(("contents", 0), "hi"), "contents[0]", id="gemini-count-content-string"),
]


@pytest.mark.parametrize(("proto", "mutate", "path"), FIELD_CASES)
async def test_missing_or_mistyped_field_is_400_naming_the_field(
    account, proto: str, mutate: Mutation, path: str
) -> None:
    acct = await account()
    b = copy.deepcopy(body(proto))
    mutate(b)
    resp = await send(acct.http, acct.base, "POST", route(proto), json=b, headers=auth(proto, acct.secret))
    # OpenAI carries the path in `param`; every protocol names it in the message.
    assert_error(proto, resp, INVALID, param=path, contains=[path])
    await acct.assert_not_billed(resp)


async def test_gemini_empty_model_in_path_is_400_naming_model(account) -> None:
    acct = await account()
    resp = await send(
        acct.http,
        acct.base,
        "POST",
        route(GEMINI, model=""),
        json=body(GEMINI),
        headers=auth(GEMINI, acct.secret),
    )
    assert_error(GEMINI, resp, INVALID, contains=["model"])
    await acct.assert_not_billed(resp)


# --------------------------------------------------------------------------- models
@pytest.mark.parametrize("proto", SURFACES)
@pytest.mark.parametrize("model", ["no-such-model-xyz", "claude-haiku-4-5-nonexistent", "GPT-5-4-NANO"])
async def test_unknown_model(account, proto: str, model: str) -> None:
    """Spec §9 #4: 400 ``model_not_found`` (Anthropic type ``not_found_error``); Gemini 404
    ``NOT_FOUND``. Resolution comes before the group check, so the group does not matter."""
    acct = await account(group="gemini-default")
    resp = await call(acct.http, acct.base, proto, acct.secret, model=model)
    assert_error(proto, resp, UNKNOWN_MODEL, param="model", contains=[model])
    await acct.assert_not_billed(resp)


@pytest.mark.parametrize("proto", SURFACES)
@pytest.mark.parametrize("model", ["deepseek-coder", "deepseek-v2", "deepseek-v2.5"])
async def test_retired_deepseek_name_is_404_with_a_hint(account, proto: str, model: str) -> None:
    """Spec §6.3 / §9 #4: retired DeepSeek names are 404 "with a hint pointing at the V4 line"."""
    acct = await account()
    resp = await call(acct.http, acct.base, proto, acct.secret, model=model)
    message = assert_error(proto, resp, RETIRED_MODEL, param="model", contains=["retired"])
    assert "deepseek-v4-pro" in message or "deepseek-v4-flash" in message, message
    await acct.assert_not_billed(resp)


# --------------------------------------------------------------------------- 413
def _oversized(proto: str) -> bytes:
    """A syntactically valid body of 33 MiB (the limit is 32 MiB)."""
    b = body(proto)
    pad = "a" * ((33 << 20) - 200)
    if ENVELOPE[proto] == GEMINI:
        b["contents"][0]["parts"][0]["text"] = pad
    elif proto == RESPONSES:
        b["input"] = pad
    else:
        b["messages"][0]["content"] = pad
    raw = orjson.dumps(b)
    assert len(raw) > LIMIT
    return raw


@pytest.mark.parametrize("proto", SURFACES)
async def test_body_over_the_limit_is_413(account, proto: str) -> None:
    acct = await account()
    resp = await send(
        acct.http, acct.base, "POST", route(proto), data=_oversized(proto), headers=auth(proto, acct.secret)
    )
    assert_error(proto, resp, TOO_LARGE, param=None, contains=[str(LIMIT)])
    await acct.assert_not_billed(resp)


@pytest.mark.parametrize("proto", SURFACES)
async def test_chunked_body_over_the_limit_is_413(account, proto: str) -> None:
    """No Content-Length at all: the limit is enforced while reading."""
    acct = await account()
    payload = _oversized(proto)

    async def chunks():  # type: ignore[no-untyped-def]
        for i in range(0, len(payload), 1 << 20):
            yield payload[i : i + (1 << 20)]

    async with acct.http.post(
        URL(acct.base + route(proto), encoded=True),
        data=chunks(),
        headers=[*auth(proto, acct.secret), ("content-type", "application/json")],
    ) as r:
        resp = Resp(r.status, {k.lower(): v for k, v in r.headers.items()}, await r.read())
    assert_error(proto, resp, TOO_LARGE, param=None)
    await acct.assert_not_billed(resp)


RAW_TIMEOUT = 5.0
"""The gateway must answer a hand-written request within this many seconds."""


async def _read_response(reader: asyncio.StreamReader) -> Resp:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    if "content-length" in headers:
        raw = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while (size := int((await reader.readuntil(b"\r\n")).strip(), 16)) != 0:
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        await reader.readuntil(b"\r\n")
        raw = b"".join(parts)
    else:
        raw = await reader.read()
    return Resp(status, headers, raw)


async def _raw_exchange(base: str, request_head: bytes, body_bytes: bytes) -> Resp:
    """Send a hand-written HTTP/1.1 request and read one response (Content-Length or chunked)."""
    url = URL(base)
    reader, writer = await asyncio.open_connection(url.host, url.port)
    try:
        writer.write(request_head + body_bytes)
        await writer.drain()
        async with asyncio.timeout(RAW_TIMEOUT):
            return await _read_response(reader)
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except ConnectionError:
            pass


@pytest.mark.parametrize("proto", SURFACES)
async def test_lying_content_length_over_the_limit_is_413_without_waiting_for_the_body(
    account, proto: str
) -> None:
    """Content-Length announces 40 MiB but only a few bytes follow: the gateway must answer 413
    from the header alone (it would otherwise wait for 40 MiB that never come)."""
    acct = await account()
    name, value = auth(proto, acct.secret)[0]
    head = (
        f"POST {route(proto)} HTTP/1.1\r\nHost: gateway\r\n{name}: {value}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {40 << 20}\r\n\r\n"
    ).encode()
    resp = await _raw_exchange(acct.base, head, b'{"model":')
    assert_error(proto, resp, TOO_LARGE, param=None)
    await acct.assert_not_billed(resp)


@pytest.mark.parametrize("proto", SURFACES)
async def test_content_length_shorter_than_the_body_is_400(account, proto: str) -> None:
    """Content-Length claims fewer bytes than were sent: the gateway reads only that many,
    which is not a JSON document, so 400 (and nothing reaches the vendor)."""
    acct = await account()
    payload = orjson.dumps(body(proto))
    name, value = auth(proto, acct.secret)[0]
    head = (
        f"POST {route(proto)} HTTP/1.1\r\nHost: gateway\r\n{name}: {value}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload) // 2}\r\nConnection: close\r\n\r\n"
    ).encode()
    resp = await _raw_exchange(acct.base, head, payload)
    assert_error(proto, resp, INVALID, param=None, contains=["not valid JSON"])
    await acct.assert_not_billed(resp)
