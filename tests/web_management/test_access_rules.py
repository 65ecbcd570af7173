"""Scopes, IP allow/deny lists, exclusive routing groups, model allow-lists, orgs and the
management rate limit — each through the HTTP API (spec §2.3, §3.9, §6.3, §7.1)."""

from __future__ import annotations

import pytest

from tests.web_management.support import Api


def _from(address: str) -> dict[str, str]:
    return {"x-forwarded-for": address}


async def _key(api: Api, caller: str, **fields):  # type: ignore[no-untyped-def]
    r = await api.call("POST", "/api/v1/keys", caller, {"name": "k", "group": "default", **fields})
    assert r.status == 201, r
    return r.json()


# ---------------------------------------------------------------------------- IP lists
@pytest.mark.parametrize(
    ("allow", "deny", "address", "allowed"),
    [
        (["10.0.0.0/8"], [], "10.1.2.3", True),
        (["10.0.0.0/8"], [], "192.0.2.7", False),
        (["10.0.0.0/8"], ["10.9.0.0/16"], "10.9.1.1", False),  # deny wins
        ([], ["192.0.2.0/24"], "192.0.2.7", False),
        ([], ["192.0.2.0/24"], "198.51.100.1", True),
        (["2001:db8::/32"], [], "2001:db8::42", True),
        (["2001:db8::/32"], [], "2001:dead::1", False),
        (["2001:db8::/32"], ["2001:db8:bad::/48"], "2001:db8:bad::1", False),
        (["10.0.0.0/8"], [], "::ffff:10.0.0.1", True),
    ],
)
async def test_ip_lists_on_inference_and_management(shared_api: Api, allow, deny, address, allowed) -> None:  # type: ignore[no-untyped-def]
    me = await shared_api.account()
    k = await _key(
        shared_api, me.key, ip_whitelist=allow, ip_blacklist=deny, scopes=["inference", "keys:read"]
    )
    chat = await shared_api.chat(k["key"], headers=_from(address))
    listing = await shared_api.call("GET", "/api/v1/keys", k["key"], headers=_from(address))
    for r in (chat, listing):
        if allowed:
            assert r.status == 200, r
        else:
            assert r.status == 403, r
            assert r.error["code"] == "permission_denied" and r.error["type"] == "permission_error"
            assert address in r.error["message"]


async def test_socket_address_is_used_without_a_trusted_proxy(api: Api) -> None:
    me = await api.account()
    k = await _key(api, me.key, ip_blacklist=["127.0.0.1"])
    assert (await api.chat(k["key"])).status == 403
    k2 = await _key(api, me.key, ip_whitelist=["127.0.0.0/8"])
    assert (await api.chat(k2["key"])).status == 200


@pytest.mark.parametrize("trusted", ["", "10.0.0.0/8"], ids=["no-proxies", "other-proxies"])
async def test_forwarded_for_from_an_untrusted_peer_is_ignored(database_url: str, tmp_path, trusted: str) -> None:
    """The peer (127.0.0.1) is not a trusted proxy, so X-Forwarded-For cannot claim an allowed
    address nor hide a denied one — on inference, management and the generation lookup."""
    api = Api(database_url, tmp_path, BYTESPIKE_TRUSTED_PROXIES=trusted)
    await api.start()
    try:
        me = await api.account()
        allow_other = await _key(api, me.key, ip_whitelist=["203.0.113.0/24"], scopes=["inference", "keys:read", "usage:read"])
        deny_local = await _key(api, me.key, ip_blacklist=["127.0.0.1"], scopes=["inference", "keys:read", "usage:read"])
        for k, claimed in ((allow_other, "203.0.113.5"), (deny_local, "198.51.100.1")):
            chat = await api.chat(k["key"], headers=_from(claimed))
            listing = await api.call("GET", "/api/v1/keys", k["key"], headers=_from(claimed))
            lookup = await api.call("GET", "/v1/generations/req_x", k["key"], headers=_from(claimed))
            for r in (chat, listing, lookup):
                assert r.status == 403, r
                assert r.error["code"] == "permission_denied" and "127.0.0.1" in r.error["message"]
                assert claimed not in r.error["message"]
        plain = await _key(api, me.key, scopes=["inference"])
        assert (await api.chat(plain["key"], headers=_from("203.0.113.5"))).status == 200
    finally:
        await api.stop()


async def test_invalid_cidr_is_a_clear_400(shared_api: Api) -> None:
    me = await shared_api.account()
    for field, value in (
        ("ip_whitelist", ["10.0.0.0/33"]),
        ("ip_blacklist", ["not-an-ip"]),
        ("ip_whitelist", ["::g/64"]),
    ):
        r = await shared_api.call(
            "POST", "/api/v1/keys", me.key, {"name": "k", "group": "default", field: value}
        )
        assert r.status == 400 and r.error["param"] == field and "CIDR" in r.error["message"], r


# ---------------------------------------------------------------------------- scopes
@pytest.mark.parametrize(
    ("scopes", "method", "path", "needed"),
    [
        (["inference"], "GET", "/api/v1/keys", "keys:read"),
        (["keys:read"], "POST", "/api/v1/keys", "keys:write"),
        (["keys:read"], "GET", "/v1/keys/1/reveal", "keys:write"),
        (["inference"], "GET", "/api/v1/me/account", "billing:read"),
        (["inference"], "GET", "/v1/balance", "billing:read"),
        (["inference"], "GET", "/api/v1/me/billing/transactions", "billing:read"),
        (["billing:read"], "GET", "/v1/usage", "usage:read"),
        (["billing:read"], "GET", "/api/v1/me/usage", "usage:read"),
        (["keys:write", "keys:read"], "GET", "/api/v1/admin/users", "admin"),
        (["usage:read"], "POST", "/v1/chat/completions", "inference"),
        (["usage:read"], "GET", "/v1/models", "models:read"),
    ],
)
async def test_every_route_checks_its_scope(shared_api: Api, scopes, method, path, needed) -> None:  # type: ignore[no-untyped-def]
    me = await shared_api.account(scopes=scopes)
    body = (
        {"model": "gpt-5-4-nano", "messages": [{"role": "user", "content": "hi"}]} if "chat" in path else None
    )
    if method == "POST" and "keys" in path:
        body = {"name": "x", "group": "default"}
    r = await shared_api.call(method, path, me.key, body)
    assert r.status == 403, r
    assert r.error["code"] == "permission_denied" and needed in r.error["message"]


async def test_a_key_cannot_grant_scopes_it_lacks_and_admin_needs_an_admin(shared_api: Api) -> None:
    me = await shared_api.account(scopes=["inference", "keys:read", "keys:write"])
    r = await shared_api.call(
        "POST", "/api/v1/keys", me.key, {"name": "x", "group": "default", "scopes": ["usage:read"]}
    )
    assert r.status == 403 and r.error["param"] == "scopes"
    user = await shared_api.account(scopes=["keys:write", "admin"])  # an admin scope on a non-admin user
    r = await shared_api.call(
        "POST", "/api/v1/keys", user.key, {"name": "x", "group": "default", "scopes": ["admin"]}
    )
    assert r.status == 403 and "administrators" in r.error["message"]
    r = await shared_api.call("GET", "/api/v1/admin/users", user.key)
    assert r.status == 403 and r.error["code"] == "permission_denied"


# ---------------------------------------------------------------------------- routing groups
async def test_exclusive_group_needs_a_grant_at_creation_and_at_request_time(api: Api) -> None:
    admin = await api.account(admin=True)
    me = await api.account()
    vip = await api.group_id("vip")
    groups = (await api.call("GET", "/api/v1/groups/available", me.key)).json()["data"]
    assert "vip" not in {g["name"] for g in groups} and "default" in {g["name"] for g in groups}
    refused = await api.call("POST", "/api/v1/keys", me.key, {"name": "v", "group_id": vip})
    assert refused.status == 403 and refused.error["code"] == "permission_denied"
    assert refused.error["param"] == "group_id"
    grant = await api.call("POST", f"/api/v1/admin/users/{me.user_id}/groups", admin.key, {"group_id": vip})
    assert grant.status == 200 and vip in grant.json()["granted_group_ids"]
    groups = (await api.call("GET", "/api/v1/groups/available", me.key)).json()["data"]
    assert {"name": "vip", "models": ["gpt-5-4"]}.items() <= next(
        g for g in groups if g["name"] == "vip"
    ).items()
    created = await api.call("POST", "/api/v1/keys", me.key, {"name": "v", "group_id": vip})
    assert created.status == 201, created
    k = created.json()
    assert (await api.chat(k["key"], model="gpt-5-4")).status == 200
    outside = await api.chat(k["key"], model="gpt-5-4-nano")
    assert outside.status == 403 and outside.error["code"] == "model_not_in_group"
    revoke = await api.call("DELETE", f"/api/v1/admin/users/{me.user_id}/groups/{vip}", admin.key)
    assert revoke.status == 200 and vip not in revoke.json()["granted_group_ids"]
    late = await api.chat(k["key"], model="gpt-5-4")
    assert (
        late.status == 403
        and late.error["code"] == "permission_denied"
        and "exclusive" in late.error["message"]
    )


async def test_model_outside_the_group_is_403_model_not_in_group_on_every_protocol(api: Api) -> None:
    me = await api.account()
    k = await _key(api, me.key, group="claude-default")
    chat = await api.chat(k["key"], model="gpt-5-4-nano")
    assert chat.status == 403 and chat.error["code"] == "model_not_in_group"
    gemini = await api.call(
        "POST",
        "/v1beta/models/gemini-2-5-flash:generateContent",
        None,
        {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]},
        headers={"x-goog-api-key": k["key"]},
    )
    assert gemini.status == 403 and gemini.json()["error"]["status"] == "PERMISSION_DENIED"
    narrowed = await _key(api, me.key, allowed_models=["gpt-5-4"])
    r = await api.chat(narrowed["key"], model="gpt-5-4-nano")
    assert r.status == 403 and r.error["code"] == "model_not_in_group"
    models = (await api.call("GET", "/v1/models", narrowed["key"])).json()["data"]
    assert [m["id"] for m in models] == ["gpt-5-4"]


# ---------------------------------------------------------------------------- orgs
async def test_org_keys_spend_the_org_wallet_and_carry_the_org_header(api: Api) -> None:
    admin = await api.account(admin=True)
    owner = await api.account(usd="0")
    member = await api.account(usd="0")
    org = await api.call(
        "POST", "/api/v1/admin/orgs", admin.key, {"name": "Dosia AI", "owner_user_id": owner.user_id}
    )
    assert org.status == 201, org
    org_id = org.json()["id"]
    assert org.json()["members"][0]["role"] == "owner"
    credit = await api.call("POST", "/api/v1/admin/credits", admin.key, {"org_id": org_id, "amount_usd": 25})
    assert credit.status == 201 and credit.json()["balance_after_usd"] == 25
    put = await api.call(
        "PUT", f"/api/v1/admin/orgs/{org_id}/members/{member.user_id}", admin.key, {"role": "member"}
    )
    assert put.status == 200 and {m["role"] for m in put.json()["members"]} == {"owner", "member"}
    # members may not create org keys; owners may
    denied = await api.call(
        "POST", "/api/v1/keys", member.key, {"name": "o", "group": "default", "org_id": org_id}
    )
    assert denied.status == 403 and denied.error["param"] == "org_id"
    k = await _key(api, owner.key, org_id=org_id)
    assert k["org_id"] == org_id
    r = await api.chat(k["key"])
    assert r.status == 200, r
    assert r.headers["x-org-quota-remaining-credits"] == "24.99"
    personal = await api.chat(owner.key)
    assert personal.status == 402 and "x-org-quota-remaining-credits" not in personal.headers
    account = await api.call("GET", "/api/v1/me/account", k["key"])
    assert account.json()["org"] == {"id": org_id, "name": "Dosia AI", "role": "owner"}
    assert account.json()["user"]["tier"] == "enterprise"
    assert "x-org-quota-remaining-credits" in account.headers
    balance = (await api.call("GET", "/v1/balance", k["key"])).json()
    assert (
        balance["org_wallet"]["org_id"] == org_id and balance["org_wallet"]["available_micros"] < 25_000_000
    )
    # pausing the org stops its keys with 403 permission_error, everywhere; resuming restores them
    paused = await api.call("PATCH", f"/api/v1/admin/orgs/{org_id}", admin.key, {"status": "paused"})
    assert paused.status == 200 and paused.json()["status"] == "paused"
    for resp in (await api.chat(k["key"]), await api.call("GET", "/api/v1/me/account", k["key"])):
        assert resp.status == 403 and resp.error["type"] == "permission_error", resp
        assert resp.error["code"] == "permission_denied" and "paused" in resp.error["message"]
    refused = await api.call(
        "POST", "/api/v1/keys", owner.key, {"name": "o", "group": "default", "org_id": org_id}
    )
    assert refused.status == 403 and "paused" in refused.error["message"]
    await api.call("PATCH", f"/api/v1/admin/orgs/{org_id}", admin.key, {"status": "active"})
    assert (await api.chat(k["key"])).status == 200
    # removing the owner-created key's user from the org revokes their org keys
    await api.call(
        "PUT", f"/api/v1/admin/orgs/{org_id}/members/{member.user_id}", admin.key, {"role": "owner"}
    )
    gone = await api.call("DELETE", f"/api/v1/admin/orgs/{org_id}/members/{owner.user_id}", admin.key)
    assert gone.status == 200
    assert (await api.chat(k["key"])).status == 401
    last = await api.call("DELETE", f"/api/v1/admin/orgs/{org_id}/members/{member.user_id}", admin.key)
    assert last.status == 409 and last.error["code"] == "last_owner"


# ---------------------------------------------------------------------------- management budget
@pytest.fixture
async def tight(database_url: str, tmp_path):  # type: ignore[no-untyped-def]
    server = Api(database_url, tmp_path, BYTESPIKE_MANAGEMENT_RATE_LIMIT="5")
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def test_management_calls_are_rate_limited_per_key_and_free(tight: Api) -> None:
    me, other = await tight.account(), await tight.account()
    statuses = [(await tight.call("GET", "/api/v1/keys", me.key)).status for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    r = await tight.call("GET", "/v1/balance", me.key)
    assert r.status == 429 and r.error["code"] == "rate_limit_exceeded" and int(r.headers["retry-after"]) >= 1
    assert (await tight.call("GET", "/api/v1/keys", other.key)).status == 200  # per key
    assert (await tight.chat(me.key)).status == 200  # inference is not a management call
    balance = (await tight.call("GET", "/v1/balance", other.key)).json()
    assert balance["wallet"]["balance_usd"] == 10  # management calls never debit
