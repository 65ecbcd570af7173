"""Sub-keys: minted by a key holding keys:write, never beyond their parent, clamped by every
ancestor at request time, revoked with their parent, and billed against every ancestor."""

from __future__ import annotations

import pytest

from tests.web_management.support import Api

MANAGER_SCOPES = ["inference", "models:read", "usage:read", "billing:read", "keys:read", "keys:write"]


async def _parent(api: Api, **fields):  # type: ignore[no-untyped-def]
    """A user whose top-level key minted a capped manager sub-key; returns (account, manager json)."""
    me = await api.account()
    body = {
        "name": "manager",
        "parent_key_id": me.key_id,
        "group": "default",
        "quota": 5,
        "rate_limit_5h": 1,
        "rate_limit_1d": 2,
        "rate_limit_7d": 3,
        "ip_whitelist": ["127.0.0.0/8", "2001:db8::/32"],
        "ip_blacklist": ["127.0.0.66"],
        "allowed_models": ["gpt-5-4-nano", "gpt-5-4", "claude-haiku-4-5"],
        "scopes": MANAGER_SCOPES,
        "expires_in_days": 10,
        **fields,
    }
    r = await api.call("POST", "/api/v1/keys", me.key, body)
    assert r.status == 201, r
    return me, r.json()


async def test_a_sub_key_mints_children_that_inherit_its_limits(api: Api) -> None:
    _, manager = await _parent(api)
    r = await api.call("POST", "/api/v1/keys", manager["key"], {"name": "member"})
    assert r.status == 201, r
    child = r.json()
    assert child["parent_key_id"] == manager["id"] and child["group_id"] == manager["group_id"]
    for field in (
        "quota",
        "rate_limit_5h",
        "rate_limit_1d",
        "rate_limit_7d",
        "ip_whitelist",
        "ip_blacklist",
        "allowed_models",
        "expires_at",
    ):
        assert child[field] == manager[field], field
    assert set(child["scopes"]) <= set(manager["scopes"])
    assert (await api.chat(child["key"])).status == 200
    narrower = await api.call(
        "POST",
        "/api/v1/keys",
        manager["key"],
        {
            "name": "narrow",
            "quota": 1,
            "rate_limit_5h": 0.5,
            "allowed_models": ["gpt-5-4-nano"],
            "ip_whitelist": ["127.0.0.1"],
            "ip_blacklist": ["127.0.0.0/24"],
            "scopes": ["inference"],
            "expires_in_days": 1,
        },
    )
    assert narrower.status == 201, narrower


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"quota": 6}, "quota"),
        ({"quota": 0}, "quota"),  # unlimited under a capped parent
        ({"rate_limit_5h": 1.01}, "rate_limit_5h"),
        ({"rate_limit_1d": 0}, "rate_limit_1d"),
        ({"rate_limit_7d": 100}, "rate_limit_7d"),
        ({"allowed_models": ["gemini-2-5-flash"]}, "allowed_models"),
        ({"allowed_models": None}, "allowed_models"),
        ({"scopes": ["inference", "admin"]}, "scopes"),
        ({"scopes": ["images"]}, "scopes"),
        ({"ip_whitelist": ["10.0.0.0/8"]}, "ip_whitelist"),
        ({"ip_whitelist": []}, "ip_whitelist"),
        ({"ip_whitelist": ["0.0.0.0/0"]}, "ip_whitelist"),
        ({"ip_blacklist": []}, "ip_blacklist"),
        ({"expires_in_days": 11}, "expires_in_days"),
        ({"expires_in_days": None}, "expires_in_days"),
        ({"group": "claude-default"}, "group_id"),
    ],
)
async def test_a_sub_key_cannot_be_created_past_its_parent(shared_api: Api, fields, param) -> None:  # type: ignore[no-untyped-def]
    _, manager = await _parent(shared_api)
    before = await shared_api.snapshot()
    r = await shared_api.call("POST", "/api/v1/keys", manager["key"], {"name": "too-much", **fields})
    assert r.status in (400, 403), r
    assert r.error["param"] == param, r
    assert await shared_api.snapshot() == before


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"quota": 5.01}, "quota"),
        ({"rate_limit_7d": 0}, "rate_limit_7d"),
        ({"allowed_models": ["gpt-5-4", "claude-opus-4-6"]}, "allowed_models"),
        ({"scopes": ["inference", "keys:write", "images"]}, "scopes"),
        ({"ip_whitelist": ["2001:db8::/16"]}, "ip_whitelist"),
        ({"ip_blacklist": ["10.0.0.0/8"]}, "ip_blacklist"),
        ({"expires_in_days": 30}, "expires_in_days"),
    ],
)
async def test_a_sub_key_cannot_be_edited_past_its_parent(shared_api: Api, fields, param) -> None:  # type: ignore[no-untyped-def]
    me, manager = await _parent(shared_api)
    child = (await shared_api.call("POST", "/api/v1/keys", manager["key"], {"name": "member"})).json()
    before = await shared_api.snapshot()
    for caller in (manager["key"], me.key):  # not even the user's top-level key may do it
        r = await shared_api.call("PATCH", f"/api/v1/keys/{child['id']}", caller, fields)
        assert r.status in (400, 403), r
        assert r.error["param"] == param, r
    assert await shared_api.snapshot() == before
    ok = await shared_api.call("PATCH", f"/api/v1/keys/{child['id']}", manager["key"], {"quota": 4.5})
    assert ok.status == 200 and ok.json()["quota"] == 4.5


async def test_parent_key_id_names_the_parent_explicitly(api: Api) -> None:
    me, manager = await _parent(api)
    r = await api.call(
        "POST", "/api/v1/keys", me.key, {"name": "c", "parent_key_id": manager["id"], "quota": 9}
    )
    assert r.status == 400 and r.error["param"] == "quota"
    r = await api.call(
        "POST", "/api/v1/keys", me.key, {"name": "c", "parent_key_id": manager["id"], "quota": 2}
    )
    assert r.status == 201 and r.json()["parent_key_id"] == manager["id"]


async def test_a_sub_key_reaches_only_its_own_subtree(api: Api) -> None:
    me, manager = await _parent(api)
    child = (await api.call("POST", "/api/v1/keys", manager["key"], {"name": "member"})).json()
    listed = (await api.call("GET", "/api/v1/keys", manager["key"])).json()["data"]
    assert [k["id"] for k in listed] == [manager["id"], child["id"]]
    for path in (f"/api/v1/keys/{me.key_id}", f"/api/v1/keys/{me.key_id}/reveal"):
        assert (await api.call("GET", path, manager["key"])).status == 404
    sibling = (await api.call("POST", "/api/v1/keys", me.key, {"name": "sib", "group": "default"})).json()
    assert (await api.call("DELETE", f"/api/v1/keys/{sibling['id']}", manager["key"])).status == 404
    # a key without keys:write mints nothing
    r = await api.call("POST", "/api/v1/keys", child["key"], {"name": "grandchild"})
    assert r.status == 403 and r.error["code"] == "permission_denied"


async def test_revoking_a_parent_revokes_every_descendant(api: Api) -> None:
    me, manager = await _parent(api)
    child = (
        await api.call("POST", "/api/v1/keys", manager["key"], {"name": "child", "scopes": MANAGER_SCOPES})
    ).json()
    grandchild = (await api.call("POST", "/api/v1/keys", child["key"], {"name": "grandchild"})).json()
    assert grandchild["parent_key_id"] == child["id"]
    assert (await api.chat(grandchild["key"])).status == 200
    r = await api.call("DELETE", f"/api/v1/keys/{manager['id']}", me.key)
    assert r.status == 200 and sorted(r.json()["revoked_key_ids"]) == sorted(
        [manager["id"], child["id"], grandchild["id"]]
    )
    for secret in (manager["key"], child["key"], grandchild["key"]):
        refused = await api.chat(secret)
        assert refused.status == 401 and refused.error["code"] == "invalid_api_key"
    states = {k["id"]: k["status"] for k in (await api.call("GET", "/api/v1/keys", me.key)).json()["data"]}
    assert states[child["id"]] == states[grandchild["id"]] == "revoked"


async def test_spend_counts_against_every_ancestor(api: Api) -> None:
    me, manager = await _parent(api, quota=0.001, rate_limit_5h=0, rate_limit_1d=0, rate_limit_7d=0)
    child = (await api.call("POST", "/api/v1/keys", manager["key"], {"name": "member"})).json()
    first = await api.chat(child["key"])
    assert first.status == 200, first
    parent_after = (await api.call("GET", f"/api/v1/keys/{manager['id']}", me.key)).json()
    child_after = (await api.call("GET", f"/api/v1/keys/{child['id']}", me.key)).json()
    assert parent_after["used_micros"] == child_after["used_micros"] > 0
    # Spend the parent's quota through another child: the first child is stopped too.
    sibling = (await api.call("POST", "/api/v1/keys", manager["key"], {"name": "sibling"})).json()
    for _ in range(400):
        r = await api.chat(sibling["key"])
        if r.status == 402:
            break
    assert r.status == 402 and r.error["code"] == "quota_exceeded"
    blocked = await api.chat(child["key"])
    assert blocked.status == 402 and blocked.error["code"] == "quota_exceeded"


async def test_a_parent_narrowed_later_still_bounds_its_children(api: Api) -> None:
    me, manager = await _parent(api)
    child = (await api.call("POST", "/api/v1/keys", manager["key"], {"name": "member"})).json()
    assert (await api.chat(child["key"], model="gpt-5-4")).status == 200
    r = await api.call(
        "PATCH",
        f"/api/v1/keys/{manager['id']}",
        me.key,
        {"allowed_models": ["gpt-5-4-nano"], "ip_whitelist": ["10.0.0.0/8"]},
    )
    assert r.status == 200
    refused = await api.chat(child["key"], model="gpt-5-4")
    assert refused.status == 403 and refused.error["code"] in ("permission_denied", "model_not_in_group")
    await api.call("PATCH", f"/api/v1/keys/{manager['id']}", me.key, {"ip_whitelist": ["127.0.0.0/8"]})
    wrong_model = await api.chat(child["key"], model="gpt-5-4")
    assert wrong_model.status == 403 and wrong_model.error["code"] == "model_not_in_group"
    assert (await api.chat(child["key"], model="gpt-5-4-nano")).status == 200
