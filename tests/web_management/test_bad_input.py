"""Bad input is a clear 4xx naming the field, never a 5xx, and changes nothing."""

# One server per backend for the module: every test snapshots the whole database around its call.

from __future__ import annotations

import pytest

from tests.web_management.support import Api

BAD_CREATE = [
    ({"name": "k", "group": "default", "surprise": 1}, "surprise"),
    ({"name": 5, "group": "default"}, "name"),
    ({"name": "", "group": "default"}, "name"),
    ({"name": "   ", "group": "default"}, "name"),
    ({"name": "k", "group_id": "1"}, "group_id"),
    ({"name": "k", "group_id": 0}, "group_id"),
    ({"name": "k", "group_id": 987654}, "group_id"),
    ({"name": "k", "group": "no-such-group"}, "group"),
    ({"name": "k", "group": "default", "quota": -1}, "quota"),
    ({"name": "k", "group": "default", "quota": "5"}, "quota"),
    ({"name": "k", "group": "default", "quota": True}, "quota"),
    ({"name": "k", "group": "default", "quota": 0.0000001}, "quota"),
    ({"name": "k", "group": "default", "quota": 1e12}, "quota"),
    ({"name": "k", "group": "default", "rate_limit_5h": -0.01}, "rate_limit_5h"),
    ({"name": "k", "group": "default", "rate_limit_1d": -5}, "rate_limit_1d"),
    ({"name": "k", "group": "default", "rate_limit_7d": [1]}, "rate_limit_7d"),
    ({"name": "k", "group": "default", "expires_in_days": 0}, "expires_in_days"),
    ({"name": "k", "group": "default", "expires_in_days": 1.5}, "expires_in_days"),
    ({"name": "k", "group": "default", "expires_in_days": "7"}, "expires_in_days"),
    ({"name": "k", "group": "default", "ip_whitelist": "10.0.0.0/8"}, "ip_whitelist"),
    ({"name": "k", "group": "default", "ip_whitelist": ["10.0.0.0/33"]}, "ip_whitelist"),
    ({"name": "k", "group": "default", "ip_whitelist": [10]}, "ip_whitelist[0]"),
    ({"name": "k", "group": "default", "ip_blacklist": ["1.2.3.4", "bogus"]}, "ip_blacklist"),
    ({"name": "k", "group": "default", "scopes": ["root"]}, "scopes[0]"),
    ({"name": "k", "group": "default", "scopes": "inference"}, "scopes"),
    ({"name": "k", "group": "default", "allowed_models": []}, "allowed_models"),
    ({"name": "k", "group": "default", "allowed_models": ["no-such-model"]}, "allowed_models"),
    ({"name": "k", "group": "claude-default", "allowed_models": ["gpt-5-4"]}, "allowed_models"),
    ({"name": "k", "group": "default", "custom_key": "sk-byts-short"}, "custom_key"),
    ({"name": "k", "group": "default", "custom_key": "sk-byts-" + "a" * 20 + "!" * 4}, "custom_key"),
    ({"name": "k", "group": "default", "parent_key_id": "1"}, "parent_key_id"),
    ({"name": "k\x00", "group": "default"}, "name"),
    ({"name": "k", "group": "default", "org_id": 424242}, "org_id"),
]


@pytest.mark.parametrize(("body", "param"), BAD_CREATE, ids=[p for _, p in BAD_CREATE])
async def test_bad_create_bodies(shared_api: Api, body, param) -> None:  # type: ignore[no-untyped-def]
    me = await shared_api.account()
    before = await shared_api.snapshot()
    r = await shared_api.call("POST", "/api/v1/keys", me.key, body)
    assert 400 <= r.status < 500, r
    assert r.error["param"] == param, r
    assert r.error["message"] and r.error["type"] and r.error["code"]
    assert await shared_api.snapshot() == before


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"{not json", 400),
        (b"[]", 400),
        (b'"a string"', 400),
        (b"", 400),
        (b'{"name": "k", "group": "default", "quota": NaN}', 400),
        (b'{"name": "k", "group": "default", "quota": 1e999}', 400),
        (b"\xff\xfe", 400),
    ],
)
async def test_malformed_bodies(shared_api: Api, raw: bytes, status: int) -> None:
    me = await shared_api.account()
    before = await shared_api.snapshot()
    r = await shared_api.call(
        "POST", "/api/v1/keys", me.key, data=raw, headers={"content-type": "application/json"}
    )
    assert r.status == status, r
    assert r.error["code"] == "invalid_param"
    assert await shared_api.snapshot() == before


@pytest.mark.parametrize(
    "body",
    [
        {"quota": -3},
        {"rate_limit_5h": -1},
        {"ip_whitelist": ["300.0.0.0/8"]},
        {"scopes": ["inference", 7]},
        {"unknown": True},
        {"name": None},
        {"expires_in_days": -1},
        {"group_id": 123456},
        {"allowed_models": ["not-a-model"]},
    ],
)
async def test_bad_patch_bodies_change_nothing(shared_api: Api, body) -> None:  # type: ignore[no-untyped-def]
    me = await shared_api.account()
    target = (await shared_api.call("POST", "/api/v1/keys", me.key, {"name": "t", "group": "default"})).json()
    before = await shared_api.snapshot()
    r = await shared_api.call("PATCH", f"/api/v1/keys/{target['id']}", me.key, body)
    assert 400 <= r.status < 500, r
    assert await shared_api.snapshot() == before
    assert (await shared_api.chat(target["key"])).status == 200


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/keys/abc",
        "/api/v1/keys/0",
        "/api/v1/keys/99999999999999999999999",
        "/api/v1/keys/-1",
        "/api/v1/keys?limit=0",
        "/api/v1/keys?limit=abc",
        "/api/v1/keys?status=sideways",
        "/api/v1/keys?cursor=xyz",
        "/api/v1/usage?since=yesterday",
        "/api/v1/usage?api_key_id=-4",
        "/api/v1/me/usage?group_by=week",
        "/api/v1/me/usage?group_by=day,hour",
        "/api/v1/me/usage?since=2020-01-01&until=2021-01-01",
        "/api/v1/me/billing/transactions?page_size=500",
        "/api/v1/me/billing/transactions?kind=gift",
        "/v1/usage?model=%00",
    ],
)
async def test_bad_paths_and_queries_are_4xx(shared_api: Api, path: str) -> None:
    me = await shared_api.account()
    r = await shared_api.call("GET", path, me.key)
    assert 400 <= r.status < 500, r
    assert "error" in r.json()


async def test_rotate_grace_and_admin_bodies(shared_api: Api) -> None:
    admin = await shared_api.account(admin=True)
    before = await shared_api.snapshot()
    cases = [
        ("POST", f"/api/v1/keys/{admin.key_id}/rotate", {"grace_period_seconds": -1}),
        ("POST", f"/api/v1/keys/{admin.key_id}/rotate", {"grace_period_seconds": 10**9}),
        ("POST", f"/api/v1/keys/{admin.key_id}/rotate", {"grace": 5}),
        ("POST", "/api/v1/admin/credits", {"user_id": admin.user_id, "amount_usd": 0}),
        ("POST", "/api/v1/admin/credits", {"user_id": admin.user_id, "org_id": 1, "amount_usd": 1}),
        ("POST", "/api/v1/admin/credits", {"amount_usd": 1}),
        ("POST", "/api/v1/admin/credits", {"user_id": 98765, "amount_usd": 1}),
        ("POST", "/api/v1/admin/users", {"email": "not-an-email"}),
        ("POST", "/api/v1/admin/users", {"email": "a@b.test", "password": "short"}),
        ("POST", "/api/v1/admin/users", {"email": "a@b.test", "password": "longenoughbutnosymbol1"}),
        ("PATCH", f"/api/v1/admin/users/{admin.user_id}", {"role": "user"}),
        ("PATCH", f"/api/v1/admin/users/{admin.user_id}", {"status": "disabled"}),
        ("PATCH", f"/api/v1/admin/users/{admin.user_id}", {"role": "root"}),
        ("POST", f"/api/v1/admin/users/{admin.user_id}/groups", {"group_id": 999}),
        ("DELETE", f"/api/v1/admin/users/{admin.user_id}/groups/1", None),
        ("POST", "/api/v1/admin/orgs", {"name": "x", "owner_user_id": 999}),
        ("PATCH", "/api/v1/admin/orgs/999", {"status": "paused"}),
    ]
    for method, path, body in cases:
        r = await shared_api.call(method, path, admin.key, body)
        assert 400 <= r.status < 500, (method, path, body, r)
    assert await shared_api.snapshot() == before
