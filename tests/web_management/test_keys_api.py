"""The key lifecycle through the HTTP API, on SQLite and PostgreSQL (spec §2.3, §2.4, §3.9.4)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bytespike.storage.schema import api_keys
from tests.web_management.support import Api

CUSTOM = "sk-byts-my-own-custom-secret-0123456789"


async def _create(api: Api, key: str, **fields):  # type: ignore[no-untyped-def]
    body = {"name": "k", "group_id": await api.group_id("default"), **fields}
    return await api.call("POST", "/api/v1/keys", key, body)


async def test_create_returns_every_field_and_the_secret_once(api: Api) -> None:
    me = await api.account()
    group = await api.group_id("claude-default")
    r = await api.call(
        "POST",
        "/api/v1/keys",
        me.key,
        {
            "name": "prod-vision-pipeline",
            "group_id": group,
            "quota": 12.5,
            "expires_in_days": 30,
            "rate_limit_5h": 1,
            "rate_limit_1d": 2.25,
            "rate_limit_7d": 10,
            "ip_whitelist": ["127.0.0.0/8", "2001:db8::/32"],
            "ip_blacklist": ["127.0.0.9"],
            "allowed_models": ["claude-haiku-4-5"],
            "scopes": ["inference", "usage:read"],
        },
    )
    assert r.status == 201, r
    k = r.json()
    assert k["key"].startswith("sk-byts-") and len(k["key"]) >= 48
    assert k["masked_key"].startswith("sk-byts-") and k["key"] not in r.json()["masked_key"]
    assert (k["name"], k["group_id"], k["group"]) == ("prod-vision-pipeline", group, "claude-default")
    assert (k["quota"], k["rate_limit_5h"], k["rate_limit_1d"], k["rate_limit_7d"]) == (12.5, 1, 2.25, 10)
    assert k["ip_whitelist"] == ["127.0.0.0/8", "2001:db8::/32"]
    assert k["ip_blacklist"] == ["127.0.0.9/32"]
    assert k["allowed_models"] == ["claude-haiku-4-5"] and k["scopes"] == ["inference", "usage:read"]
    expires = datetime.fromisoformat(k["expires_at"])
    assert abs(expires - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=1)
    assert k["status"] == "active" and k["parent_key_id"] is None and k["org_id"] is None
    # Shown once: reading the key back never includes the secret.
    got = await api.call("GET", f"/api/v1/keys/{k['id']}", me.key)
    assert got.status == 200 and "key" not in got.json()
    assert {x: y for x, y in got.json().items() if x != "updated_at"} == {
        x: y for x, y in k.items() if x not in ("key", "updated_at")
    }
    listed = await api.call("GET", "/api/v1/keys", me.key)
    assert k["key"] not in listed.raw.decode()


async def test_defaults_and_group_by_name(api: Api) -> None:
    me = await api.account()
    r = await api.call("POST", "/api/v1/keys", me.key, {"name": "n", "group": "gemini-default"})
    assert r.status == 201, r
    k = r.json()
    assert k["group"] == "gemini-default" and k["quota"] == 0 and k["expires_at"] is None
    assert k["ip_whitelist"] == [] and k["allowed_models"] is None
    assert set(k["scopes"]) == {"inference", "images", "tasks", "models:read", "usage:read", "billing:read"}
    missing = await api.call("POST", "/api/v1/keys", me.key, {"name": "n"})
    assert missing.status == 400 and missing.error["param"] == "group_id"


async def test_reveal_returns_the_same_secret_and_works_on_both_paths(api: Api) -> None:
    me = await api.account()
    created = (await _create(api, me.key)).json()
    for path in (f"/api/v1/keys/{created['id']}/reveal", f"/v1/keys/{created['id']}/reveal"):
        r = await api.call("GET", path, me.key)
        assert r.status == 200, r
        assert r.json()["key"] == created["key"] and r.json()["masked_key"] == created["masked_key"]


async def test_reveal_is_owner_only(api: Api) -> None:
    me, other = await api.account(), await api.account()
    created = (await _create(api, me.key)).json()
    r = await api.call("GET", f"/v1/keys/{created['id']}/reveal", other.key)
    assert r.status == 404 and r.error["code"] == "not_found"
    assert created["key"] not in r.raw.decode()


async def test_rotate_keeps_id_settings_and_history_and_kills_the_old_secret(api: Api) -> None:
    me = await api.account()
    created = (await _create(api, me.key, quota=3, scopes=["inference", "billing:read"])).json()
    assert (await api.chat(created["key"])).status == 200
    r = await api.call("POST", f"/api/v1/keys/{created['id']}/rotate", me.key)
    assert r.status == 200, r
    rotated = r.json()
    assert rotated["id"] == created["id"] and rotated["key"] != created["key"]
    assert rotated["quota"] == 3 and rotated["scopes"] == ["inference", "billing:read"]
    assert rotated["used_micros"] > 0  # usage history kept
    old = await api.chat(created["key"])
    assert old.status == 401 and old.error["code"] == "invalid_api_key"
    assert (await api.chat(rotated["key"])).status == 200
    revealed = await api.call("GET", f"/api/v1/keys/{created['id']}/reveal", me.key)
    assert revealed.json()["key"] == rotated["key"]
    rows = await api.call("GET", f"/api/v1/usage?api_key_id={created['id']}", me.key)
    assert len(rows.json()["data"]) == 2


async def test_rotate_with_a_grace_period(api: Api) -> None:
    me = await api.account()
    created = (await _create(api, me.key)).json()
    r = await api.call("POST", f"/api/v1/keys/{created['id']}/rotate", me.key, {"grace_period_seconds": 2})
    assert r.status == 200, r
    assert (await api.chat(created["key"])).status == 200  # still inside the grace period
    assert (await api.chat(r.json()["key"])).status == 200
    await asyncio.sleep(2.2)
    late = await api.chat(created["key"])
    assert late.status == 401 and "rotated" in late.error["message"]
    assert (await api.chat(r.json()["key"])).status == 200


async def test_revoke_then_401_and_status(api: Api) -> None:
    me = await api.account()
    created = (await _create(api, me.key)).json()
    assert (await api.chat(created["key"])).status == 200
    r = await api.call("DELETE", f"/api/v1/keys/{created['id']}", me.key)
    assert r.status == 200 and r.json()["status"] == "revoked" and r.json()["revoked_at"]
    assert r.json()["revoked_key_ids"] == [created["id"]]
    refused = await api.chat(created["key"])
    assert refused.status == 401 and refused.error["code"] == "invalid_api_key"
    assert (await api.call("GET", "/v1/models", created["key"])).status == 401
    again = await api.call("DELETE", f"/api/v1/keys/{created['id']}", me.key)
    assert again.status == 200 and again.json()["revoked_key_ids"] == []
    for verb, path, body in (
        ("POST", f"/api/v1/keys/{created['id']}/rotate", None),
        ("PATCH", f"/api/v1/keys/{created['id']}", {"name": "x"}),
    ):
        conflict = await api.call(verb, path, me.key, body)
        assert conflict.status == 409 and conflict.error["code"] == "key_not_active"
    listed = await api.call("GET", "/api/v1/keys?status=revoked", me.key)
    assert [k["id"] for k in listed.json()["data"]] == [created["id"]]


async def test_expired_key_gets_401_and_shows_expired(api: Api) -> None:
    me = await api.account()
    created = (await _create(api, me.key, expires_in_days=1)).json()
    assert (await api.chat(created["key"])).status == 200
    async with api.engine.begin() as conn:
        await conn.execute(
            api_keys.update()
            .where(api_keys.c.id == created["id"])
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    await asyncio.sleep(1.1)  # the resolver's cache TTL
    r = await api.chat(created["key"])
    assert r.status == 401 and r.error["code"] == "invalid_api_key" and "expired" in r.error["message"]
    got = await api.call("GET", f"/api/v1/keys/{created['id']}", me.key)
    assert got.json()["status"] == "expired"
    assert [
        k["id"] for k in (await api.call("GET", "/api/v1/keys?status=expired", me.key)).json()["data"]
    ] == [created["id"]]


async def test_custom_key_prefix_and_duplicates(api: Api) -> None:
    me = await api.account()
    ok = await _create(api, me.key, custom_key=CUSTOM)
    assert ok.status == 201 and ok.json()["key"] == CUSTOM
    assert (await api.chat(CUSTOM)).status == 200
    dup = await _create(api, me.key, custom_key=CUSTOM)
    assert dup.status == 409 and dup.error["code"] == "duplicate_key" and dup.error["param"] == "custom_key"
    bad = await _create(api, me.key, custom_key="sk-other-0123456789abcdef0123")
    assert bad.status == 400 and bad.error["param"] == "custom_key"


async def test_patch_edits_fields_and_takes_effect(api: Api) -> None:
    me = await api.account()
    created = (await _create(api, me.key)).json()
    r = await api.call(
        "PATCH",
        f"/api/v1/keys/{created['id']}",
        me.key,
        {
            "name": "renamed",
            "quota": 7,
            "rate_limit_1d": 0.5,
            "allowed_models": ["gpt-5-4"],
            "expires_in_days": 2,
        },
    )
    assert r.status == 200, r
    k = r.json()
    assert (k["name"], k["quota"], k["rate_limit_1d"], k["allowed_models"]) == (
        "renamed",
        7,
        0.5,
        ["gpt-5-4"],
    )
    assert k["expires_at"] is not None
    await asyncio.sleep(0)  # the change is published: no TTL wait needed in this process
    refused = await api.chat(created["key"], model="gpt-5-4-nano")
    assert refused.status == 403 and refused.error["code"] == "model_not_in_group"
    cleared = await api.call("PATCH", f"/api/v1/keys/{created['id']}", me.key, {"expires_in_days": None})
    assert cleared.json()["expires_at"] is None


async def test_list_is_cursor_paged_and_scoped_to_the_owner(api: Api) -> None:
    me, other = await api.account(), await api.account()
    ids = [me.key_id] + [(await _create(api, me.key, name=f"k{i}")).json()["id"] for i in range(4)]
    await _create(api, other.key)
    seen, cursor = [], None
    while True:
        path = "/api/v1/keys?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await api.call("GET", path, me.key)).json()
        seen += [k["id"] for k in page["data"]]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert seen == ids


async def test_someone_elses_key_id_is_404_everywhere_and_changes_nothing(api: Api) -> None:
    me, other = await api.account(), await api.account()
    before = await api.snapshot()
    for verb, path, body in (
        ("GET", f"/api/v1/keys/{other.key_id}", None),
        ("PATCH", f"/api/v1/keys/{other.key_id}", {"quota": 1}),
        ("DELETE", f"/api/v1/keys/{other.key_id}", None),
        ("POST", f"/api/v1/keys/{other.key_id}/rotate", {}),
        ("GET", f"/api/v1/keys/{other.key_id}/reveal", None),
        ("GET", f"/v1/keys/{other.key_id}/reveal", None),
        ("POST", "/api/v1/keys", {"name": "x", "parent_key_id": other.key_id}),
    ):
        r = await api.call(verb, path, me.key, body)
        assert r.status == 404 and r.error["code"] == "not_found", (verb, path, r)
    assert await api.snapshot() == before
    assert (await api.chat(other.key)).status == 200


async def test_unknown_key_id_is_404_in_the_openai_envelope(api: Api) -> None:
    me = await api.account()
    r = await api.call("GET", "/api/v1/keys/999999", me.key)
    assert r.status == 404 and r.json() == {
        "error": {
            "type": "not_found_error",
            "code": "not_found",
            "message": "no key with id 999999",
            "param": "id",
        }
    }
    async with api.engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(api_keys)) == 1
