"""Sign-in, the admin endpoints and the audit log (issue 4 #1, #7, #8)."""

from __future__ import annotations

import sqlalchemy as sa

from bytespike.storage.schema import users
from tests.web_management.support import Api

PASSWORD = "correct horse 1!"


async def _audit(api: Api, admin_key: str, action: str) -> list[dict]:
    r = await api.call("GET", f"/api/v1/admin/audit-log?action={action}", admin_key)
    assert r.status == 200, r
    return r.json()["data"]


async def test_sign_in_mints_a_day_long_management_key_and_is_audited(api: Api) -> None:
    admin = await api.account(admin=True)
    me = await api.account(password=PASSWORD)
    r = await api.call(
        "POST", "/api/v1/auth/sign-in", None, {"email": me.email.upper(), "password": PASSWORD}
    )
    assert r.status == 200, r
    session = r.json()
    assert session["user"]["id"] == me.user_id and session["expires_at"]
    created = await api.call(
        "POST", "/api/v1/keys", session["key"], {"name": "from-console", "group": "default"}
    )
    assert created.status == 201
    assert (await api.chat(session["key"])).status == 403  # no inference scope on a session key
    wrong = await api.call("POST", "/api/v1/auth/sign-in", None, {"email": me.email, "password": "nope" * 4})
    assert wrong.status == 401 and wrong.error["code"] == "invalid_credentials"
    nobody = await api.call(
        "POST", "/api/v1/auth/sign-in", None, {"email": "ghost@example.test", "password": "x"}
    )
    assert nobody.status == 401 and nobody.error == wrong.error
    assert [e["target_id"] for e in await _audit(api, admin.key, "user.sign_in")] == [str(me.user_id)]
    failures = await _audit(api, admin.key, "user.sign_in_failed")
    assert len(failures) == 2 and all(e["ip"] == "127.0.0.1" for e in failures)
    async with api.engine.connect() as conn:
        stored = await conn.scalar(sa.select(users.c.password_hash).where(users.c.id == me.user_id))
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


async def test_audit_log_records_key_lifecycle_and_admin_adjustments(api: Api) -> None:
    admin = await api.account(admin=True)
    created = (await api.call("POST", "/api/v1/keys", admin.key, {"name": "a", "group": "default"})).json()
    kid = created["id"]
    await api.call("GET", f"/v1/keys/{kid}/reveal", admin.key)
    await api.call("POST", f"/api/v1/keys/{kid}/rotate", admin.key, {"grace_period_seconds": 60})
    await api.call("DELETE", f"/api/v1/keys/{kid}", admin.key)
    credit = await api.call(
        "POST",
        "/api/v1/admin/credits",
        admin.key,
        {"user_id": admin.user_id, "amount_usd": -2.5, "note": "correction", "idempotency_key": "fix-1"},
    )
    assert credit.status == 201 and credit.json()["kind"] == "admin_debit"
    assert credit.json()["amount_micros"] == -2_500_000 and credit.json()["balance_after_usd"] == 7.5
    replay = await api.call(
        "POST",
        "/api/v1/admin/credits",
        admin.key,
        {"user_id": admin.user_id, "amount_usd": -2.5, "idempotency_key": "fix-1"},
    )
    assert replay.status == 200 and replay.json()["replayed"] and replay.json()["id"] == credit.json()["id"]
    log = (await api.call("GET", "/api/v1/admin/audit-log", admin.key)).json()["data"]
    actions = [e["action"] for e in log]
    assert actions == ["admin.credit_adjust", "key.revoke", "key.rotate", "key.reveal", "key.create"]
    assert all(e["actor_user_id"] == admin.user_id and e["actor_key_id"] == admin.key_id for e in log)
    assert log[2]["detail"] == {"grace_period_seconds": 60} and log[1]["detail"] == {"revoked": [kid]}
    assert created["key"] not in str(log)
    txns = (await api.call("GET", "/api/v1/me/billing/transactions?kind=admin_debit", admin.key)).json()
    assert txns["total"] == 1 and txns["items"][0]["source"]["actor"] == admin.email
    assert txns["items"][0]["note"] == "correction"
    page = (await api.call("GET", "/api/v1/admin/audit-log?limit=2", admin.key)).json()
    assert page["has_more"] and len(page["data"]) == 2
    rest = (await api.call("GET", f"/api/v1/admin/audit-log?cursor={page['next_cursor']}", admin.key)).json()
    assert [e["id"] for e in page["data"] + rest["data"]] == [e["id"] for e in log]


async def test_audit_log_is_for_admins_only(api: Api) -> None:
    me = await api.account(scopes=["keys:read", "keys:write", "admin"])
    r = await api.call("GET", "/api/v1/admin/audit-log", me.key)
    assert r.status == 403 and r.error["code"] == "permission_denied"


async def test_admin_manages_users(api: Api) -> None:
    admin = await api.account(admin=True)
    r = await api.call(
        "POST",
        "/api/v1/admin/users",
        admin.key,
        {"email": "New@Example.test", "password": PASSWORD, "role": "user"},
    )
    assert r.status == 201 and r.json()["email"] == "new@example.test", r
    uid = r.json()["id"]
    dup = await api.call("POST", "/api/v1/admin/users", admin.key, {"email": "new@example.test"})
    assert dup.status == 409
    found = (await api.call("GET", "/api/v1/admin/users?email=new@example.test", admin.key)).json()["data"]
    assert [u["id"] for u in found] == [uid]
    signed = await api.call(
        "POST", "/api/v1/auth/sign-in", None, {"email": "new@example.test", "password": PASSWORD}
    )
    session_key = signed.json()["key"]
    assert (await api.call("GET", "/api/v1/keys", session_key)).status == 200
    disabled = await api.call(
        "PATCH", f"/api/v1/admin/users/{uid}", admin.key, {"status": "disabled", "tier": "pro"}
    )
    assert disabled.json()["status"] == "disabled" and disabled.json()["tier"] == "pro"
    assert (await api.call("GET", "/api/v1/keys", session_key)).status == 401  # at once: published
    again = await api.call(
        "POST", "/api/v1/auth/sign-in", None, {"email": "new@example.test", "password": PASSWORD}
    )
    assert again.status == 401
    assert (await api.call("GET", f"/api/v1/admin/users/{uid}", admin.key)).json()["tier"] == "pro"
    actions = {
        e["action"] for e in (await api.call("GET", "/api/v1/admin/audit-log", admin.key)).json()["data"]
    }
    assert {"admin.user_create", "admin.user_update", "user.sign_in"} <= actions


async def test_admin_org_management(api: Api) -> None:
    admin = await api.account(admin=True)
    owner = await api.account()
    org = (
        await api.call(
            "POST", "/api/v1/admin/orgs", admin.key, {"name": "Acme", "owner_user_id": owner.user_id}
        )
    ).json()
    listed = (await api.call("GET", "/api/v1/admin/orgs", admin.key)).json()["data"]
    assert [o["id"] for o in listed] == [org["id"]]
    renamed = await api.call("PATCH", f"/api/v1/admin/orgs/{org['id']}", admin.key, {"name": "Acme Inc"})
    assert renamed.json()["name"] == "Acme Inc"
    demote = await api.call(
        "PUT", f"/api/v1/admin/orgs/{org['id']}/members/{owner.user_id}", admin.key, {"role": "admin"}
    )
    assert demote.status == 409 and demote.error["code"] == "last_owner"
    got = (await api.call("GET", f"/api/v1/admin/orgs/{org['id']}", admin.key)).json()
    assert got["members"] == [
        {
            "user_id": owner.user_id,
            "email": owner.email,
            "role": "owner",
            "created_at": got["members"][0]["created_at"],
        }
    ]
