"""Per-model lifetime caps of keys (spec §2.3, §3.9.1 ``allowed_models[].quota_cap_usd``): set
through the key API, enforced by admission on the key and its sub-keys, reported in
``/api/v1/me/account`` and a header, on both databases (docs/billing.md "Per-model caps")."""

from __future__ import annotations

from bytespike.money import micros_to_usd
from tests.web_management.support import Api, Resp

CAP_USD = 0.01
"""gpt-5-4 at $15 per million output tokens: a request allowing 400 of them holds about $0.006."""
WORDY = "Tell me about it. [[sim:words=150]]"


async def _gpt(api: Api, key: str, model: str = "gpt-5-4") -> Resp:
    body = {"model": model, "messages": [{"role": "user", "content": WORDY}], "max_tokens": 400}
    return await api.call("POST", "/v1/chat/completions", key, body)


async def _key(api: Api, caller: str, **fields) -> dict:  # type: ignore[no-untyped-def]
    r = await api.call("POST", "/api/v1/keys", caller, {"name": "k", "group": "default", **fields})
    assert r.status == 201, r
    return r.json()


async def _until_refused(api: Api, key: str) -> tuple[list[Resp], Resp]:
    ok: list[Resp] = []
    for _ in range(12):
        r = await _gpt(api, key)
        if r.status != 200:
            return ok, r
        ok.append(r)
    raise AssertionError("the per-model cap never refused")


async def _spent(api: Api, key: str, model: str) -> int:
    rows = (await api.call("GET", f"/api/v1/usage?model={model}&limit=200", key)).json()["data"]
    return sum(r["credits"] for r in rows)


async def test_a_model_cap_refuses_that_model_only_and_is_reported(api: Api) -> None:
    me = await api.account(usd="10")
    capped = await _key(api, me.key, model_quotas={"gpt-5-4": CAP_USD}, scopes=["inference", "billing:read", "usage:read", "keys:read"])
    assert capped["model_quotas"] == {"gpt-5-4": CAP_USD}
    assert (await api.call("GET", f"/api/v1/keys/{capped['id']}", me.key)).json()["model_quotas"] == {"gpt-5-4": CAP_USD}
    ok, refused = await _until_refused(api, capped["key"])
    assert ok, "the first requests fit under the cap"
    assert refused.status == 402 and refused.error["code"] == "quota_exceeded", refused
    assert "gpt-5-4" in refused.error["message"] and f"key {capped['id']}" in refused.error["message"]
    spent = await _spent(api, capped["key"], "gpt-5-4")
    assert 0 < spent <= CAP_USD * 1_000_000, "each charge stayed within its hold, so the cap held exactly"
    last = ok[-1].headers["x-bytespike-model-quota-remaining-credits"]
    assert last == micros_to_usd(int(CAP_USD * 1_000_000) - spent)
    other = await _gpt(api, capped["key"], model="gpt-5-4-nano")
    assert other.status == 200 and "x-bytespike-model-quota-remaining-credits" not in other.headers
    account = (await api.call("GET", "/api/v1/me/account", capped["key"])).json()
    line = next(m for m in account["allowed_models"] if m["id"] == "gpt-5-4")
    assert (line["quota_cap_usd"], line["quota_cap_key_id"]) == (CAP_USD, capped["id"])
    assert line["quota_used_usd"] == round(spent / 1_000_000, 2)
    nano = next(m for m in account["allowed_models"] if m["id"] == "gpt-5-4-nano")
    assert nano["quota_cap_usd"] is None
    # Lifting the cap (PATCH replaces the map) lets the model through again.
    lifted = await api.call("PATCH", f"/api/v1/keys/{capped['id']}", me.key, {"model_quotas": {}})
    assert lifted.status == 200 and lifted.json()["model_quotas"] == {}
    assert (await _gpt(api, capped["key"])).status == 200


async def test_a_sub_key_is_bounded_by_its_parents_model_cap(api: Api) -> None:
    me = await api.account(usd="10")
    parent = await _key(api, me.key, model_quotas={"gpt-5-4": CAP_USD}, scopes=["inference", "keys:write", "keys:read", "usage:read"])
    over = await api.call(
        "POST", "/api/v1/keys", parent["key"], {"name": "c", "parent_key_id": parent["id"], "model_quotas": {"gpt-5-4": 2 * CAP_USD}}
    )
    assert over.status == 400 and over.error["param"] == "model_quotas.gpt-5-4", over
    child = await _key(api, parent["key"], name="child", parent_key_id=parent["id"], scopes=["inference"])
    assert child["parent_key_id"] == parent["id"] and child["model_quotas"] == {}
    ok, refused = await _until_refused(api, child["key"])
    assert ok and refused.status == 402 and f"key {parent['id']}" in refused.error["message"]
    assert 0 < await _spent(api, parent["key"], "gpt-5-4") <= CAP_USD * 1_000_000


async def test_model_quota_refusals_are_clear_400s(api: Api) -> None:
    me = await api.account(usd="10")
    narrow = await _key(api, me.key, allowed_models=["gpt-5-4-nano"])
    before = await api.snapshot()
    for fields, param in (
        ({"model_quotas": {"no-such-model": 1}}, "model_quotas.no-such-model"),
        ({"model_quotas": {"gpt-5-4": -1}}, "model_quotas.gpt-5-4"),
        ({"model_quotas": {"gpt-5-4": "lots"}}, "model_quotas.gpt-5-4"),
        ({"model_quotas": {"gpt-5-4": 0.0000001}}, "model_quotas.gpt-5-4"),
        ({"model_quotas": ["gpt-5-4"]}, "model_quotas"),
    ):
        r = await api.call("POST", "/api/v1/keys", me.key, {"name": "k", "group": "default", **fields})
        assert r.status == 400 and r.error["param"] == param, (fields, r)
    outside = await api.call("PATCH", f"/api/v1/keys/{narrow['id']}", me.key, {"model_quotas": {"gpt-5-4": 1}})
    assert outside.status == 400 and outside.error["param"] == "model_quotas.gpt-5-4", outside
    assert await api.snapshot() == before
