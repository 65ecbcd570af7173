"""The client-facing inference surfaces, routed by hand on the hot path.

Each surface knows only where its protocol puts the key, the model and the stream flag; the
relay does the rest. Paths (spec §3): ``POST /v1/messages``, ``POST /v1/chat/completions``,
``POST /{v1beta,v1}/models/{model}:{generateContent,streamGenerateContent}``, ``GET /v1/models``.
Anything else falls through to the management application.
"""

from __future__ import annotations

import ipaddress
import time
from typing import Any
from urllib.parse import parse_qs

import orjson

from bytespike.access.credentials import extract_credential
from bytespike.access.scopes import INFERENCE, MODELS_READ
from bytespike.errors import GatewayError, invalid_request, route_not_found
from bytespike.ids import new_request_id
from bytespike.protocols import anthropic_messages, gemini, openai_chat, openai_responses
from bytespike.relay.count_tokens import count_tokens
from bytespike.relay.gateway import Gateway
from bytespike.relay.outcome import Inbound, Reply, StreamReply
from bytespike.web.asgi import read_body, send_reply, send_stream, until_disconnect
from bytespike.web.client_address import client_ip
from bytespike.web.models_list import models_reply
from bytespike.web.route_registry import RouteSpec

GEMINI_PREFIXES = ("/v1beta/models/", "/v1/models/")
GEMINI_VERBS = {"generateContent": False, "streamGenerateContent": True, "countTokens": False}
OPENAI_RESPONSES = openai_responses.NAME

ROUTES: tuple[RouteSpec, ...] = (
    RouteSpec("POST", "/v1/messages", INFERENCE, "Anthropic Messages"),
    RouteSpec("POST", "/v1/messages/count_tokens", INFERENCE, "Anthropic token count"),
    RouteSpec("POST", "/v1/chat/completions", INFERENCE, "OpenAI Chat Completions"),
    RouteSpec("POST", "/v1/responses", INFERENCE, "OpenAI Responses"),
    *(
        RouteSpec("POST", f"{prefix}{{model}}:{verb}", INFERENCE, "Gemini native")
        for prefix in GEMINI_PREFIXES
        for verb in GEMINI_VERBS
    ),
    RouteSpec("GET", "/v1/models", MODELS_READ, "models in the key's routing group"),
)
"""Every route served here and the scope it needs (web/route_registry.py); add a row with a route."""


class InferenceSurfaces:
    """ASGI app for the inference routes; ``fallback`` serves every other path."""

    def __init__(
        self, gateway: Gateway, *, max_body_bytes: int, trusted_proxies: tuple[str, ...], fallback: Any
    ) -> None:
        self.gateway = gateway
        self.max_body = max_body_bytes
        self.fallback = fallback
        self._proxies = tuple(ipaddress.ip_network(p, strict=False) for p in trusted_proxies)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.fallback(scope, receive, send)
            return
        path: str = scope["path"]
        method: str = scope["method"]
        if method == "POST":
            if path == "/v1/messages":
                await self._inference(scope, receive, send, anthropic_messages.NAME, path, None, None)
                return
            if path == "/v1/chat/completions":
                await self._inference(scope, receive, send, openai_chat.NAME, path, None, None)
                return
            if path == "/v1/responses":
                await self._inference(scope, receive, send, OPENAI_RESPONSES, path, None, None)
                return
            if path == "/v1/messages/count_tokens":
                await self._inference(
                    scope, receive, send, anthropic_messages.NAME, path, None, False, count=True
                )
                return
            if path.startswith(GEMINI_PREFIXES) and ":" in path:
                model, _, verb = path.split("/models/", 1)[1].rpartition(":")
                query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
                if verb in GEMINI_VERBS:
                    stream = GEMINI_VERBS[verb] or query.get("stream", [""])[0].lower() == "true"
                    model = model.removeprefix("models/")
                    endpoint = path.split("/models/", 1)[0] + "/models/{model}:" + verb
                    count = verb == "countTokens"
                    await self._inference(
                        scope, receive, send, gemini.NAME, endpoint, model, stream, count=count
                    )
                    return
        elif method == "GET" and path == "/v1/models":
            await self._models(scope, send)
            return
        await self.fallback(scope, receive, send)

    async def _inference(
        self,
        scope: dict,
        receive: Any,
        send: Any,
        protocol: str,
        endpoint: str,
        model: str | None,
        stream: bool | None,
        *,
        count: bool = False,
    ) -> None:
        started = time.perf_counter()
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        request_id = new_request_id()
        inbound = Inbound(
            protocol=protocol,
            endpoint=endpoint,
            body=None,
            body_size=0,
            credential="",
            client_ip=client_ip(scope, self._proxies),
            request_id=request_id,
            started=started,
            model=model,
        )
        try:
            query = scope.get("query_string", b"")
            query_key = parse_qs(query.decode("latin-1")).get("key", [None])[0] if b"key=" in query else None
            inbound.credential = extract_credential(headers, query_key)
        except GatewayError as err:
            await send_reply(send, self.gateway.error_reply(err, inbound, None))
            return
        raw, body_error = await read_body(receive, self.max_body, headers)
        inbound.body_size = len(raw)
        if body_error is None:
            try:
                inbound.body = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                body_error = invalid_request(f"request body is not valid JSON: {exc}")
        inbound.body_error = body_error
        if body_error is None and isinstance(inbound.body, dict):
            if stream is None:
                s = inbound.body.get("stream", False)
                stream = s if isinstance(s, bool) else False
            inbound.stream = stream
        else:
            inbound.stream = bool(stream)
        is_anthropic = protocol == anthropic_messages.NAME
        for name, value in headers:
            if name == b"x-bytespike-strict":
                inbound.strict = value.strip().lower() in (b"true", b"1", b"yes")
            elif is_anthropic and name in (b"anthropic-version", b"anthropic-beta"):
                inbound.vendor_headers[name.decode()] = value.decode("latin-1")
        if count:
            await send_reply(send, await count_tokens(self.gateway, inbound))
            return
        result = await until_disconnect(self.gateway.handle(inbound), receive)
        if result is None:
            return  # the client left before the reply: the request was cancelled, and is free
        if isinstance(result, StreamReply):
            await send_stream(send, receive, result)
        else:
            await send_reply(send, result)

    async def _models(self, scope: dict, send: Any) -> None:
        headers = scope["headers"]
        inbound = Inbound(
            protocol=openai_chat.NAME,
            endpoint="/v1/models",
            body=None,
            body_size=0,
            credential="",
            client_ip=client_ip(scope, self._proxies),
            request_id=new_request_id(),
            started=time.perf_counter(),
        )
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        try:
            inbound.credential = extract_credential(headers, query.get("key", [None])[0])
            reply: Reply = await models_reply(self.gateway, inbound, query)
        except GatewayError as err:
            reply = self.gateway.error_reply(err, inbound, None)
        await send_reply(send, reply)


async def not_found_reply(
    gateway: Gateway, path: str, headers: list[tuple[bytes, bytes]], query: bytes = b""
) -> Reply:
    """404 in the shape of the protocol the path belongs to, with the key's accounting headers
    when the caller sent a valid one (issue 2 #11: every response carries them). The key is
    looked up through the resolver's cache; a missing, bad or unreadable key leaves the headers
    out, never turns the 404 into anything else."""
    protocol = gemini.NAME if path.startswith("/v1beta") else openai_chat.NAME
    inbound = Inbound(protocol, path, None, 0, "", None, new_request_id(), time.perf_counter())
    principal = None
    try:
        query_key = parse_qs(query.decode("latin-1")).get("key", [None])[0] if b"key=" in query else None
        principal = await gateway.resolver.authenticate(extract_credential(headers, query_key))
        await gateway.meter.refresh(principal)
    except Exception:  # the 404 must not depend on the key store being up (never a 5xx)
        principal = None
    return gateway.error_reply(route_not_found(path), inbound, principal)
