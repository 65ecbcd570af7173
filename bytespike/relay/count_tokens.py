"""Token counting (``/v1/messages/count_tokens``, Gemini ``:countTokens``): free, never billed.

Exact through the vendor's own counting endpoint when the model's vendor has one (Anthropic,
Google, OpenAI's Responses ``input_tokens``), the request translated for it when the caller
speaks another protocol; otherwise (DeepSeek and the other OpenAI-compatible vendors: no counting
endpoint) a documented estimate from the canonical request, reported with
``x-bytespike-token-count: estimate``. Same authentication, scope, address and group checks as
inference.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from bytespike.canonical.degradation import Degradations
from bytespike.canonical.parts import MediaPart, TextPart, ThinkingPart, ToolCallPart, ToolResultPart
from bytespike.canonical.request import Request
from bytespike.errors import GatewayError
from bytespike.protocols import anthropic_messages, gemini, openai_responses
from bytespike.protocols.codecs import CODECS
from bytespike.relay.gateway import Gateway
from bytespike.relay.outcome import Inbound, Reply
from bytespike.relay.translation import codec
from bytespike.relay.upstream_errors import error_from_upstream
from bytespike.upstreams.targets import anthropic_request, gemini_request, openai_responses_request

ANTHROPIC_COUNT_FIELDS = ("model", "messages", "system", "tools", "tool_choice", "thinking", "output_config")
"""What Anthropic's count_tokens accepts (protocols.md §1.8): no max_tokens, no sampling."""
GEMINI_COUNT_FIELDS = ("contents", "systemInstruction", "tools", "toolConfig", "generationConfig")
OPENAI_COUNT_FIELDS = (
    "model", "input", "instructions", "tools", "tool_choice", "parallel_tool_calls", "reasoning", "text", "truncation"
)
"""The request fields OpenAI's POST /v1/responses/input_tokens accepts (no max_output_tokens,
no sampling, no stream)."""
IMAGE_TOKEN_ESTIMATE = 1000
"""A fixed allowance per image/document/audio part when estimating (vendors charge 85–1,600)."""


def estimate_tokens(request: Request) -> int:
    """About four characters per token over every text the model reads, plus media allowances."""
    chars = sum(len(p.text) for p in request.system)
    media = 0
    for message in request.messages:
        chars += 4 * 4  # role and turn delimiters
        for part in message.parts:
            match part:
                case TextPart() | ThinkingPart():
                    chars += len(part.text)
                case ToolCallPart():
                    chars += len(part.name) + len(orjson.dumps(part.arguments))
                case ToolResultPart():
                    for c in part.content:
                        if isinstance(c, TextPart):
                            chars += len(c.text)
                        else:
                            media += 1
                case MediaPart():
                    media += 1
                case _:
                    chars += len(orjson.dumps(getattr(part, "data", {})))
    for tool in request.tools:
        chars += len(tool.name) + len(tool.description or "") + len(orjson.dumps(tool.parameters or {}))
    return max(1, chars // 4) + media * IMAGE_TOKEN_ESTIMATE


def _caller_body(inbound: Inbound) -> dict[str, Any]:
    body = dict(inbound.body)
    if inbound.protocol == anthropic_messages.NAME:
        body.setdefault("max_tokens", 1)  # the shape check wants it; count_tokens itself ignores it
    return body


async def count_tokens(gateway: Gateway, inbound: Inbound) -> Reply:
    principal = None
    try:
        principal = await gateway.resolver.authenticate(inbound.credential)
        await gateway.meter.refresh(principal)
        if inbound.body_error is not None:
            raise inbound.body_error
        if not isinstance(inbound.body, dict):
            raise GatewayError(400, "invalid_param", "request body must be a JSON object")
        # countTokens may wrap the request: {"generateContentRequest": {...}} (protocols.md §4.5).
        if inbound.protocol == gemini.NAME and isinstance(inbound.body.get("generateContentRequest"), dict):
            inbound.body = {
                k: v for k, v in inbound.body["generateContentRequest"].items() if k in GEMINI_COUNT_FIELDS
            }
        inbound.body = _caller_body(inbound)
        model = gateway.authorize(inbound, principal)
        upstream = gateway.upstream_protocol(inbound, model)
        count, exact = await _count(gateway, inbound, model, upstream)
    except GatewayError as err:
        return gateway.error_reply(err, inbound, principal)
    body = {"totalTokens": count} if inbound.protocol == gemini.NAME else {"input_tokens": count}
    headers = gateway.headers(principal, inbound, (time.perf_counter() - inbound.started) * 1000)
    headers += [
        (b"content-type", b"application/json"),
        (b"x-bytespike-token-count", b"exact" if exact else b"estimate"),
    ]
    return Reply(200, orjson.dumps(body), headers)


def _counter(model: Any, upstream: str) -> str | None:
    """The protocol whose counting endpoint answers for ``model``, or None (estimate)."""
    if upstream in (anthropic_messages.NAME, gemini.NAME):
        return upstream
    if model.provider == "openai":
        return openai_responses.NAME  # whichever of OpenAI's protocols serves the model
    return None


async def _count(gateway: Gateway, inbound: Inbound, model: Any, upstream: str) -> tuple[int, bool]:
    counter = _counter(model, upstream)
    if counter is None:
        request = codec(inbound.protocol).requests.decode_request(inbound.body)
        return estimate_tokens(request), False
    if counter == inbound.protocol:
        body = dict(inbound.body)
    else:
        request = codec(inbound.protocol).requests.decode_request(inbound.body)
        opts = {"version": "2023-06-01"} if counter == anthropic_messages.NAME else {}
        body = codec(counter).requests.encode_request(
            request, model=model.upstream_model, deg=Degradations(), **opts
        )
    target = gateway.target(model, upstream)
    if counter == anthropic_messages.NAME:
        body["model"] = model.upstream_model
        payload = {k: v for k, v in body.items() if k in ANTHROPIC_COUNT_FIELDS}
        url, headers = anthropic_request(
            target,
            count_tokens=True,
            version=inbound.vendor_headers.get("anthropic-version", "2023-06-01"),
            beta=inbound.vendor_headers.get("anthropic-beta"),
        )
        key = "input_tokens"
    elif counter == openai_responses.NAME:
        payload = {k: v for k, v in body.items() if k in OPENAI_COUNT_FIELDS}
        url, headers = openai_responses_request(target, count_tokens=True)
        key = "input_tokens"
    else:
        request_body = {k: v for k, v in body.items() if k in GEMINI_COUNT_FIELDS}
        payload = {"generateContentRequest": {"model": f"models/{model.upstream_model}", **request_body}}
        url, headers = gemini_request(target, model.upstream_model, stream=False, count_tokens=True)
        key = "totalTokens"
    resp = await gateway.client.post(url, headers, orjson.dumps(payload))
    raw = await resp.read()
    try:
        obj = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        obj = None
    if resp.status >= 400:
        raise error_from_upstream(resp.status, CODECS[counter], obj, resp.headers.get("retry-after"))
    if not isinstance(obj, dict) or not isinstance(obj.get(key), int):
        raise GatewayError(502, "upstream_error", f"the upstream's token count had no integer {key!r}")
    return obj[key], True
