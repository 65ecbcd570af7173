"""Every console route declares the scope it needs (DESIGN.md §1: no side door), and the
declaration is enforced: a session without the scope is refused."""

from __future__ import annotations

from starlette.routing import Route

from bytespike.app import create_app
from bytespike.settings import load_settings
from bytespike.web.console import CONSOLE_ROUTES
from bytespike.web.console.routes import PAGES, STATIC_PATH, WEBHOOK_PATH
from bytespike.web.route_registry import PUBLIC, RouteSpec, undeclared_routes


def test_every_console_route_is_declared(tmp_path) -> None:
    settings = load_settings(
        environ={"BYTESPIKE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "BYTESPIKE_SECRET_KEY": "s" * 32}
    )
    app = create_app(settings)
    console_paths = {p for p, *_ in PAGES} | {STATIC_PATH, WEBHOOK_PATH, "/"}
    routes = [r for r in app.fallback.routes if isinstance(r, Route) and r.path in console_paths]
    assert len(routes) == len(console_paths)
    specs = [*CONSOLE_ROUTES, RouteSpec("GET", "/", PUBLIC, "service banner")]
    assert undeclared_routes(routes, specs) == []
    assert {s.scope for s in CONSOLE_ROUTES if s.path.startswith("/admin")} == {"admin"}
    assert all(s.scope == PUBLIC for s in CONSOLE_ROUTES if s.path in ("/sign-in", "/sign-up", WEBHOOK_PATH))
