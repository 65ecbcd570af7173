"""Raw-HTTP helpers for the error-path tests: the three protocols, envelope checks, and the
"failures never bill" bookkeeping (spec §4.4).

Everything here talks to the real ``bytespike serve`` process of the session `gateway` fixture
with plain aiohttp, so statuses, headers and envelopes are seen exactly as a client sees them.
The expected strings are written out from the spec (§6.1-§6.3, §9, protocols.md §1.9/§2.7/§4.6,
docs/decisions.md), never read back from the gateway's own tables.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
from yarl import URL

ANTHROPIC = "anthropic"
OPENAI = "openai"
GEMINI = "gemini"
PROTOCOLS = (ANTHROPIC, OPENAI, GEMINI)
RESPONSES = "responses"
"""OpenAI Responses, ``POST /v1/responses`` (OpenAI's error envelope)."""
ANTHROPIC_COUNT = "anthropic-count"
"""``POST /v1/messages/count_tokens`` (Anthropic's envelope; free)."""
GEMINI_COUNT = "gemini-count"
"""``POST /v1beta/models/{model}:countTokens`` (Google's envelope; free)."""
BILLED_SURFACES = (*PROTOCOLS, RESPONSES)
"""Inference routes: admitted against the wallet and billed on success."""
SURFACES = (*BILLED_SURFACES, ANTHROPIC_COUNT, GEMINI_COUNT)
"""Every client route that takes a key and a model (the token counts are free, never billed)."""
ENVELOPE = {
    ANTHROPIC: ANTHROPIC,
    OPENAI: OPENAI,
    GEMINI: GEMINI,
    RESPONSES: OPENAI,
    ANTHROPIC_COUNT: ANTHROPIC,
    GEMINI_COUNT: GEMINI,
}
"""Which protocol family's error shape, credential header and model placement a surface uses."""

NATIVE_MODEL = {
    ANTHROPIC: "claude-haiku-4-5",
    OPENAI: "gpt-5-4-nano",
    GEMINI: "gemini-2-5-flash",
    RESPONSES: "gpt-5-4-nano",
    ANTHROPIC_COUNT: "claude-haiku-4-5",
    GEMINI_COUNT: "gemini-2-5-flash",
}
"""A cheap catalogue model served over each caller protocol (no translation needed)."""
OVERHEAD_HEADER = "x-bytespike-overhead-ms"

QUOTA_HEADER = "x-quota-remaining-credits"
QUOTA_MICROS_HEADER = "x-bytespike-quota-remaining-micros"

Header = tuple[str, str]


# --------------------------------------------------------------------------- expected envelopes
@dataclass(frozen=True)
class Err:
    """One row of the status/code matrix, as each protocol must render it."""

    status: int
    """HTTP status on the Anthropic and OpenAI surfaces."""
    code: str
    """OpenAI ``error.code`` (spec §6.3)."""
    anthropic: str
    """Anthropic ``error.type`` (spec §6.1, protocols.md §1.9)."""
    openai: str
    """OpenAI ``error.type``."""
    google: str
    """Google ``error.status`` (spec §6.2, protocols.md §4.6)."""
    google_http: int | None = None
    """HTTP status on the Gemini surface when it differs (spec §9 #4)."""

    def http(self, proto: str) -> int:
        google = ENVELOPE[proto] == GEMINI
        return self.google_http if google and self.google_http is not None else self.status


AUTH = Err(401, "invalid_api_key", "authentication_error", "authentication_error", "UNAUTHENTICATED")
INSUFFICIENT_BALANCE = Err(
    402, "insufficient_balance", "billing_error", "billing_error", "RESOURCE_EXHAUSTED"
)
QUOTA_EXCEEDED = Err(402, "quota_exceeded", "billing_error", "billing_error", "RESOURCE_EXHAUSTED")
MODEL_NOT_IN_GROUP = Err(
    403, "model_not_in_group", "permission_error", "permission_error", "PERMISSION_DENIED"
)
IP_DENIED = Err(403, "permission_denied", "permission_error", "permission_error", "PERMISSION_DENIED")
INVALID = Err(400, "invalid_param", "invalid_request_error", "invalid_request_error", "INVALID_ARGUMENT")
UNKNOWN_MODEL = Err(
    400, "model_not_found", "not_found_error", "invalid_request_error", "NOT_FOUND", google_http=404
)
RETIRED_MODEL = Err(404, "model_not_found", "not_found_error", "not_found_error", "NOT_FOUND")
TOO_LARGE = Err(413, "request_too_large", "request_too_large", "invalid_request_error", "INVALID_ARGUMENT")
ROUTE_NOT_FOUND = Err(404, "not_found", "not_found_error", "not_found_error", "NOT_FOUND")
RATE_LIMITED = Err(429, "rate_limit_exceeded", "rate_limit_error", "rate_limit_error", "RESOURCE_EXHAUSTED")
UPSTREAM_FAILED = Err(502, "upstream_error", "api_error", "api_error", "UNAVAILABLE")
UPSTREAM_AUTH_FAILED = Err(502, "upstream_auth_failed", "api_error", "api_error", "UNAVAILABLE")
OVERLOADED = Err(503, "upstream_overloaded", "overloaded_error", "overloaded_error", "UNAVAILABLE")
TIMEOUT = Err(504, "upstream_timeout", "timeout_error", "api_error", "DEADLINE_EXCEEDED")

_UNSET: Any = object()


# --------------------------------------------------------------------------- requests
@dataclass
class Resp:
    status: int
    headers: dict[str, str]
    """Lower-cased names; the last value wins."""
    raw: bytes

    def json(self) -> Any:
        return orjson.loads(self.raw)

    def __repr__(self) -> str:  # readable assertion messages
        return f"<{self.status} {self.headers.get('content-type')} {self.raw[:400]!r}>"


async def send(
    http: aiohttp.ClientSession,
    base: str,
    method: str,
    path: str,
    *,
    json: Any = _UNSET,
    data: Any = None,
    headers: Sequence[Header] = (),
    content_type: str | None = "application/json",
) -> Resp:
    """One raw exchange; ``path`` is sent exactly as given (already URL-encoded)."""
    hdrs = list(headers)
    if json is not _UNSET:
        data = orjson.dumps(json)
    if content_type is not None and data is not None and not isinstance(data, aiohttp.FormData):
        hdrs.append(("content-type", content_type))
    async with http.request(method, URL(base + path, encoded=True), data=data, headers=hdrs) as r:
        raw = await r.read()
        return Resp(r.status, {k.lower(): v for k, v in r.headers.items()}, raw)


def route(proto: str, *, model: str | None = None, stream: bool = False) -> str:
    fixed = {
        ANTHROPIC: "/v1/messages",
        OPENAI: "/v1/chat/completions",
        RESPONSES: "/v1/responses",
        ANTHROPIC_COUNT: "/v1/messages/count_tokens",
    }
    if proto in fixed:
        return fixed[proto]
    model = NATIVE_MODEL[proto] if model is None else model
    if proto == GEMINI_COUNT:
        return f"/v1beta/models/{model}:countTokens"
    verb = "streamGenerateContent?alt=sse" if stream else "generateContent"
    return f"/v1beta/models/{model}:{verb}"


def body(
    proto: str,
    text: str = "Say hello.",
    *,
    model: str | None = None,
    stream: bool = False,
    max_tokens: int | None = 32,
) -> dict[str, Any]:
    """A valid request body for ``proto`` (Gemini's model and stream flag live in the path)."""
    model = NATIVE_MODEL[proto] if model is None else model
    if proto == RESPONSES:
        b: dict[str, Any] = {"model": model, "input": text}
        if max_tokens is not None:
            b["max_output_tokens"] = max(max_tokens, 16)  # the Responses minimum
        if stream:
            b["stream"] = True
        return b
    if proto == ANTHROPIC_COUNT:
        return {"model": model, "messages": [{"role": "user", "content": text}]}
    if proto == ANTHROPIC:
        b = {"model": model, "messages": [{"role": "user", "content": text}]}
        if max_tokens is not None:
            b["max_tokens"] = max_tokens
        if stream:
            b["stream"] = True
        return b
    if proto == OPENAI:
        b = {"model": model, "messages": [{"role": "user", "content": text}]}
        if max_tokens is not None:
            b["max_tokens"] = max_tokens
        if stream:
            b["stream"] = True
        return b
    b = {"contents": [{"role": "user", "parts": [{"text": text}]}]}
    if max_tokens is not None and proto == GEMINI:
        b["generationConfig"] = {"maxOutputTokens": max_tokens}
    return b


def auth(proto: str, secret: str) -> list[Header]:
    """The credential in each protocol's native place (spec §2.2)."""
    if ENVELOPE[proto] == ANTHROPIC:
        return [("x-api-key", secret)]
    if ENVELOPE[proto] == OPENAI:
        return [("authorization", f"Bearer {secret}")]
    return [("x-goog-api-key", secret)]


async def call(
    http: aiohttp.ClientSession,
    base: str,
    proto: str,
    secret: str | None,
    *,
    text: str = "Say hello.",
    model: str | None = None,
    stream: bool = False,
    max_tokens: int | None = 32,
) -> Resp:
    """A well-formed inference request on ``proto``'s native route."""
    return await send(
        http,
        base,
        "POST",
        route(proto, model=model, stream=stream),
        json=body(proto, text, model=model, stream=stream, max_tokens=max_tokens),
        headers=auth(proto, secret) if secret is not None else (),
    )


# --------------------------------------------------------------------------- envelope checks
def _message_checks(message: Any, contains: Iterable[str]) -> None:
    assert isinstance(message, str) and message.strip(), (
        f"error message must be a non-empty string: {message!r}"
    )
    for needle in contains:
        assert needle in message, f"{needle!r} not in error message {message!r}"


def check_error_object(
    proto: str,
    payload: Any,
    err: Err,
    *,
    param: Any = _UNSET,
    contains: Iterable[str] = (),
) -> str:
    """Check one protocol's error JSON (a reply body or a stream frame); returns the message."""
    family = ENVELOPE[proto]
    if family == ANTHROPIC:
        assert isinstance(payload, dict) and payload.get("type") == "error", payload
        assert set(payload) <= {"type", "error", "request_id"}, payload
        e = payload["error"]
        assert isinstance(e, dict) and set(e) == {"type", "message"}, payload
        assert e["type"] == err.anthropic, (e["type"], err.anthropic, payload)
        _message_checks(e["message"], contains)
        return e["message"]
    if family == OPENAI:
        assert isinstance(payload, dict) and set(payload) == {"error"}, payload
        e = payload["error"]
        assert isinstance(e, dict) and set(e) == {"message", "type", "param", "code"}, payload
        assert e["type"] == err.openai, (e["type"], err.openai, payload)
        assert e["code"] == err.code, (e["code"], err.code, payload)
        if param is not _UNSET:
            assert e["param"] == param, (e["param"], param, payload)
        _message_checks(e["message"], contains)
        return e["message"]
    assert isinstance(payload, dict) and set(payload) == {"error"}, payload
    e = payload["error"]
    assert isinstance(e, dict) and {"code", "message", "status"} <= set(e) <= {
        "code",
        "message",
        "status",
        "details",
    }, payload
    assert e["code"] == err.http(GEMINI), (e["code"], err.http(GEMINI), payload)
    assert e["status"] == err.google, (e["status"], err.google, payload)
    _message_checks(e["message"], contains)
    return e["message"]


def assert_error(
    proto: str,
    resp: Resp,
    err: Err,
    *,
    param: Any = _UNSET,
    contains: Iterable[str] = (),
) -> str:
    """Status, content type, request id, overhead and envelope of a whole (non-streamed) error
    reply (issue 2 #11: the gateway's headers are on every response, success or failure)."""
    assert resp.status == err.http(proto), (resp.status, err.http(proto), resp)
    assert resp.headers.get("content-type", "").startswith("application/json"), resp
    request_id = resp.headers.get("x-request-id")
    assert request_id, f"x-request-id missing on {resp!r}"
    assert_overhead(resp)
    payload = resp.json()
    if ENVELOPE[proto] == ANTHROPIC and "request_id" in payload:
        assert payload["request_id"] == request_id, (payload, request_id)
    return check_error_object(proto, payload, err, param=param, contains=contains)


def assert_overhead(resp: Resp) -> float:
    """``X-ByteSpike-Overhead-Ms``: a non-negative number of milliseconds (3 decimals)."""
    value = resp.headers.get(OVERHEAD_HEADER)
    assert value is not None, f"{OVERHEAD_HEADER} missing on {resp!r}"
    assert re.fullmatch(r"\d+\.\d{3}", value), (OVERHEAD_HEADER, value)
    return float(value)


def sse_frames(raw: bytes) -> list[tuple[str | None, bytes]]:
    """(event name, data) per SSE frame; blank-line separated, ``\\n`` or ``\\r\\n``."""
    frames: list[tuple[str | None, bytes]] = []
    for block in re.split(rb"\r\n\r\n|\n\n", raw):
        if not block.strip():
            continue
        event: str | None = None
        data: list[bytes] = []
        for line in block.splitlines():
            if line.startswith(b"event:"):
                event = line[6:].strip().decode()
            elif line.startswith(b"data:"):
                data.append(line[6:] if line[5:6] == b" " else line[5:])
        frames.append((event, b"\n".join(data)))
    return frames


def content_frames(proto: str, frames: list[tuple[str | None, bytes]]) -> int:
    """How many frames carried generated text before the stream ended."""
    n = 0
    for event, data in frames:
        if proto == ANTHROPIC:
            n += event == "content_block_delta"
            continue
        if data == b"[DONE]":
            continue
        obj = orjson.loads(data)
        if proto == OPENAI:
            n += any((c.get("delta") or {}).get("content") for c in obj.get("choices") or [])
        else:
            n += any(
                p.get("text")
                for c in obj.get("candidates") or []
                for p in (c.get("content") or {}).get("parts") or []
            )
    return n


def assert_stream_error(proto: str, resp: Resp, err: Err, *, content_before: int | None = None) -> str:
    """A stream that started (200, event-stream) and ended with the protocol's error frame.

    Anthropic: a final ``event: error`` and no ``message_stop``; OpenAI: a final
    ``data: {"error":…}`` and no ``[DONE]``; Gemini: a final ``data: {"error":…}`` (spec §3.10,
    protocols.md §1.7/§2.6/§4.4/§5.12).
    """
    assert resp.status == 200, resp
    assert resp.headers.get("content-type", "").startswith("text/event-stream"), resp
    assert resp.headers.get("x-request-id"), resp
    assert_overhead(resp)
    frames = sse_frames(resp.raw)
    assert frames, resp
    event, data = frames[-1]
    if proto == ANTHROPIC:
        assert event == "error", frames[-1]
        assert [e for e, _ in frames].count("error") == 1, frames
        assert "message_stop" not in [e for e, _ in frames], frames
    else:
        assert event is None, frames[-1]
        assert all(d != b"[DONE]" for _, d in frames), f"[DONE] after an error frame: {resp!r}"
        assert sum(d.startswith(b'{"error"') for _, d in frames) == 1, frames
    message = check_error_object(proto, orjson.loads(data), err)
    if content_before is not None:
        assert content_frames(proto, frames[:-1]) == content_before, frames
    return message


# --------------------------------------------------------------------------- accounting
async def quota_headers(http: aiohttp.ClientSession, base: str, secret: str) -> tuple[str | None, str | None]:
    """The key's accounting headers as the free ``GET /v1/models`` reports them."""
    r = await send(http, base, "GET", "/v1/models", headers=[("authorization", f"Bearer {secret}")])
    return r.headers.get(QUOTA_HEADER), r.headers.get(QUOTA_MICROS_HEADER)


@dataclass
class Account:
    """A fresh key with its wallet, and what its books said before the test touched it."""

    gateway: Any
    http: aiohttp.ClientSession
    key: Any
    balance: int
    quota: str
    quota_micros: str | None

    @property
    def secret(self) -> str:
        return self.key.secret

    @property
    def base(self) -> str:
        return self.gateway.url

    async def assert_not_billed(self, *responses: Resp, key_valid: bool = True) -> None:
        """Spec §4.4: no usage row, no balance movement, and (for a key the gateway resolved)
        ``X-Quota-Remaining-Credits`` present on every reply and equal before and after."""
        rows = await self.gateway.usage_rows(self.key.key_id)
        assert rows == [], f"a failure wrote usage rows: {rows}"
        assert await self.gateway.balance(self.key.wallet_id) == self.balance
        if not key_valid:
            return
        for r in responses:
            assert r.headers.get(QUOTA_HEADER) == self.quota, (r.headers.get(QUOTA_HEADER), self.quota, r)
            assert r.headers.get(QUOTA_MICROS_HEADER) == self.quota_micros, (r.headers, self.quota_micros)
        assert await quota_headers(self.http, self.base, self.secret) == (self.quota, self.quota_micros)


async def open_account(gateway: Any, http: aiohttp.ClientSession, usd: str = "10", **spec: Any) -> Account:
    key = await gateway.funded_key(usd=usd, **spec)
    quota, micros = await quota_headers(http, gateway.url, key.secret)
    assert quota is not None, "GET /v1/models did not report x-quota-remaining-credits"
    return Account(gateway, http, key, await gateway.balance(key.wallet_id), quota, micros)
