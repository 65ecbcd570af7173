"""The plumbing every console page shares: who is signed in, CSRF, rendering, headers.

`view(handler)` wraps a page handler: it reads the CSRF cookie (minting one when missing),
resumes the session from its cookie, sends visitors who must sign in to ``/sign-in``, refuses
any POST whose ``csrf_token`` field does not match the cookie (403), and stamps every response
with the security headers below. Handlers receive a `Visit` and return a Starlette response.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from bytespike.access.actor import Actor
from bytespike.access.principal import Principal
from bytespike.money import micros_to_usd, micros_to_usd_exact
from bytespike.storage.records import UserRecord
from bytespike.web.client_address import client_ip
from bytespike.web.console.cookies import CSRF_FIELD
from bytespike.web.console.services import ConsoleServices

TEMPLATES = Path(__file__).with_name("templates")
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self' https://checkout.stripe.com"
)
"""``form-action`` comes last so that the Google sign-in provider's origin can be appended when it
is configured (`ConsoleServices.oidc_origin`): browsers apply ``form-action`` to the redirects
that follow a form, and "Sign up with Google" is a form (it carries the typed invite code)."""
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "cross-origin-opener-policy": "same-origin",
    "cache-control": "no-store",
}


def usd(micros: int | None) -> str:
    """USD for people: cents, except that an amount under a dollar with digits below the cent
    shows them all (``85`` → ``$0.000085``, never ``$0.00``: a probe costs a few micro-USD)."""
    if micros is None:
        return "—"
    sign = "-" if micros < 0 else ""
    amount = abs(micros)
    if amount < 1_000_000 and amount % 10_000:
        return f"{sign}${micros_to_usd_exact(amount)}"
    return f"{sign}${micros_to_usd(amount)}"


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    env.filters["usd"] = usd
    env.filters["when"] = lambda d: d.strftime("%Y-%m-%d %H:%M UTC") if d is not None else "—"
    return env


JINJA = _environment()


class CsrfRefused(Exception):
    pass


@dataclass
class Visit:
    """One request to a console page."""

    request: Request
    services: ConsoleServices
    csrf: str
    principal: Principal | None = None
    user: UserRecord | None = None
    form: FormData | None = None
    new_csrf: bool = False
    cookie_ops: list[Callable[[Response], None]] = field(default_factory=list)

    @property
    def ip(self) -> str | None:
        return client_ip(self.request.scope, self.services.management.trusted_proxies)

    @property
    def actor(self) -> Actor:
        assert self.principal is not None, "page needs a signed-in visitor"
        return Actor(self.principal, self.ip)

    @property
    def is_admin(self) -> bool:
        return self.user is not None and self.user.role == "admin"

    def field(self, name: str, default: str = "") -> str:
        value = self.form.get(name) if self.form is not None else None
        return value.strip() if isinstance(value, str) else default

    def fields(self, name: str) -> list[str]:
        if self.form is None:
            return []
        return [v.strip() for v in self.form.getlist(name) if isinstance(v, str) and v.strip()]

    @property
    def base_url(self) -> str:
        return self.services.public_url(str(self.request.base_url))

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = JINJA.get_template(template).render(
            visit=self,
            user=self.user,
            csrf_field=CSRF_FIELD,
            csrf_token=self.csrf,
            path=self.request.url.path,
            **context,
        )
        return HTMLResponse(html, status_code=status)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _finish(visit: Visit, response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    if visit.services.oidc_origin:
        response.headers["content-security-policy"] = (
            f"{CONTENT_SECURITY_POLICY} {visit.services.oidc_origin}"
        )
    if visit.services.cookies.secure:
        response.headers["strict-transport-security"] = "max-age=31536000; includeSubDomains"
    if visit.new_csrf:
        visit.services.cookies.set_csrf(response, visit.csrf)
    for op in visit.cookie_ops:
        op(response)
    return response


Handler = Callable[[Visit], Awaitable[Response]]


def view(
    services: ConsoleServices, handler: Handler, *, scope: str | None, admin: bool = False
) -> Callable[[Request], Awaitable[Response]]:
    """``scope`` None: anyone may visit; else a signed-in visitor whose session holds ``scope``."""
    signed_in = scope is not None

    async def endpoint(request: Request) -> Response:
        cookies = services.cookies
        token = cookies.csrf_token(request.cookies)
        visit = Visit(request, services, token or cookies.new_csrf_token(), new_csrf=token is None)
        session = cookies.session_token(request.cookies)
        if session is not None:
            visit.principal = await services.sessions.resume(session)
            if visit.principal is not None:
                visit.user = await services.accounts.user(visit.principal.user_id)
            else:
                visit.cookie_ops.append(cookies.clear_session)
        if request.method == "POST":
            visit.form = await request.form()
            if not cookies.csrf_matches(token, visit.form.get(CSRF_FIELD)):
                response = visit.render(
                    "error.html",
                    status=403,
                    title="Form refused",
                    message="This form was not sent from this site, or it has expired. "
                    "Go back, reload the page and try again.",
                )
                return _finish(visit, response)
        if signed_in and (visit.principal is None or visit.user is None):
            return _finish(visit, redirect("/sign-in?next=" + quote(request.url.path)))
        if scope is not None and visit.principal is not None and scope not in visit.principal.scopes:
            return _finish(
                visit,
                visit.render(
                    "error.html", status=403, title="Not allowed", message="This session may not do that."
                ),
            )
        if admin and not visit.is_admin:
            return _finish(
                visit,
                visit.render(
                    "error.html",
                    status=403,
                    title="Administrators only",
                    message="This page is for administrators.",
                ),
            )
        return _finish(visit, await handler(visit))

    endpoint.__name__ = handler.__name__
    return endpoint
