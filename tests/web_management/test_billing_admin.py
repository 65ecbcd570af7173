"""Refunds (ledger kind ``refund``) and subscription renewals (``subscription_renew``) through
the admin API, on both databases (docs/billing.md "Refunds and subscription renewals")."""

from __future__ import annotations

from tests.web_management.support import Api


async def _transactions(api: Api, key: str, kind: str) -> list[dict]:
    r = await api.call("GET", f"/api/v1/me/billing/transactions?kind={kind}", key)
    assert r.status == 200, r
    return r.json()["items"]


async def test_a_billed_request_is_refunded_once_to_the_wallet_that_paid(api: Api) -> None:
    admin = await api.account(admin=True)
    me = await api.account(usd="10")
    billed = await api.chat(me.key)
    assert billed.status == 200
    request_id = billed.headers["x-request-id"]
    cost = 10_000_000 - int(billed.headers["x-bytespike-quota-remaining-micros"])
    assert cost > 0

    refund = await api.call("POST", "/api/v1/admin/refunds", admin.key, {"request_id": request_id, "note": "bad answer"})
    assert refund.status == 201, refund
    r = refund.json()
    assert (r["kind"], r["amount_micros"], r["wallet_id"], r["replayed"]) == ("refund", cost, me.wallet_id, False)
    assert r["balance_after_micros"] == 10_000_000 and r["source"]["request_id"] == request_id
    # The refund is visible to admission at once: the next charge starts from the whole balance.
    again = await api.chat(me.key)
    rows = (await api.call("GET", "/api/v1/usage", me.key)).json()["data"]
    second = next(row for row in rows if row["request_id"] == again.headers["x-request-id"])
    assert int(again.headers["x-bytespike-quota-remaining-micros"]) == 10_000_000 - second["credits"]
    (line,) = await _transactions(api, me.key, "refund")
    assert line["amount_micros"] == cost and line["note"] == "bad answer"
    assert line["source"]["request_id"] == request_id and line["source"]["actor"] == admin.email

    replay = await api.call("POST", "/api/v1/admin/refunds", admin.key, {"request_id": request_id})
    assert replay.status == 200 and replay.json()["replayed"] and replay.json()["id"] == r["id"]
    before = await api.snapshot()
    other = await api.call(
        "POST", "/api/v1/admin/refunds", admin.key, {"request_id": request_id, "amount_usd": 0.000001}
    )
    assert other.status == 409 and (other.error["code"], other.error["param"]) == ("already_refunded", "amount_usd")
    assert await api.snapshot() == before
    audit = (await api.call("GET", "/api/v1/admin/audit-log?action=admin.refund", admin.key)).json()["data"]
    assert [(e["detail"]["request_id"], e["detail"]["amount_micros"]) for e in audit] == [(request_id, cost)]


async def test_refund_refusals_change_nothing(api: Api) -> None:
    admin = await api.account(admin=True)
    me = await api.account(usd="10")
    billed = await api.chat(me.key)
    request_id = billed.headers["x-request-id"]
    failed = await api.chat(me.key, model="no-such-model")
    before = await api.snapshot()
    for body, status, code, param in (
        ({"request_id": "req_unknown"}, 404, "not_found", "request_id"),
        ({"request_id": failed.headers["x-request-id"]}, 404, "not_found", "request_id"),  # never billed
        ({"request_id": request_id, "amount_usd": 5}, 400, "invalid_param", "amount_usd"),  # above its cost
        ({"request_id": request_id, "amount_usd": 0}, 400, "invalid_param", "amount_usd"),
        ({"request_id": request_id, "extra": 1}, 400, "invalid_param", "extra"),
    ):
        r = await api.call("POST", "/api/v1/admin/refunds", admin.key, body)
        assert (r.status, r.error["code"], r.error["param"]) == (status, code, param), (body, r)
    not_admin = await api.call("POST", "/api/v1/admin/refunds", me.key, {"request_id": request_id})
    assert not_admin.status == 403
    assert await api.snapshot() == before


async def test_a_subscription_renewal_sets_the_plan_and_credits_its_period_once(api: Api) -> None:
    admin = await api.account(admin=True)
    me = await api.account(usd="1")
    path = f"/api/v1/admin/users/{me.user_id}/subscription/renewals"
    body = {"tier": "pro", "period": "2026-12", "credit_usd": 20, "note": "December"}
    renewed = await api.call("POST", path, admin.key, body)
    assert renewed.status == 201, renewed
    r = renewed.json()
    assert (r["kind"], r["amount_micros"], r["balance_after_micros"]) == ("subscription_renew", 20_000_000, 21_000_000)
    assert r["source"]["tier"] == "pro" and r["source"]["period"] == "2026-12"
    user = (await api.call("GET", f"/api/v1/admin/users/{me.user_id}", admin.key)).json()
    assert user["tier"] == "pro"
    account = (await api.call("GET", "/api/v1/me/account", me.key)).json()
    assert account["user"]["plan"] == "pro" and account["balance"]["lifetime_topup_usd"] == 20.0
    assert account["balance"]["available_usd"] == 21.0
    (line,) = await _transactions(api, me.key, "subscription_renew")
    assert line["amount_micros"] == 20_000_000 and line["note"] == "December"

    replay = await api.call("POST", path, admin.key, body)
    assert replay.status == 200 and replay.json()["replayed"] and replay.json()["id"] == r["id"]
    before = await api.snapshot()
    for changed in ({**body, "tier": "max"}, {**body, "credit_usd": 25}):
        conflict = await api.call("POST", path, admin.key, changed)
        assert conflict.status == 409 and (conflict.error["code"], conflict.error["param"]) == ("period_already_renewed", "period")
    for bad, param in (
        ({**body, "period": "2026-13"}, "period"),
        ({**body, "period": "2026-1"}, "period"),
        ({**body, "tier": "free"}, "tier"),
        ({**body, "credit_usd": 0}, "credit_usd"),
        ({**body, "credit_usd": 0.0000001}, "credit_usd"),
    ):
        r400 = await api.call("POST", path, admin.key, bad)
        assert r400.status == 400 and r400.error["param"] == param, (bad, r400)
    missing = await api.call("POST", "/api/v1/admin/users/999999/subscription/renewals", admin.key, body)
    assert missing.status == 404 and missing.error["param"] == "user_id"
    assert await api.snapshot() == before

    january = await api.call("POST", path, admin.key, {**body, "tier": "max", "period": "2027-01"})
    assert january.status == 201 and january.json()["balance_after_micros"] == 41_000_000
    assert (await api.call("GET", f"/api/v1/admin/users/{me.user_id}", admin.key)).json()["tier"] == "max"
