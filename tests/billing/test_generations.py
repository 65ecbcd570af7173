"""``GET /v1/generations/{request_id}``: the owner's per-request cost lookup (free)."""

from __future__ import annotations

from tests.billing.support import Cluster
from tests.errors.support import ANTHROPIC, GEMINI, OPENAI, Err, call, check_error_object, send

NOT_FOUND = Err(404, "not_found", "not_found_error", "not_found_error", "NOT_FOUND")


async def test_a_generation_reports_tokens_credits_upstream_latency_and_rule(cluster: Cluster, client) -> None:
    user_id, _, email = await cluster.user("2")
    key = await cluster.key(email)
    resp = await call(client, cluster.url(0), ANTHROPIC, key.secret, stream=True, text="Hi [[sim:cache_read=7,words=5]]")
    assert resp.status == 200
    request_id = resp.headers["x-request-id"]
    (row,) = await cluster.usage_rows(key_id=key.key_id)
    balance = await cluster.balance(key.wallet_id)
    sibling = await cluster.key(email)  # another key of the same account may look too
    for secret, base in ((key.secret, cluster.url(1)), (sibling.secret, cluster.url(0))):
        got = await send(client, base, "GET", f"/v1/generations/{request_id}", headers=[("authorization", f"Bearer {secret}")])
        assert got.status == 200, got
        g = got.json()
        assert g["id"] == request_id and g["object"] == "generation"
        assert (g["model"], g["stream"], g["billing_rule"], g["api_key_id"]) == ("claude-haiku-4-5", True, "completed", key.key_id)
        u = g["usage"]
        assert (u["input_tokens"], u["output_tokens"], u["cache_read_tokens"]) == (
            row["input_tokens"],
            row["output_tokens"],
            7,
        )
        assert u["uncached_input_tokens"] == row["input_tokens"] - 7
        assert g["credits"] == row["cost_micros"] > 0
        assert g["upstream"] == {"provider": "anthropic", "protocol": "anthropic_messages"}
        assert g["latency_ms"] > 0 and g["ttft_ms"] is not None and g["ttft_ms"] <= g["latency_ms"]
        assert got.headers["x-quota-remaining-credits"]
    assert await cluster.usage_rows(key_id=sibling.key_id) == [], "looking is free"
    assert await cluster.balance(key.wallet_id) == balance
    assert user_id == key.user_id


async def test_someone_elses_unknown_or_failed_request_is_404(cluster: Cluster, client) -> None:
    key = await cluster.funded_key("1")
    stranger = await cluster.funded_key("1")
    ok = await call(client, cluster.url(0), OPENAI, key.secret)
    failed = await call(client, cluster.url(0), GEMINI, key.secret, text="Hi [[sim:error=500]]")
    assert (ok.status, failed.status) == (200, 502)
    for secret, request_id in (
        (stranger.secret, ok.headers["x-request-id"]),
        (key.secret, failed.headers["x-request-id"]),
        (key.secret, "req_does_not_exist"),
    ):
        got = await send(client, cluster.url(1), "GET", f"/v1/generations/{request_id}", headers=[("x-api-key", secret)])
        check_error_object(OPENAI, got.json(), NOT_FOUND, contains=[request_id])
        assert got.status == 404
    anonymous = await send(client, cluster.url(0), "GET", f"/v1/generations/{ok.headers['x-request-id']}")
    assert anonymous.status == 401


async def test_the_lookup_needs_usage_read_as_its_route_declares(cluster: Cluster, client) -> None:
    from bytespike.web.generations import ROUTES

    assert [r.scope for r in ROUTES] == ["usage:read"]
    _, _, email = await cluster.user("1")
    worker = await cluster.key(email, scopes=["inference"])
    reader = await cluster.key(email, scopes=["usage:read"])
    ok = await call(client, cluster.url(0), OPENAI, worker.secret)
    assert ok.status == 200
    path = f"/v1/generations/{ok.headers['x-request-id']}"
    refused = await send(client, cluster.url(0), "GET", path, headers=[("authorization", f"Bearer {worker.secret}")])
    assert refused.status == 403 and refused.json()["error"]["code"] == "permission_denied"
    assert "usage:read" in refused.json()["error"]["message"]
    allowed = await send(client, cluster.url(1), "GET", path, headers=[("authorization", f"Bearer {reader.secret}")])
    assert allowed.status == 200 and allowed.json()["id"] == ok.headers["x-request-id"]
