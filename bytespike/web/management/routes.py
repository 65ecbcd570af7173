"""The management endpoint table, its Starlette routes and every route's scope declaration."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bytespike.web.management import account, admin, billing_admin, keys
from bytespike.web.management.endpoint import Endpoint
from bytespike.web.management.openapi import document
from bytespike.web.management.services import ManagementServices
from bytespike.web.route_registry import PUBLIC, RouteSpec, collect_route_specs

ENDPOINTS: tuple[Endpoint, ...] = (
    *keys.ENDPOINTS,
    *account.ENDPOINTS,
    *admin.ENDPOINTS,
    *billing_admin.ENDPOINTS,
)
OPENAPI_PATH = "/api/v1/openapi.json"
SERVICE_ROUTES = (
    RouteSpec("GET", "/", PUBLIC, "service banner"),
    RouteSpec("GET", "/healthz", PUBLIC, "liveness"),
    RouteSpec("GET", OPENAPI_PATH, PUBLIC, "this API's OpenAPI 3.1 document"),
)
"""Routes of the application itself (app.py) and the document route."""
ROUTES: tuple[RouteSpec, ...] = (*SERVICE_ROUTES, *(ep.spec for ep in ENDPOINTS))
"""This module's declarations, gathered with every other web module's by `route_specs`."""


def route_specs() -> list[RouteSpec]:
    """Every route the application serves, inference surfaces included, with its scope."""
    return collect_route_specs()


def management_routes(services: ManagementServices) -> list[Route]:
    doc = document(ENDPOINTS)

    async def openapi(request: Request) -> Response:
        return JSONResponse(doc)

    routes = [Route(OPENAPI_PATH, openapi, methods=["GET"])]
    routes += [Route(ep.starlette_path, ep.asgi(services), methods=[ep.method]) for ep in ENDPOINTS]
    return routes
