"""The admin area: users (role, status, plan), group grants, credit adjustments, the audit log —
through the management API's `Administration`, which re-checks the caller is an administrator."""

from __future__ import annotations

import secrets

from starlette.responses import Response

from bytespike.access.admin import USER_ROLES, USER_STATUSES, USER_TIERS
from bytespike.access.console_views import ConsoleViews
from bytespike.accounting.meter import TIER_CAPS_TEXT
from bytespike.errors import GatewayError
from bytespike.web.console.views import Visit, redirect

NOTICES = {
    "saved": "The user is saved.",
    "granted": "The group grants are saved.",
    "credited": "The wallet adjustment is recorded.",
}


async def users_page(visit: Visit) -> Response:
    email = visit.request.query_params.get("email", "").strip() or None
    try:
        after = int(visit.request.query_params.get("after", "0"))
    except ValueError:
        after = 0
    users = await visit.services.management.admin.list_users(
        visit.actor, email=email, after_id=after, limit=100
    )
    return visit.render("admin_users.html", users=users, email=email or "", after=after)


async def user_page(visit: Visit, *, errors: dict[str, str] | None = None) -> Response:
    admin = visit.services.management.admin
    user_id = int(visit.request.path_params["user_id"])
    try:
        target = await admin.get_user(visit.actor, user_id)
    except GatewayError as exc:
        return visit.render("error.html", status=exc.status, title="Not found", message=exc.message)
    views = ConsoleViews(visit.services.engine)
    groups, granted = await views.groups_with_grants(visit.actor, user_id)
    wallet = await views.user_wallet(visit.actor, user_id)
    return visit.render(
        "admin_user.html",
        status=400 if errors else 200,
        errors=errors or {},
        target=target,
        groups=groups,
        granted=granted,
        wallet=wallet,
        roles=USER_ROLES,
        statuses=USER_STATUSES,
        tiers=USER_TIERS,
        tier_caps=TIER_CAPS_TEXT,
        adjustment_token=secrets.token_urlsafe(16),
        notice=NOTICES.get(visit.request.query_params.get("notice", "")),
    )


async def user_detail(visit: Visit) -> Response:
    return await user_page(visit)


def _concurrency_limit(text: str | None) -> object:
    """The form's field: blank = the plan's cap (None); digits = that number; anything else is
    passed on as text for the domain check to name the field."""
    text = (text or "").strip()
    if not text:
        return None
    return int(text) if text.isdigit() else text


async def update_user(visit: Visit) -> Response:
    user_id = int(visit.request.path_params["user_id"])
    try:
        await visit.services.management.admin.update_user(
            visit.actor,
            user_id,
            role=visit.field("role") or None,
            status=visit.field("status") or None,
            tier=visit.field("tier") or None,
            concurrency_limit=_concurrency_limit(visit.field("concurrency_limit")),
        )
    except GatewayError as exc:
        return await user_page(visit, errors={exc.param or "role": exc.message})
    return redirect(f"/admin/users/{user_id}?notice=saved")


async def update_grants(visit: Visit) -> Response:
    user_id = int(visit.request.path_params["user_id"])
    admin = visit.services.management.admin
    groups, granted = await ConsoleViews(visit.services.engine).groups_with_grants(visit.actor, user_id)
    wanted = {int(v) for v in visit.fields("group_ids") if v.isdigit()}
    try:
        for group in groups:
            if group.is_public:
                continue
            if group.id in wanted and group.id not in granted:
                await admin.grant_group(visit.actor, user_id, group.id, grant=True)
            elif group.id not in wanted and group.id in granted:
                await admin.grant_group(visit.actor, user_id, group.id, grant=False)
    except GatewayError as exc:
        return await user_page(visit, errors={"group_ids": exc.message})
    return redirect(f"/admin/users/{user_id}?notice=granted")


async def adjust_credits(visit: Visit) -> Response:
    user_id = int(visit.request.path_params["user_id"])
    try:
        await visit.services.management.admin.adjust_credits(
            visit.actor,
            user_id=user_id,
            org_id=None,
            amount_usd=visit.field("amount_usd") or "x",
            note=visit.field("note") or None,
            idempotency_key=visit.field("adjustment_token") or None,
        )
    except GatewayError as exc:
        return await user_page(visit, errors={"amount_usd": exc.message})
    return redirect(f"/admin/users/{user_id}?notice=credited")


async def audit_page(visit: Visit) -> Response:
    params = visit.request.query_params
    action = params.get("action", "").strip() or None
    before = int(params["before"]) if params.get("before", "").isdigit() else None
    entries = await visit.services.management.admin.audit_log(
        visit.actor, action=action, before_id=before, limit=100
    )
    return visit.render("admin_audit.html", entries=entries, action=action or "")
