"""Every console route, served by ``bytespike serve`` beside the management API (docs/console.md)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bytespike.access.scopes import (
    ADMIN,
    BILLING_READ,
    INFERENCE,
    KEYS_READ,
    KEYS_WRITE,
    MODELS_READ,
    USAGE_READ,
)
from bytespike.web.console import (
    account_pages,
    admin_pages,
    auth_pages,
    billing_pages,
    key_pages,
    probe_page,
    reveal_pages,
    usage_pages,
)
from bytespike.web.console.services import ConsoleServices
from bytespike.web.console.views import Handler, redirect, view
from bytespike.web.route_registry import PUBLIC, RouteSpec

STATIC = Path(__file__).with_name("static")
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
GET, POST, BOTH = ("GET",), ("POST",), ("GET", "POST")

# (path, handler, methods, scope, who): ``who`` is "anyone", "signed-in" or "admin". A signed-in
# page also needs ``scope`` on the session's key (every scope but admin; admin for administrators).
PAGES: tuple[tuple[str, Handler, tuple[str, ...], str, str], ...] = (
    # accounts
    ("/sign-up", auth_pages.sign_up, BOTH, PUBLIC, "anyone"),
    ("/sign-in", auth_pages.sign_in, BOTH, PUBLIC, "anyone"),
    ("/sign-out", auth_pages.sign_out, POST, PUBLIC, "anyone"),
    ("/forgot-password", auth_pages.forgot_password, BOTH, PUBLIC, "anyone"),
    ("/reset-password", auth_pages.reset_password, BOTH, PUBLIC, "anyone"),
    ("/auth/google", auth_pages.google_start, BOTH, PUBLIC, "anyone"),
    ("/auth/google/callback", auth_pages.google_callback, GET, PUBLIC, "anyone"),
    ("/verify-email", auth_pages.verify_email, BOTH, MODELS_READ, "signed-in"),
    ("/verify-email/resend", auth_pages.resend_code, POST, MODELS_READ, "signed-in"),
    ("/account", account_pages.account, GET, MODELS_READ, "signed-in"),
    ("/account/invites", account_pages.mint_invite, POST, MODELS_READ, "signed-in"),
    # money
    ("/dashboard", usage_pages.dashboard, GET, USAGE_READ, "signed-in"),
    ("/billing", billing_pages.billing_page, GET, BILLING_READ, "signed-in"),
    ("/billing/top-up", billing_pages.top_up, POST, BILLING_READ, "signed-in"),
    ("/billing/threshold", billing_pages.set_threshold, POST, BILLING_READ, "signed-in"),
    ("/billing/return", billing_pages.billing_return, GET, BILLING_READ, "signed-in"),
    ("/billing/dev-checkout/{payment_id:int}", billing_pages.dev_checkout, BOTH, BILLING_READ, "signed-in"),
    # keys, usage, test
    ("/keys", key_pages.keys_page, GET, KEYS_READ, "signed-in"),
    ("/keys/new", key_pages.new_key, BOTH, KEYS_WRITE, "signed-in"),
    ("/keys/{key_id:int}", key_pages.edit_key, BOTH, KEYS_WRITE, "signed-in"),
    ("/keys/{key_id:int}/reveal", reveal_pages.reveal_key, BOTH, KEYS_WRITE, "signed-in"),
    ("/keys/{key_id:int}/reveal/google", reveal_pages.reveal_with_google, POST, KEYS_WRITE, "signed-in"),
    ("/keys/{key_id:int}/rotate", key_pages.rotate_key, POST, KEYS_WRITE, "signed-in"),
    ("/keys/{key_id:int}/revoke", key_pages.revoke_key, POST, KEYS_WRITE, "signed-in"),
    ("/usage", usage_pages.usage_page, GET, USAGE_READ, "signed-in"),
    ("/usage.csv", usage_pages.usage_csv, GET, USAGE_READ, "signed-in"),
    ("/test", probe_page.probe_page, BOTH, INFERENCE, "signed-in"),
    # administration
    ("/admin", admin_pages.users_page, GET, ADMIN, "admin"),
    ("/admin/users/{user_id:int}", admin_pages.user_detail, GET, ADMIN, "admin"),
    ("/admin/users/{user_id:int}/update", admin_pages.update_user, POST, ADMIN, "admin"),
    ("/admin/users/{user_id:int}/groups", admin_pages.update_grants, POST, ADMIN, "admin"),
    ("/admin/users/{user_id:int}/credits", admin_pages.adjust_credits, POST, ADMIN, "admin"),
    ("/admin/audit", admin_pages.audit_page, GET, ADMIN, "admin"),
)
WEBHOOK_PATH = "/billing/stripe/webhook"
STATIC_PATH = "/static/{name}"

CONSOLE_ROUTES: tuple[RouteSpec, ...] = (
    *(
        RouteSpec(method, path.replace(":int}", "}"), scope, f"console page ({who})")
        for path, _, methods, scope, who in PAGES
        for method in methods
    ),
    RouteSpec("POST", WEBHOOK_PATH, PUBLIC, "Stripe webhook (authenticated by its signature)"),
    RouteSpec("GET", STATIC_PATH, PUBLIC, "console stylesheet, script and Chart.js"),
)
ROUTES = CONSOLE_ROUTES
"""Picked up by web/route_registry.collect_route_specs with every other module's routes."""
"""Every console route and the scope it needs (web/route_registry.py); ``/`` is the app's own."""


def _static_files() -> dict[str, tuple[bytes, str]]:
    return {
        p.name: (p.read_bytes(), STATIC_TYPES[p.suffix]) for p in STATIC.iterdir() if p.suffix in STATIC_TYPES
    }


def console_routes(
    services: ConsoleServices, *, api_root: Callable[[Request], Awaitable[Response]]
) -> list[BaseRoute]:
    """The console's routes; ``/`` answers browsers with the console and other clients with ``api_root``."""
    files = _static_files()

    async def root(request: Request) -> Response:
        if request.method == "HEAD" or "text/html" not in request.headers.get("accept", ""):
            return await api_root(request)
        return redirect("/dashboard")

    async def static(request: Request) -> Response:
        found = files.get(request.path_params["name"])
        if found is None:
            return Response("not found", status_code=404, media_type="text/plain")
        return Response(
            found[0],
            media_type=found[1],
            headers={"cache-control": "public, max-age=3600", "x-content-type-options": "nosniff"},
        )

    return [
        Route("/", root, methods=["GET", "HEAD"]),
        Route(STATIC_PATH, static, methods=["GET"]),
        Route(WEBHOOK_PATH, billing_pages.stripe_webhook(services), methods=["POST"]),
        *(
            Route(
                path,
                view(services, handler, scope=None if who == "anyone" else scope, admin=who == "admin"),
                methods=list(methods),
            )
            for path, handler, methods, scope, who in PAGES
        ),
    ]
