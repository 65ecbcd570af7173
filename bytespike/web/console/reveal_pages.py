"""Revealing a key's secret after the owner proves it is them again: by re-entering the
password, or, for accounts linked to Google (which may have no password at all), by a fresh
Google sign-in — an OpenID Connect round trip with ``prompt=login`` and ``max_age=0`` whose ID
token must carry an ``auth_time`` from after the request and the subject linked to this account.
Every reveal goes through `KeyManager.reveal`, which audits it."""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.responses import Response

from bytespike.errors import GatewayError
from bytespike.storage.records import KeyRecord
from bytespike.web.console.key_pages import not_found, own_key
from bytespike.web.console.oidc import OidcError
from bytespike.web.console.views import Visit, redirect

log = logging.getLogger("bytespike.console")

REVEAL_PURPOSE = "reveal"
"""The ``purpose`` kept in the OpenID Connect state cookie of a re-authentication."""


async def _page(visit: Visit, record: KeyRecord, errors: dict[str, str], status: int = 200) -> Response:
    assert visit.user is not None
    accounts, oidc = visit.services.accounts, visit.services.oidc
    return visit.render(
        "key_reveal.html",
        status=status,
        errors=errors,
        key=record,
        has_password=await accounts.has_password(visit.user),
        google=oidc is not None and await accounts.is_linked(visit.user.id, issuer=oidc.issuer),
    )


async def _shown(visit: Visit, key_id: int) -> Response:
    record, secret = await visit.services.management.keys.reveal(visit.actor, key_id)
    return visit.render(
        "key_secret.html", key=record, secret=secret, action="revealed", endpoint=visit.base_url
    )


async def reveal_key(visit: Visit) -> Response:
    """GET: how to prove it is you; POST: the password."""
    assert visit.user is not None
    record = await own_key(visit)
    if record is None:
        return not_found(visit)
    if visit.request.method != "POST":
        return await _page(visit, record, {})
    # The same budget as sign-in: a stolen session cannot guess the password here either.
    if await visit.services.email_budget.take(f"console-sign-in:{visit.user.email}") is not None:
        return await _page(
            visit, record, {"password": "Too many attempts. Wait a minute and try again."}, 429
        )
    user = await visit.services.accounts.check_password(
        email=visit.user.email, password=visit.field("password")
    )
    if user is None or user.id != visit.user.id:
        return await _page(visit, record, {"password": "The password is wrong."}, 400)
    try:
        return await _shown(visit, record.id)
    except GatewayError as exc:
        return await _page(visit, record, {"form": exc.message}, exc.status)


async def reveal_with_google(visit: Visit) -> Response:
    """Send the owner to Google to sign in again; the callback (`finish_google_reveal`) reveals."""
    assert visit.user is not None
    record = await own_key(visit)
    if record is None:
        return not_found(visit)
    oidc = visit.services.oidc
    if oidc is None or not await visit.services.accounts.is_linked(visit.user.id, issuer=oidc.issuer):
        return await _page(visit, record, {"form": "This account is not linked to a Google account."}, 400)
    try:
        url, state = await oidc.authorization_url(
            visit.base_url + "/auth/google/callback", reauthenticate=True
        )
    except (OidcError, OSError, KeyError) as exc:
        log.warning("console: Google re-authentication is unreachable: %s", exc)
        return await _page(visit, record, {"form": "Google could not be reached. Try again."}, 502)
    state.update(
        purpose=REVEAL_PURPOSE, key_id=str(record.id), user_id=str(visit.user.id), since=str(int(time.time()))
    )
    visit.cookie_ops.append(lambda r: visit.services.cookies.set_oidc(r, state))
    return redirect(url)


async def finish_google_reveal(visit: Visit, kept: dict[str, Any], code: str) -> Response:
    """The callback of `reveal_with_google`: only a fresh sign-in of the linked identity reveals."""
    oidc = visit.services.oidc
    assert oidc is not None

    def refused(message: str, status: int = 403) -> Response:
        return visit.render("error.html", status=status, title="The secret stays hidden", message=message)

    if visit.user is None or str(visit.user.id) != kept.get("user_id"):
        return refused("Sign in to the console again, then reveal the key.")
    try:
        identity = await oidc.identity(
            code=code,
            redirect_uri=visit.base_url + "/auth/google/callback",
            nonce=kept["nonce"],
            verifier=kept["verifier"],
            authenticated_since=int(kept["since"]),
        )
    except OidcError as exc:
        log.warning("console: Google re-authentication refused: %s", exc)
        return refused("Google did not confirm that you signed in again just now. Try again.")
    if not await visit.services.accounts.is_linked(
        visit.user.id, issuer=identity.issuer, subject=identity.subject
    ):
        return refused("That Google account is not the one linked to this account.")
    try:
        return await _shown(visit, int(kept["key_id"]))
    except GatewayError as exc:
        return refused(exc.message, exc.status)
