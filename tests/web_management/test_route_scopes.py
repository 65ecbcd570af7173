"""Every registered route declares the scope it needs (DESIGN.md §1: no side door).

The management application's routes are enumerated from the real app; the inference surfaces
are routed by hand, so their module is read for every path literal and every Gemini verb, each
of which must belong to a declared route. A route without a declaration fails here.
"""

from __future__ import annotations

import ast
import inspect

import pytest
from starlette.routing import Route

from bytespike.app import create_app
from bytespike.settings import load_settings
from bytespike.web import surfaces
from bytespike.web.management import ENDPOINTS, route_specs
from bytespike.web.management.routes import ROUTES as MANAGEMENT_ROUTES
from bytespike.web.route_registry import PUBLIC, RouteSpec, undeclared_routes
from tests.web_management.support import Api


def _app(tmp_path):  # type: ignore[no-untyped-def]
    settings = load_settings(
        environ={"BYTESPIKE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "BYTESPIKE_SECRET_KEY": "s" * 32}
    )
    return create_app(settings)


def test_every_registered_route_declares_a_scope(tmp_path) -> None:
    app = _app(tmp_path)
    problems = undeclared_routes(app.fallback.routes, route_specs())
    assert problems == []
    declared = {(s.method, s.path) for s in route_specs()}
    assert ("GET", "/api/v1/keys/{key_id}/reveal") in declared and (
        "GET",
        "/v1/keys/{key_id}/reveal",
    ) in declared


def test_a_route_without_a_scope_fails_the_check(tmp_path) -> None:
    async def handler(request):  # type: ignore[no-untyped-def]
        raise AssertionError

    app = _app(tmp_path)
    sneaky = [*app.fallback.routes, Route("/api/v1/side-door", handler, methods=["POST"])]
    added = set(undeclared_routes(sneaky, route_specs())) - set(
        undeclared_routes(app.fallback.routes, route_specs())
    )
    assert added == {"POST /api/v1/side-door (no RouteSpec)"}
    unscoped = [*route_specs(), RouteSpec("GET", "/api/v1/unscoped", None)]
    assert undeclared_routes([], unscoped) == ["GET /api/v1/unscoped (scope None)"]
    typo = [RouteSpec("GET", "/x", "keys:wrote")]
    assert undeclared_routes([], typo) == ["GET /x (scope 'keys:wrote')"]


def test_every_inference_path_in_the_surfaces_module_is_declared() -> None:
    tree = ast.parse(inspect.getsource(surfaces))
    literals = {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("/v1")
    }
    declared = [s.path for s in surfaces.ROUTES]
    missing = [lit for lit in literals if not any(p == lit or p.startswith(lit) for p in declared)]
    assert missing == []
    for prefix in surfaces.GEMINI_PREFIXES:
        for verb in surfaces.GEMINI_VERBS:
            assert f"{prefix}{{model}}:{verb}" in declared
    assert all(s.scope not in (None, PUBLIC) for s in surfaces.ROUTES)


def test_only_the_documented_management_routes_are_public() -> None:
    public = sorted(f"{s.method} {s.path}" for s in MANAGEMENT_ROUTES if s.scope == PUBLIC)
    assert public == ["GET /", "GET /api/v1/openapi.json", "GET /healthz", "POST /api/v1/auth/sign-in"]


@pytest.mark.parametrize("ep", [e for e in ENDPOINTS if e.scope != PUBLIC], ids=lambda e: e.operation_id)
async def test_every_scoped_management_route_refuses_a_key_without_its_scope(shared_api: Api, ep) -> None:  # type: ignore[no-untyped-def]
    holder = await shared_api.account(
        admin=True, scopes=[s for s in ("inference", "images") if s != ep.scope]
    )
    path = ep.path.replace("{key_id}", str(holder.key_id)).replace("{user_id}", "1").replace("{org_id}", "1")
    path = path.replace("{group_id}", "1")
    r = await shared_api.call(ep.method, path, holder.key, {} if ep.body is not None else None)
    assert r.status == 403 and ep.scope in r.error["message"], r
    nobody = await shared_api.call(ep.method, path, None, {} if ep.body is not None else None)
    assert nobody.status == 401, nobody
