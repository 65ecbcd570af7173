"""``GET /metrics``: the process's counters and the overhead histogram in the Prometheus text
format (bytespike/metrics.py).

Unauthenticated, like most exporters: it reveals counts, never keys or amounts. Each gateway
worker answers with its own counters; scrape every worker (or sum them) for the whole picture.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from bytespike.web.route_registry import PUBLIC, RouteSpec

ROUTES = (RouteSpec("GET", "/metrics", PUBLIC, "Prometheus metrics of this process"),)


async def metrics_endpoint(request: Request) -> Response:
    gateway = request.app.state.runtime.gateway
    body = gateway.meter.metrics.render() if gateway is not None else b""
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")
