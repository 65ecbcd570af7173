"""``GET /v1/generations/{request_id}``: what one request cost and why (free).

Answers with the usage record of a request made by the caller's own account: tokens by kind,
credits (micro-USD) and USD, the upstream that served it, latency and time to first token, and
the billing rule applied (docs/billing.md). Another account's request, an unknown id and a
request that was never billed (every failure) all answer 404 ``not_found``: a failure leaves
no record (spec §4.4), and the existence of someone else's request is not revealed. Errors and
the body use the OpenAI envelope, like the other utility routes. It needs ``usage:read``, the
scope its route declares (like ``/v1/usage``): a key narrowed to ``inference`` cannot read it.
"""

from __future__ import annotations

import ipaddress
import time
import uuid
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from bytespike.access.cidr import is_address_allowed
from bytespike.access.credentials import extract_credential
from bytespike.access.principal import Principal
from bytespike.access.scopes import USAGE_READ
from bytespike.errors import GatewayError
from bytespike.money import micros_to_usd_float
from bytespike.protocols import openai_chat
from bytespike.relay.outcome import Inbound, Reply
from bytespike.storage.generations import GenerationRecord
from bytespike.web.client_address import client_ip
from bytespike.web.route_registry import RouteSpec

PATH = "/v1/generations/{request_id}"
ROUTES = (RouteSpec("GET", PATH, USAGE_READ, "cost and usage of one request"),)


def generation_object(r: GenerationRecord) -> dict[str, Any]:
    return {
        "id": r.request_id,
        "object": "generation",
        "created": int(r.created_at.timestamp()),
        "model": r.model,
        "endpoint": r.endpoint,
        "caller_protocol": r.caller_protocol,
        "stream": r.is_stream,
        "status": r.status,
        "api_key_id": r.api_key_id,
        "usage": {
            "input_tokens": r.input_tokens,
            "uncached_input_tokens": r.input_tokens - r.cache_read_tokens - r.cache_write_tokens,
            "cache_read_tokens": r.cache_read_tokens,
            "cache_write_tokens": r.cache_write_tokens,
            "output_tokens": r.output_tokens,
            "reasoning_tokens": r.reasoning_tokens,
            "total_tokens": r.input_tokens + r.output_tokens,
        },
        "credits": r.cost_micros,
        "cost_usd": micros_to_usd_float(r.cost_micros),
        "upstream": {"provider": r.provider, "protocol": r.upstream_protocol},
        "latency_ms": round(r.latency_ms, 3),
        "ttft_ms": round(r.ttft_ms, 3) if r.ttft_ms is not None else None,
        "billing_rule": r.billing_rule,
    }


def _response(reply: Reply) -> Response:
    return Response(
        reply.body, status_code=reply.status, headers={k.decode(): v.decode() for k, v in reply.headers}
    )


async def generation_endpoint(request: Request) -> Response:
    runtime = request.app.state.runtime
    gateway = runtime.gateway
    proxies = [ipaddress.ip_network(p, strict=False) for p in runtime.settings.trusted_proxies]
    address = client_ip(request.scope, proxies)
    inbound = Inbound(
        openai_chat.NAME, PATH, None, 0, "", address, "req_" + uuid.uuid4().hex, time.perf_counter()
    )
    principal: Principal | None = None
    try:
        credential = extract_credential(request.scope["headers"], request.query_params.get("key"))
        principal = await gateway.resolver.authenticate(credential)
        await gateway.meter.refresh(principal)
        if not is_address_allowed(address, principal.ip_allow, principal.ip_deny):
            raise GatewayError(403, "permission_denied", f"address {address} is not allowed for this key")
        if USAGE_READ not in principal.scopes:
            raise GatewayError(403, "permission_denied", "this key lacks the 'usage:read' scope")
        request_id = request.path_params["request_id"]
        record = await gateway.meter.generation(principal, request_id)
        if record is None:
            raise GatewayError(404, "not_found", f"no billed request {request_id!r} on this account")
    except GatewayError as err:
        return _response(gateway.error_reply(err, inbound, principal))
    headers = gateway.headers(principal, inbound, (time.perf_counter() - inbound.started) * 1000)
    headers.append((b"content-type", b"application/json"))
    return _response(Reply(200, orjson.dumps(generation_object(record)), headers))
