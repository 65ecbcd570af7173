"""The account page: who you are, email verification state, and your invite codes."""

from __future__ import annotations

from starlette.responses import Response

from bytespike.access.console_accounts import INVITES_PER_ACCOUNT, AccountError
from bytespike.web.console.views import Visit, redirect


async def account_page(visit: Visit, *, errors: dict[str, str] | None = None) -> Response:
    assert visit.user is not None
    accounts = visit.services.accounts
    return visit.render(
        "account.html",
        status=400 if errors else 200,
        errors=errors or {},
        verified=await accounts.is_verified(visit.user.id),
        invites=await accounts.invites(visit.user.id),
        invite_limit=None if visit.is_admin else INVITES_PER_ACCOUNT,
        invite_only=visit.services.settings.console.invite_only,
        notice="A new invite code is ready."
        if visit.request.query_params.get("notice") == "invite"
        else None,
    )


async def account(visit: Visit) -> Response:
    return await account_page(visit)


async def mint_invite(visit: Visit) -> Response:
    assert visit.user is not None
    try:
        await visit.services.accounts.mint_invite(visit.user)
    except AccountError as exc:
        return await account_page(visit, errors={"invite": str(exc)})
    return redirect("/account?notice=invite")
