"""Admin endpoints (role admin + ``admin`` scope): users, group grants, credits, orgs, audit log."""

from __future__ import annotations

from bytespike.access.admin import UNCHANGED, Adjustment
from bytespike.access.scopes import ADMIN
from bytespike.access.sign_in import sign_in
from bytespike.money import micros_to_usd_float
from bytespike.storage.orgs import MemberRecord, OrgRecord
from bytespike.storage.records import UserRecord
from bytespike.web.management import schemas as s
from bytespike.web.management.endpoint import Call, Endpoint, Param, Result
from bytespike.web.management.keys import cursor_of, iso
from bytespike.web.route_registry import PUBLIC

PAGING = (
    Param("limit", {"type": "integer", "minimum": 1, "maximum": 500}),
    Param("cursor", {"type": "string", "maxLength": 20}, "next_cursor of the previous page"),
)


def user_object(u: UserRecord) -> dict:
    return {
        "id": u.id,
        "email": u.email,
        "role": u.role,
        "tier": u.tier,
        "status": u.status,
        "concurrency_limit": u.concurrency_limit,
        "created_at": iso(u.created_at),
    }


def member_object(m: MemberRecord) -> dict:
    return {"user_id": m.user_id, "email": m.email, "role": m.role, "created_at": iso(m.created_at)}


def org_object(o: OrgRecord, members: list[MemberRecord] | None = None) -> dict:
    out = {
        "id": o.id,
        "name": o.name,
        "status": o.status,
        "wallet_id": o.wallet_id,
        "created_at": iso(o.created_at),
    }
    if members is not None:
        out["members"] = [member_object(m) for m in members]
    return out


def _page(items: list[dict], limit: int) -> dict:
    more = len(items) > limit
    items = items[:limit]
    return {
        "object": "list",
        "data": items,
        "has_more": more,
        "next_cursor": str(items[-1]["id"]) if more and items else None,
    }


def _who(call: Call) -> dict:
    return {"actor_user_id": call.actor.user_id, "actor_key_id": call.actor.key_id, "ip": call.client_ip}


# ---------------------------------------------------------------------------- sign-in (public)
async def sign_in_handler(call: Call) -> Result:
    services = call.services
    session = await sign_in(
        services.engine,
        services.sealer,  # type: ignore[arg-type]
        email=call.body["email"],
        password=call.body["password"],
        ip=call.client_ip,
    )
    return Result(
        {
            "user": {"id": session.user.id, "email": session.user.email, "role": session.user.role},
            "key_id": session.key_id,
            "key": session.key,
            "expires_at": iso(session.expires_at),
        }
    )


# ---------------------------------------------------------------------------- users
async def list_users(call: Call) -> Result:
    limit = call.query.get("limit", 100)
    users = await call.services.admin.list_users(
        call.actor,
        email=call.query.get("email"),
        after_id=cursor_of(call.query.get("cursor")),
        limit=limit + 1,
    )
    return Result(_page([user_object(u) for u in users], limit))


async def create_user(call: Call) -> Result:
    user = await call.services.admin.create_user(
        call.actor,
        email=call.body["email"],
        password=call.body.get("password"),
        role=call.body.get("role", "user"),
    )
    return Result(user_object(user), 201)


async def get_user(call: Call) -> Result:
    return Result(user_object(await call.services.admin.get_user(call.actor, call.path["user_id"])))


async def update_user(call: Call) -> Result:
    user = await call.services.admin.update_user(
        call.actor,
        call.path["user_id"],
        role=call.body.get("role"),
        status=call.body.get("status"),
        tier=call.body.get("tier"),
        concurrency_limit=call.body.get("concurrency_limit", UNCHANGED),
    )
    return Result(user_object(user))


async def grant_group(call: Call) -> Result:
    user_id = call.path["user_id"]
    granted = await call.services.admin.grant_group(call.actor, user_id, call.body["group_id"], grant=True)
    return Result({"user_id": user_id, "granted_group_ids": granted})


async def revoke_group(call: Call) -> Result:
    user_id = call.path["user_id"]
    granted = await call.services.admin.grant_group(call.actor, user_id, call.path["group_id"], grant=False)
    return Result({"user_id": user_id, "granted_group_ids": granted})


async def adjust_credits(call: Call) -> Result:
    b = call.body
    done = await call.services.admin.adjust_credits(
        call.actor,
        user_id=b.get("user_id"),
        org_id=b.get("org_id"),
        amount_usd=b["amount_usd"],
        note=b.get("note"),
        idempotency_key=b.get("idempotency_key"),
    )
    return ledger_result(done)


def ledger_result(done: Adjustment) -> Result:
    """A wallet movement an admin made: 201 when it moved the wallet, 200 for a replay."""
    e = done.entry
    return Result(
        {
            "id": e.id,
            "wallet_id": e.wallet_id,
            "kind": e.kind,
            "amount_usd": micros_to_usd_float(e.amount_micros),
            "amount_micros": e.amount_micros,
            "balance_after_usd": micros_to_usd_float(e.balance_after_micros),
            "balance_after_micros": e.balance_after_micros,
            "source": e.source,
            "note": e.note,
            "created_at": iso(e.created_at),
            "replayed": not done.is_new,
        },
        201 if done.is_new else 200,
    )


# ---------------------------------------------------------------------------- orgs
async def list_orgs(call: Call) -> Result:
    await call.services.admin.ensure_admin(call.actor)
    limit = call.query.get("limit", 100)
    found = await call.services.orgs.list(after_id=cursor_of(call.query.get("cursor")), limit=limit + 1)
    return Result(_page([org_object(o) for o in found], limit))


async def create_org(call: Call) -> Result:
    await call.services.admin.ensure_admin(call.actor)
    org = await call.services.orgs.create(
        name=call.body["name"],
        owner_user_id=call.body["owner_user_id"],
        actor_user_id=call.actor.user_id,
        ip=call.client_ip,
    )
    _, members = await call.services.orgs.get(org.id)
    return Result(org_object(org, members), 201)


async def get_org(call: Call) -> Result:
    await call.services.admin.ensure_admin(call.actor)
    org, members = await call.services.orgs.get(call.path["org_id"])
    return Result(org_object(org, members))


async def update_org(call: Call) -> Result:
    await call.services.admin.ensure_admin(call.actor)
    org = await call.services.orgs.update(
        call.path["org_id"], name=call.body.get("name"), status=call.body.get("status"), **_who(call)
    )
    _, members = await call.services.orgs.get(org.id)
    return Result(org_object(org, members))


async def set_member(call: Call) -> Result:
    await call.services.admin.ensure_admin(call.actor)
    org_id = call.path["org_id"]
    members = await call.services.orgs.set_member(
        org_id, call.path["user_id"], call.body["role"], **_who(call)
    )
    return Result({"org_id": org_id, "members": [member_object(m) for m in members]})


async def remove_member(call: Call) -> Result:
    await call.services.admin.ensure_admin(call.actor)
    org_id = call.path["org_id"]
    members = await call.services.orgs.remove_member(org_id, call.path["user_id"], **_who(call))
    return Result({"org_id": org_id, "members": [member_object(m) for m in members]})


# ---------------------------------------------------------------------------- audit
async def audit_log(call: Call) -> Result:
    limit = call.query.get("limit", 100)
    before = cursor_of(call.query.get("cursor")) or None
    entries = await call.services.admin.audit_log(
        call.actor, action=call.query.get("action"), before_id=before, limit=limit + 1
    )
    items = [
        {
            "id": e.id,
            "created_at": iso(e.created_at),
            "action": e.action,
            "target_type": e.target_type,
            "target_id": e.target_id,
            "actor_user_id": e.actor_user_id,
            "actor_key_id": e.actor_key_id,
            "detail": e.detail,
            "ip": e.ip,
        }
        for e in entries
    ]
    return Result(_page(items, limit))


USER = "/api/v1/admin/users/{user_id}"
ORG = "/api/v1/admin/orgs/{org_id}"
ENDPOINTS = (
    Endpoint(
        "POST",
        "/api/v1/auth/sign-in",
        PUBLIC,
        "signIn",
        "Email + password → a one-day management key (audited)",
        sign_in_handler,
        s.SESSION,
        body=s.SIGN_IN,
        tag="auth",
    ),
    Endpoint(
        "GET",
        "/api/v1/admin/users",
        ADMIN,
        "adminListUsers",
        "Users",
        list_users,
        s.page_of(s.USER),
        query=(Param("email", {"type": "string", "minLength": 1, "maxLength": 320}), *PAGING),
        tag="admin",
    ),
    Endpoint(
        "POST",
        "/api/v1/admin/users",
        ADMIN,
        "adminCreateUser",
        "Create a user",
        create_user,
        s.USER,
        status=201,
        body=s.USER_CREATE,
        tag="admin",
    ),
    Endpoint("GET", USER, ADMIN, "adminGetUser", "One user", get_user, s.USER, tag="admin"),
    Endpoint(
        "PATCH",
        USER,
        ADMIN,
        "adminUpdateUser",
        "Role, status, plan or concurrency limit of a user",
        update_user,
        s.USER,
        body=s.USER_UPDATE,
        tag="admin",
    ),
    Endpoint(
        "POST",
        USER + "/groups",
        ADMIN,
        "adminGrantGroup",
        "Grant an exclusive routing group",
        grant_group,
        s.GRANTS,
        body=s.GRANT,
        tag="admin",
    ),
    Endpoint(
        "DELETE",
        USER + "/groups/{group_id}",
        ADMIN,
        "adminRevokeGroup",
        "Remove a group grant",
        revoke_group,
        s.GRANTS,
        tag="admin",
    ),
    Endpoint(
        "POST",
        "/api/v1/admin/credits",
        ADMIN,
        "adminAdjustCredits",
        "Credit or debit a user's or an org's wallet (idempotent with idempotency_key)",
        adjust_credits,
        s.LEDGER_ENTRY,
        status=201,
        body=s.CREDIT,
        tag="admin",
    ),
    Endpoint(
        "GET",
        "/api/v1/admin/orgs",
        ADMIN,
        "adminListOrgs",
        "Organizations",
        list_orgs,
        s.page_of(s.ORG),
        query=PAGING,
        tag="admin",
    ),
    Endpoint(
        "POST",
        "/api/v1/admin/orgs",
        ADMIN,
        "adminCreateOrg",
        "Create an org with its wallet and owner",
        create_org,
        s.ORG,
        status=201,
        body=s.ORG_CREATE,
        tag="admin",
    ),
    Endpoint("GET", ORG, ADMIN, "adminGetOrg", "One org with its members", get_org, s.ORG, tag="admin"),
    Endpoint(
        "PATCH",
        ORG,
        ADMIN,
        "adminUpdateOrg",
        "Rename, pause or resume an org",
        update_org,
        s.ORG,
        body=s.ORG_UPDATE,
        tag="admin",
    ),
    Endpoint(
        "PUT",
        ORG + "/members/{user_id}",
        ADMIN,
        "adminSetMember",
        "Add a member or change their role",
        set_member,
        s.MEMBERS,
        body=s.MEMBER_SET,
        tag="admin",
    ),
    Endpoint(
        "DELETE",
        ORG + "/members/{user_id}",
        ADMIN,
        "adminRemoveMember",
        "Remove a member (their org keys are revoked)",
        remove_member,
        s.MEMBERS,
        tag="admin",
    ),
    Endpoint(
        "GET",
        "/api/v1/admin/audit-log",
        ADMIN,
        "adminAuditLog",
        "Audit log, newest first",
        audit_log,
        s.page_of(s.AUDIT_ENTRY),
        query=(Param("action", {"type": "string", "minLength": 1, "maxLength": 64}), *PAGING),
        tag="admin",
    ),
)
