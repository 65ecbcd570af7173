"""One management endpoint = a declaration (route, scope, schemas) + a thin handler.

`Endpoint.asgi` wraps the handler with everything every management call shares, in order:
read the key (spec §2.2 precedence), authenticate it (401; 403 for a paused org), refresh the
accounting headers, check the key's IP lists (403 ``permission_denied``), check the declared
scope (403), take one request from the key's budget (429 ``rate_limit_exceeded``, about 600 a
minute), parse path and query parameters and validate the JSON body against the published
schema (400 naming the field). Errors use the OpenAI-style envelope
``{"error":{"type","code","message","param"}}``; every response carries the accounting headers
of the calling key. Public endpoints skip the key and are budgeted per client address instead.
"""

from __future__ import annotations

import logging
import math
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from bytespike.access.actor import Actor
from bytespike.access.cidr import is_address_allowed
from bytespike.access.credentials import extract_credential
from bytespike.access.principal import Principal
from bytespike.errors import GatewayError
from bytespike.relay.outcome import Inbound, Reply
from bytespike.web.management.schemas import MAX_ID
from bytespike.web.management.services import ManagementServices
from bytespike.web.management.validation import validate
from bytespike.web.route_registry import PUBLIC, RouteSpec

log = logging.getLogger("bytespike.management")

MAX_BODY_BYTES = 1 << 20
_PATH_PARAM = re.compile(r"{(\w+)}")


@dataclass(frozen=True, slots=True)
class Param:
    """A query parameter: its JSON Schema decides how the string is parsed."""

    name: str
    schema: dict[str, Any]
    description: str = ""


@dataclass(slots=True)
class Call:
    """What a handler receives: the caller, parsed parameters and the validated body."""

    services: ManagementServices
    principal: Principal | None
    client_ip: str | None
    path: dict[str, int]
    query: dict[str, Any]
    body: dict[str, Any]

    @property
    def actor(self) -> Actor:
        assert self.principal is not None, "public endpoints have no actor"
        return Actor(self.principal, self.client_ip)


@dataclass(frozen=True, slots=True)
class Result:
    payload: Any
    status: int = 200


Handler = Callable[[Call], Awaitable[Result]]


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: str
    path: str
    """OpenAPI template; ``{name}`` parameters are positive integer ids."""
    scope: str
    operation_id: str
    summary: str
    handler: Handler
    response: dict[str, Any]
    """JSON Schema of the success body."""
    status: int = 200
    body: dict[str, Any] | None = None
    """JSON Schema of the request body, when the operation takes one."""
    body_required: bool = True
    query: tuple[Param, ...] = ()
    tag: str = "keys"
    description: str = ""
    path_params: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "path_params", tuple(_PATH_PARAM.findall(self.path)))

    @property
    def spec(self) -> RouteSpec:
        return RouteSpec(self.method, self.path, self.scope, self.summary)

    @property
    def starlette_path(self) -> str:
        return _PATH_PARAM.sub(r"{\1:int}", self.path)

    def asgi(self, services: ManagementServices) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            return await _serve(self, services, request)

        endpoint.__name__ = self.operation_id
        return endpoint


# ---------------------------------------------------------------------------- the shared steps
def _inbound(request: Request, client_ip: str | None) -> Inbound:
    return Inbound(
        protocol="openai_chat",
        endpoint=request.url.path,
        body=None,
        body_size=0,
        credential="",
        client_ip=client_ip,
        request_id="req_" + uuid.uuid4().hex,
        started=time.perf_counter(),
    )


def _reply_response(reply: Reply) -> Response:
    return Response(
        reply.body,
        status_code=reply.status,
        headers={k.decode("latin-1"): v.decode("latin-1") for k, v in reply.headers},
    )


async def _serve(ep: Endpoint, services: ManagementServices, request: Request) -> Response:
    gateway = services.gateway
    if gateway is None:  # before the lifespan has run
        return Response(
            b'{"error":{"type":"overloaded_error","code":"starting","message":"starting up","param":null}}',
            503,
        )
    client_ip = services.client_ip(request.scope)
    inbound = _inbound(request, client_ip)
    principal: Principal | None = None
    try:
        if ep.scope != PUBLIC:
            principal = await _authorize(ep, services, request, client_ip)
        else:
            await _spend_budget(services, f"ip:{client_ip}")
        call = Call(
            services=services,
            principal=principal,
            client_ip=client_ip,
            path=_path_params(ep, request),
            query=_query_params(ep, request),
            body=await _body(ep, request),
        )
        result = await ep.handler(call)
    except GatewayError as err:
        return _reply_response(gateway.error_reply(err, inbound, principal))
    except Exception:
        log.exception("management endpoint %s failed", ep.operation_id)
        err = GatewayError(500, "internal_error", f"internal error (request {inbound.request_id})")
        return _reply_response(gateway.error_reply(err, inbound, principal))
    headers = gateway.headers(principal, inbound)
    headers.append((b"content-type", b"application/json"))
    return _reply_response(Reply(result.status, orjson.dumps(result.payload), headers))


async def _authorize(
    ep: Endpoint, services: ManagementServices, request: Request, client_ip: str | None
) -> Principal:
    gateway = services.gateway
    assert gateway is not None
    credential = extract_credential(request.scope["headers"], request.query_params.get("key"))
    principal = await gateway.resolver.authenticate(credential)
    await gateway.meter.refresh(principal)
    if not is_address_allowed(client_ip, principal.ip_allow, principal.ip_deny):
        raise GatewayError(403, "permission_denied", f"address {client_ip} is not allowed for this key")
    if ep.scope not in principal.scopes:
        raise GatewayError(403, "permission_denied", f"this key lacks the {ep.scope!r} scope")
    await _spend_budget(services, f"key:{principal.key_id}")
    return principal


async def _spend_budget(services: ManagementServices, who: str) -> None:
    wait = await services.budget.take(who)
    if wait is not None:
        raise GatewayError(
            429,
            "rate_limit_exceeded",
            f"management calls are limited to {services.per_minute} a minute per key",
            retry_after=max(1, math.ceil(wait)),
        )


def _path_params(ep: Endpoint, request: Request) -> dict[str, int]:
    out = {}
    for name in ep.path_params:
        value = request.path_params[name]
        if not 1 <= value <= MAX_ID:
            raise GatewayError(404, "not_found", f"no resource with {name} {value}", name)
        out[name] = value
    return out


def parse_time(value: str, name: str) -> datetime:
    """ISO date (midnight UTC) or date-time; a time without an offset is UTC."""
    try:
        if len(value) == 10:
            d = date.fromisoformat(value)
            return datetime(d.year, d.month, d.day, tzinfo=UTC)
        parsed = datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))
    except ValueError as exc:
        raise GatewayError(400, "invalid_param", f"{name} must be an ISO date or date-time", name) from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _query_params(ep: Endpoint, request: Request) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for param in ep.query:
        raw = request.query_params.get(param.name)
        if raw is None:
            continue
        kind = param.schema.get("type")
        if kind == "integer":
            try:
                value: Any = int(raw)
            except ValueError as exc:
                raise GatewayError(
                    400, "invalid_param", f"{param.name} must be an integer", param.name
                ) from exc
        elif param.schema.get("format") in ("date-time", "date"):
            value = parse_time(raw, param.name)
            out[param.name] = value
            continue
        else:
            value = raw
        validate(value, param.schema, param.name)
        out[param.name] = value
    return out


async def _body(ep: Endpoint, request: Request) -> dict[str, Any]:
    if ep.body is None:
        return {}
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise GatewayError(413, "request_too_large", f"request body exceeds {MAX_BODY_BYTES} bytes")
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise GatewayError(413, "request_too_large", f"request body exceeds {MAX_BODY_BYTES} bytes")
    if not raw.strip():
        if ep.body_required:
            raise GatewayError(400, "invalid_param", "a JSON object body is required")
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise GatewayError(400, "invalid_param", f"request body is not valid JSON: {exc}") from exc
    validate(body, ep.body)
    return body
