"""Dashboard and Usage: balance, spend in the rolling windows, recent requests, charts of spend
and tokens by day and by model (Chart.js), a filterable per-request table and its CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from starlette.responses import Response, StreamingResponse

from bytespike.access.console_sessions import is_session_key
from bytespike.access.console_views import ConsoleViews
from bytespike.accounting.statements import UsageQuery
from bytespike.errors import GatewayError
from bytespike.web.console.views import Visit, usd

PAGE_SIZE = 50
CSV_PAGE = 500
CSV_MAX_ROWS = 100_000
CSV_COLUMNS = (
    "created_at",
    "request_id",
    "api_key_id",
    "model",
    "endpoint",
    "is_stream",
    "prompt_tokens",
    "completion_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "credits",
    "cost_usd",
)
WINDOWS = (("5 hours", timedelta(hours=5)), ("24 hours", timedelta(days=1)), ("7 days", timedelta(days=7)))


def _day(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None


def _query(visit: Visit) -> tuple[UsageQuery, dict[str, str], dict[str, str]]:
    params = visit.request.query_params
    values = {name: params.get(name, "").strip() for name in ("org", "key", "model", "since", "until")}
    errors: dict[str, str] = {}
    if values["org"] and not values["org"].isdigit():
        errors["org"] = "Choose whose requests to show."
    key_id = int(values["key"]) if values["key"].isdigit() else None
    since = _day(values["since"]) if values["since"] else None
    until = _day(values["until"]) if values["until"] else None
    if values["since"] and since is None:
        errors["since"] = "Use the form YYYY-MM-DD."
    if values["until"] and until is None:
        errors["until"] = "Use the form YYYY-MM-DD."
    return (
        UsageQuery(
            api_key_id=key_id,
            model=values["model"] or None,
            since=since,
            until=until + timedelta(days=1) if until is not None else None,
        ),
        values,
        errors,
    )


def org_of(values: dict[str, str]) -> int | None:
    """The org whose wallet's requests are asked for (``?org=``), or None for the caller's own."""
    return int(values["org"]) if values["org"].isdigit() else None


async def _key_names(visit: Visit) -> dict[int, str]:
    """The caller's keys, and the keys of the orgs they run (their usage is visible to them)."""
    listing = await visit.services.management.keys.list(
        visit.actor, status=None, parent_key_id=None, after_id=0, limit=500
    )
    names = {k.id: f"{k.name} ({k.masked_key})" for k in listing.keys if not is_session_key(k.name)}
    for org, keys in await ConsoleViews(visit.services.engine).org_keys(visit.actor.user_id):
        names.update({k.id: f"{k.name} ({k.masked_key}, {org.name})" for k in keys if k.id not in names})
    return names


def chart_data(buckets: list[dict[str, Any]]) -> dict[str, Any]:
    """Series for the four charts: spend and tokens by day (stacked by model), and by model."""
    days = sorted({b["bucket"] for b in buckets})
    models = sorted({b["model"] for b in buckets})
    spend = {m: [0.0] * len(days) for m in models}
    tokens = {m: [0] * len(days) for m in models}
    by_model: dict[str, dict[str, float]] = {m: {"usd": 0.0, "tokens": 0} for m in models}
    for b in buckets:
        i = days.index(b["bucket"])
        spend[b["model"]][i] += b["total_micros"] / 1_000_000
        tokens[b["model"]][i] += b["input_tokens"] + b["output_tokens"]
        by_model[b["model"]]["usd"] += b["total_micros"] / 1_000_000
        by_model[b["model"]]["tokens"] += b["input_tokens"] + b["output_tokens"]
    return {
        "days": days,
        "models": models,
        "spend_by_day": [{"label": m, "data": [round(v, 6) for v in spend[m]]} for m in models],
        "tokens_by_day": [{"label": m, "data": tokens[m]} for m in models],
        "spend_by_model": [round(by_model[m]["usd"], 6) for m in models],
        "tokens_by_model": [by_model[m]["tokens"] for m in models],
    }


async def dashboard(visit: Visit) -> Response:
    assert visit.principal is not None and visit.user is not None
    statements = visit.services.management.statements
    account = await statements.account(visit.principal)
    now = datetime.now(UTC)
    windows = []
    for label, span in WINDOWS:
        rollup = await statements.rollup(
            visit.principal, UsageQuery(since=now - span, until=now), ["model"], now=now
        )
        windows.append((label, rollup["totals"]["total_micros"], rollup["totals"]["call_count"]))
    recent, _ = await statements.usage_rows(visit.principal, UsageQuery(), before_id=None, page=1, limit=10)
    org_wallets = await ConsoleViews(visit.services.engine).org_wallets(visit.user.id)
    verified = await visit.services.accounts.is_verified(visit.user.id)
    return visit.render(
        "dashboard.html",
        account=account,
        windows=windows,
        recent=recent,
        names=await _key_names(visit),
        org_wallets=org_wallets,
        verified=verified,
        notice="Your email address is verified."
        if visit.request.query_params.get("notice") == "verified"
        else None,
    )


async def usage_page(visit: Visit) -> Response:
    assert visit.principal is not None
    statements = visit.services.management.statements
    query, values, errors = _query(visit)
    try:
        page = max(1, int(visit.request.query_params.get("page", "1")))
    except ValueError:
        page = 1
    rows: list[dict[str, Any]] = []
    more = False
    charts: dict[str, Any] = chart_data([])
    totals: dict[str, Any] = {}
    if not errors:
        try:
            org_id = org_of(values)
            rollup = await statements.rollup(visit.principal, query, ["day", "model"], org_id=org_id)
            rows, more = await statements.usage_rows(
                visit.principal, query, before_id=None, page=page, limit=PAGE_SIZE, org_id=org_id
            )
        except GatewayError as exc:
            errors[{"api_key_id": "key", "org_id": "org"}.get(exc.param or "", exc.param or "since")] = (
                exc.message
            )
        else:
            charts = chart_data(rollup["buckets"])
            totals = rollup["totals"]
    names = await _key_names(visit)
    org_wallets = await ConsoleViews(visit.services.engine).org_wallets(visit.principal.user_id)
    models = sorted(m.slug for m in visit.services.management.catalogue.models.values())
    filters = "&".join(f"{k}={v}" for k, v in values.items() if v)
    return visit.render(
        "usage.html",
        status=400 if errors else 200,
        errors=errors,
        values=values,
        rows=rows,
        more=more,
        page=page,
        names=names,
        org_wallets=org_wallets,
        models=models,
        totals=totals,
        charts_json=orjson.dumps(charts).decode(),
        filters=filters,
        usd=usd,
    )


async def usage_csv(visit: Visit) -> Response:
    assert visit.principal is not None
    statements = visit.services.management.statements
    principal = visit.principal
    query, values, errors = _query(visit)
    org_id = org_of(values)
    if org_id is not None and org_id not in {
        w.org.id for w in await ConsoleViews(visit.services.engine).org_wallets(principal.user_id)
    }:
        errors["org"] = "No such organization."
    if errors:
        return visit.render("error.html", status=400, title="Bad filter", message=" ".join(errors.values()))

    async def lines() -> AsyncIterator[str]:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        before: int | None = None
        sent = 0
        while sent < CSV_MAX_ROWS:
            rows, more = await statements.usage_rows(
                principal, query, before_id=before, page=1, limit=CSV_PAGE, org_id=org_id
            )
            for row in rows:
                writer.writerow([row[c] for c in CSV_COLUMNS])
            sent += len(rows)
            yield out.getvalue()
            out.seek(0)
            out.truncate()
            if not more or not rows:
                break
            before = rows[-1]["id"]

    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="bytespike-usage-{stamp}.csv"'},
    )
