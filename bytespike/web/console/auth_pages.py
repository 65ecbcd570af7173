"""Sign-up, sign-in (password or Google), sign-out, email verification and password reset."""

from __future__ import annotations

import logging
import math
from urllib.parse import urlencode

from starlette.responses import Response

from bytespike.access.console_accounts import AccountError
from bytespike.storage.records import UserRecord
from bytespike.web.console.mailer import Mail
from bytespike.web.console.oidc import OidcError
from bytespike.web.console.reveal_pages import REVEAL_PURPOSE, finish_google_reveal
from bytespike.web.console.views import Visit, redirect

log = logging.getLogger("bytespike.console")

NOTICES = {
    "signed-out": "You are signed out.",
    "password-reset": "Your password is changed. Sign in with the new one.",
    "reset-sent": "If an account exists for that address, a reset link is on its way.",
    "verified": "Your email address is verified.",
    "code-sent": "A new code is on its way.",
}


def notice(visit: Visit) -> str | None:
    return NOTICES.get(visit.request.query_params.get("notice", ""))


def safe_next(value: str | None) -> str:
    """Only same-site paths: never ``//evil.example`` or an absolute URL."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/dashboard"


async def _sign_in_as(visit: Visit, user: UserRecord, method: str, next_path: str) -> Response:
    services = visit.services
    token = await services.sessions.open(user, ip=visit.ip, method=method)
    # A fresh CSRF token with every new session (no token fixation across sign-ins).
    visit.csrf = services.cookies.new_csrf_token()
    visit.new_csrf = True
    visit.cookie_ops.append(lambda r: services.cookies.set_session(r, token))
    return redirect(next_path)


async def _send_verification(visit: Visit, user_id: int, email: str) -> None:
    code = await visit.services.accounts.new_verification_code(user_id)
    await visit.services.mailer.send(
        Mail(
            to=email,
            subject=f"Your bytespike verification code: {code}",
            body=f"Your bytespike verification code is {code}\n\nIt expires in 30 minutes. "
            "If you did not sign up, ignore this message.\n",
        )
    )


def _auth_context(visit: Visit) -> dict:
    return {
        "invite_only": visit.services.settings.console.invite_only,
        "google": visit.services.oidc is not None,
        "notice": notice(visit),
    }


# ---------------------------------------------------------------------------- sign-up
async def sign_up(visit: Visit) -> Response:
    if visit.user is not None:
        return redirect("/dashboard")
    errors: dict[str, str] = {}
    values = {"email": "", "invite_code": visit.request.query_params.get("invite", "")}
    if visit.request.method == "POST":
        values = {"email": visit.field("email"), "invite_code": visit.field("invite_code")}
        try:
            user = await visit.services.accounts.sign_up(
                email=values["email"],
                password=visit.field("password"),
                invite_code=values["invite_code"] or None,
            )
        except AccountError as exc:
            errors[exc.field or "form"] = str(exc)
        else:
            await _send_verification(visit, user.id, user.email)
            return await _sign_in_as(visit, user, "password", "/verify-email")
    return _sign_up_page(visit, errors, values)


def _sign_up_page(visit: Visit, errors: dict[str, str], values: dict[str, str]) -> Response:
    return visit.render(
        "sign_up.html", status=400 if errors else 200, errors=errors, values=values, **_auth_context(visit)
    )


# ---------------------------------------------------------------------------- sign-in
async def sign_in(visit: Visit) -> Response:
    next_path = safe_next(visit.request.query_params.get("next"))
    if visit.user is not None:
        return redirect(next_path)
    errors: dict[str, str] = {}
    email = ""
    status = 200
    if visit.request.method == "POST":
        email = visit.field("email").lower()
        next_path = safe_next(visit.field("next") or None)
        services = visit.services
        wait = await services.address_budget.take(f"console-sign-in:{visit.ip}")
        if wait is None:
            wait = await services.email_budget.take(f"console-sign-in:{email}")
        if wait is not None:
            status = 429
            errors["form"] = f"Too many sign-in attempts. Try again in {math.ceil(wait)} seconds."
        else:
            user = await services.accounts.check_password(email=email, password=visit.field("password"))
            if user is not None:
                return await _sign_in_as(visit, user, "password", next_path)
            status = 400
            errors["password"] = "The email or the password is wrong."
    response = visit.render(
        "sign_in.html", status=status, errors=errors, email=email, next=next_path, **_auth_context(visit)
    )
    if status == 429:
        response.headers["retry-after"] = "60"
    return response


async def sign_out(visit: Visit) -> Response:
    if visit.principal is not None:
        await visit.services.sessions.close(visit.principal, ip=visit.ip)
    visit.cookie_ops.append(visit.services.cookies.clear_session)
    return redirect("/sign-in?notice=signed-out")


# ---------------------------------------------------------------------------- email verification
async def verify_email(visit: Visit) -> Response:
    assert visit.user is not None
    accounts = visit.services.accounts
    if await accounts.is_verified(visit.user.id):
        return redirect("/dashboard?notice=verified")
    errors: dict[str, str] = {}
    if visit.request.method == "POST":
        try:
            await accounts.verify_email(visit.user.id, visit.field("code"))
        except AccountError as exc:
            errors["code"] = str(exc)
        else:
            return redirect("/dashboard?notice=verified")
    return visit.render(
        "verify_email.html",
        status=400 if errors else 200,
        errors=errors,
        notice=notice(visit),
        mail_logged=not visit.services.mailer.delivers,
    )


async def resend_code(visit: Visit) -> Response:
    assert visit.user is not None
    if not await visit.services.accounts.is_verified(visit.user.id):
        await _send_verification(visit, visit.user.id, visit.user.email)
    return redirect("/verify-email?notice=code-sent")


# ---------------------------------------------------------------------------- password reset
async def forgot_password(visit: Visit) -> Response:
    errors: dict[str, str] = {}
    if visit.request.method == "POST":
        email = visit.field("email")
        if "@" not in email:
            errors["email"] = "Enter the email address of your account."
        else:
            wait = await visit.services.email_budget.take(f"console-reset:{email.lower()}")
            found = await visit.services.accounts.start_password_reset(email) if wait is None else None
            if found is not None:
                user, token = found
                link = f"{visit.base_url}/reset-password?{urlencode({'token': token})}"
                await visit.services.mailer.send(
                    Mail(
                        to=user.email,
                        subject="Reset your bytespike password",
                        body=f"Choose a new password here (the link works once, for one hour):\n\n{link}\n\n"
                        "If you did not ask for this, ignore this message.\n",
                    )
                )
            return redirect("/sign-in?notice=reset-sent")
    return visit.render("forgot_password.html", status=400 if errors else 200, errors=errors)


async def reset_password(visit: Visit) -> Response:
    accounts = visit.services.accounts
    errors: dict[str, str] = {}
    token = visit.request.query_params.get("token", "")
    if visit.request.method == "POST":
        token = visit.field("token")
        try:
            user = await accounts.reset_password(token, visit.field("password"))
        except AccountError as exc:
            errors[exc.field or "form"] = str(exc)
        else:
            await visit.services.sessions.close_all(user.id)
            visit.cookie_ops.append(visit.services.cookies.clear_session)
            return redirect("/sign-in?notice=password-reset")
    elif await accounts.reset_token_user(token) is None:
        errors["token"] = "This reset link is wrong or has expired: ask for a new one."
    return visit.render("reset_password.html", status=400 if errors else 200, errors=errors, token=token)


# ---------------------------------------------------------------------------- Google
async def google_start(visit: Visit) -> Response:
    """GET from the sign-in page (and ``?invite=`` links); POST from the sign-up form, carrying
    the invite code typed there, which is checked before the browser leaves for Google."""
    oidc = visit.services.oidc
    if oidc is None:
        return visit.render(
            "error.html", status=404, title="Not available", message="Google sign-in is not configured."
        )
    invite = visit.request.query_params.get("invite", "")
    if visit.request.method == "POST":
        invite = visit.field("invite_code")
        try:
            invite = await visit.services.accounts.check_invite(invite) or ""
        except AccountError as exc:
            return _sign_up_page(
                visit, {exc.field or "form": str(exc)}, {"email": visit.field("email"), "invite_code": invite}
            )
    try:
        url, state = await oidc.authorization_url(visit.base_url + "/auth/google/callback")
    except (OidcError, OSError, KeyError) as exc:
        log.warning("console: Google sign-in is unreachable: %s", exc)
        return visit.render(
            "error.html",
            status=502,
            title="Google sign-in failed",
            message="Google could not be reached. Try again.",
        )
    state["invite"] = invite
    state["next"] = safe_next(visit.request.query_params.get("next"))
    visit.cookie_ops.append(lambda r: visit.services.cookies.set_oidc(r, state))
    return redirect(url)


async def google_callback(visit: Visit) -> Response:
    services = visit.services
    oidc = services.oidc
    params = visit.request.query_params
    kept = services.cookies.oidc_state(visit.request.cookies)
    visit.cookie_ops.append(services.cookies.clear_oidc)

    def failed(message: str, status: int = 400) -> Response:
        return visit.render("error.html", status=status, title="Google sign-in failed", message=message)

    if oidc is None:
        return failed("Google sign-in is not configured.", 404)
    if kept is None or not params.get("state") or params.get("state") != kept.get("state"):
        return failed("This sign-in attempt expired or did not start here. Try again.")
    if params.get("error"):
        return failed(f"Google answered: {params.get('error_description') or params.get('error')}")
    if kept.get("purpose") == REVEAL_PURPOSE:
        return await finish_google_reveal(visit, kept, params.get("code", ""))
    try:
        identity = await oidc.identity(
            code=params.get("code", ""),
            redirect_uri=visit.base_url + "/auth/google/callback",
            nonce=kept["nonce"],
            verifier=kept["verifier"],
        )
        user = await services.accounts.external_sign_in(identity, invite_code=kept.get("invite") or None)
    except OidcError as exc:
        log.warning("console: Google sign-in refused: %s", exc)
        return failed("Google's answer could not be verified. Try again.", 502)
    except AccountError as exc:
        return failed(str(exc), 403)
    return await _sign_in_as(visit, user, "google", safe_next(kept.get("next")))
