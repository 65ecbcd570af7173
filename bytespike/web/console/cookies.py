"""The console's cookies: the session, the CSRF token and the sign-in-with-Google state.

All are signed with itsdangerous under the server secret (each with its own salt), HttpOnly,
``SameSite=Lax`` (a top-level return from Google or Stripe still carries them; a cross-site
form post does not) and ``Secure`` when the console's public URL is HTTPS. The session cookie
carries the sealed secret of the session's key (access/console_sessions.py); the CSRF cookie a
random token every form must echo in its ``csrf_token`` field (double submit).
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.responses import Response

from bytespike.access.console_sessions import SESSION_LIFETIME

SESSION_COOKIE = "bs_session"
CSRF_COOKIE = "bs_csrf"
OIDC_COOKIE = "bs_oidc"
CSRF_FIELD = "csrf_token"
OIDC_STATE_MAX_AGE = 600
CSRF_MAX_AGE = 7 * 24 * 3600


class CookieJar:
    def __init__(self, server_secret: str, *, secure: bool) -> None:
        self._session = URLSafeTimedSerializer(server_secret, salt="bytespike-console-session")
        self._csrf = URLSafeTimedSerializer(server_secret, salt="bytespike-console-csrf")
        self._oidc = URLSafeTimedSerializer(server_secret, salt="bytespike-console-oidc")
        self.secure = secure

    def _set(self, response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(
            name, value, max_age=max_age, path="/", httponly=True, samesite="lax", secure=self.secure
        )

    # ------------------------------------------------------------------ session
    def session_token(self, cookies: dict[str, str]) -> str | None:
        raw = cookies.get(SESSION_COOKIE)
        if not raw:
            return None
        try:
            return str(self._session.loads(raw, max_age=int(SESSION_LIFETIME.total_seconds())))
        except BadSignature:
            return None

    def set_session(self, response: Response, token: str) -> None:
        self._set(response, SESSION_COOKIE, self._session.dumps(token), int(SESSION_LIFETIME.total_seconds()))

    def clear_session(self, response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=self.secure)

    # ------------------------------------------------------------------ CSRF
    def csrf_token(self, cookies: dict[str, str]) -> str | None:
        raw = cookies.get(CSRF_COOKIE)
        if not raw:
            return None
        try:
            return str(self._csrf.loads(raw, max_age=CSRF_MAX_AGE))
        except BadSignature:
            return None

    @staticmethod
    def new_csrf_token() -> str:
        return secrets.token_urlsafe(32)

    def set_csrf(self, response: Response, token: str) -> None:
        self._set(response, CSRF_COOKIE, self._csrf.dumps(token), CSRF_MAX_AGE)

    @staticmethod
    def csrf_matches(expected: str | None, sent: object) -> bool:
        return bool(expected) and isinstance(sent, str) and hmac.compare_digest(expected or "", sent)

    # ------------------------------------------------------------------ OpenID Connect state
    def set_oidc(self, response: Response, state: dict[str, Any]) -> None:
        self._set(response, OIDC_COOKIE, self._oidc.dumps(state), OIDC_STATE_MAX_AGE)

    def oidc_state(self, cookies: dict[str, str]) -> dict[str, Any] | None:
        raw = cookies.get(OIDC_COOKIE)
        if not raw:
            return None
        try:
            value = self._oidc.loads(raw, max_age=OIDC_STATE_MAX_AGE)
        except BadSignature:
            return None
        return value if isinstance(value, dict) else None

    def clear_oidc(self, response: Response) -> None:
        response.delete_cookie(OIDC_COOKIE, path="/", httponly=True, samesite="lax", secure=self.secure)
