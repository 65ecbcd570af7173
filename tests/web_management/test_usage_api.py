"""Per-call usage rows, rollups, balance and the account summary (spec §3.8.2, §3.8.3, §3.9.1-2, §9)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.web_management.support import Api


async def test_rows_filters_and_cursor(api: Api) -> None:
    me = await api.account()
    other_key = (await api.call("POST", "/api/v1/keys", me.key, {"name": "b", "group": "default"})).json()
    for _ in range(3):
        assert (await api.chat(me.key)).status == 200
    assert (await api.chat(other_key["key"], model="gpt-5-4")).status == 200
    failed = await api.chat(me.key, model="no-such-model")
    assert failed.status == 400
    rows = (await api.call("GET", "/v1/usage", me.key)).json()
    assert len(rows["data"]) == 4 and not rows["has_more"]  # failures never appear
    first = rows["data"][0]
    assert first["model"] == "gpt-5-4" and first["api_key_id"] == other_key["id"]
    assert first["credits"] > 0 and first["prompt_tokens"] > 0 and first["endpoint"] == "/v1/chat/completions"
    assert {r["id"] for r in rows["data"]} == {
        r["id"] for r in (await api.call("GET", "/api/v1/usage", me.key)).json()["data"]
    }
    by_key = (await api.call("GET", f"/api/v1/usage?api_key_id={me.key_id}", me.key)).json()["data"]
    assert len(by_key) == 3 and {r["api_key_id"] for r in by_key} == {me.key_id}
    by_model = (await api.call("GET", "/api/v1/usage?model=gpt-5-4", me.key)).json()["data"]
    assert [r["id"] for r in by_model] == [first["id"]]
    page1 = (await api.call("GET", "/v1/usage?limit=3", me.key)).json()
    assert page1["has_more"] and len(page1["data"]) == 3
    page2 = (await api.call("GET", f"/v1/usage?limit=3&cursor={page1['next_cursor']}", me.key)).json()
    assert [r["id"] for r in page1["data"] + page2["data"]] == [r["id"] for r in rows["data"]]
    paged = (await api.call("GET", "/v1/usage?limit=3&page=2", me.key)).json()
    assert paged["data"] == page2["data"]
    future = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert (await api.call("GET", f"/v1/usage?since={future}", me.key)).json()["data"] == []
    stranger = await api.account()
    assert (await api.call("GET", "/v1/usage", stranger.key)).json()["data"] == []
    hidden = await api.call("GET", f"/v1/usage?api_key_id={me.key_id}", stranger.key)
    assert hidden.json()["data"] == []


async def test_rollups_by_day_hour_model_and_key(api: Api) -> None:
    me = await api.account()
    for model in ("gpt-5-4-nano", "gpt-5-4-nano", "gpt-5-4"):
        assert (await api.chat(me.key, model=model)).status == 200
    rows = (await api.call("GET", "/v1/usage", me.key)).json()["data"]
    total = sum(r["credits"] for r in rows)
    today = datetime.now(UTC).date().isoformat()
    day = (await api.call("GET", "/api/v1/me/usage", me.key)).json()
    assert [b["bucket"] for b in day["buckets"]] == [today]
    assert day["totals"]["call_count"] == 3 and day["totals"]["total_micros"] == total
    models = (await api.call("GET", "/api/v1/me/usage?group_by=day,model", me.key)).json()["buckets"]
    assert {(b["model"], b["call_count"]) for b in models} == {("gpt-5-4-nano", 2), ("gpt-5-4", 1)}
    hours = (await api.call("GET", "/api/v1/me/usage?group_by=hour", me.key)).json()["buckets"]
    assert hours[0]["bucket"].startswith(today + "T") and hours[0]["bucket"].endswith(":00:00Z")
    keys = (await api.call("GET", "/api/v1/me/usage?group_by=api_key", me.key)).json()["buckets"]
    assert keys == [{**keys[0], "api_key_id": me.key_id, "call_count": 3}]
    masked = await api.call("GET", f"/api/v1/me/usage?api_key={me.key[:12]}", me.key)
    assert masked.status == 404
    listing = (await api.call("GET", "/api/v1/keys", me.key)).json()["data"]
    by_mask = (await api.call("GET", f"/api/v1/me/usage?api_key={listing[0]['masked_key']}", me.key)).json()
    assert by_mask["totals"]["call_count"] == 3
    filtered = (await api.call("GET", "/api/v1/me/usage?model=gpt-5-4", me.key)).json()
    assert filtered["totals"]["call_count"] == 1
    as_rows = (await api.call("GET", "/api/v1/me/usage?limit=2", me.key)).json()
    assert len(as_rows["data"]) == 2 and as_rows["has_more"]


async def test_balance_and_account(api: Api) -> None:
    me = await api.account(usd="20")
    capped = (
        await api.call(
            "POST",
            "/api/v1/keys",
            me.key,
            {
                "name": "c",
                "group": "default",
                "quota": 3,
                "rate_limit_5h": 1,
                "rate_limit_7d": 2,
                "scopes": ["inference", "billing:read"],
            },
        )
    ).json()
    assert (await api.chat(capped["key"])).status == 200
    b = (await api.call("GET", "/v1/balance", capped["key"])).json()
    assert b["key"]["id"] == capped["id"] and b["key"]["quota_usd"] == 3
    assert b["key"]["used_micros"] > 0 and b["key"]["remaining_usd"] <= 3
    assert b["wallet"]["available_micros"] == 20_000_000 - b["key"]["used_micros"]
    assert [w["window"] for w in b["windows"]] == ["5h", "7d"] and b["window"]["window"] == "5h"
    assert b["by_model"][0]["model"] == "gpt-5-4-nano" and b["by_model"][0]["call_count"] == 1
    assert "org_wallet" not in b
    a = (await api.call("GET", "/api/v1/me/account", me.key)).json()
    assert a["user"]["email"] == me.email and a["user"]["tier"] == "individual" and a["org"] is None
    assert a["balance"]["available_usd"] == 20.0 and a["balance"]["low_balance_flagged"] is False
    nano = next(m for m in a["allowed_models"] if m["id"] == "gpt-5-4-nano")
    assert nano["quota_cap_usd"] is None and nano["quota_used_usd"] >= 0
    narrow = (await api.call("GET", "/api/v1/me/account", capped["key"])).json()
    assert len(narrow["allowed_models"]) == len(a["allowed_models"])
