"""Account, balance, usage and ledger endpoints (spec §3.8.2, §3.8.3, §3.9.1-§3.9.3, §9 #1/#2)."""

from __future__ import annotations

from bytespike.access.scopes import BILLING_READ, USAGE_READ
from bytespike.accounting.statements import UsageQuery
from bytespike.errors import GatewayError
from bytespike.web.management import schemas as s
from bytespike.web.management.endpoint import Call, Endpoint, Param, Result
from bytespike.web.management.keys import cursor_of

TIME_PARAM = {"type": "string", "format": "date-time"}
USAGE_FILTERS = (
    Param("api_key_id", s.ID),
    Param("model", {"type": "string", "minLength": 1, "maxLength": 100}),
    Param("since", TIME_PARAM, "inclusive; ISO date or date-time"),
    Param("until", TIME_PARAM, "exclusive; ISO date or date-time"),
)
ROW_PAGING = (
    Param("limit", {"type": "integer", "minimum": 1, "maximum": 200}, "rows per page (default 50)"),
    Param("cursor", {"type": "string", "maxLength": 20}, "next_cursor of the previous page"),
    Param("page", {"type": "integer", "minimum": 1, "maximum": 100_000}, "alternative to cursor"),
)


def _usage_query(call: Call, api_key_id: int | None = None) -> UsageQuery:
    return UsageQuery(
        api_key_id=api_key_id if api_key_id is not None else call.query.get("api_key_id"),
        model=call.query.get("model"),
        since=call.query.get("since"),
        until=call.query.get("until"),
    )


async def _rows(call: Call, q: UsageQuery) -> Result:
    limit = call.query.get("limit", 50)
    before = cursor_of(call.query.get("cursor")) or None
    rows, has_more = await call.services.statements.usage_rows(
        call.principal,  # type: ignore[arg-type]
        q,
        before_id=before,
        page=call.query.get("page", 1) if before is None else 1,
        limit=limit,
    )
    return Result(
        {
            "object": "list",
            "data": rows,
            "has_more": has_more,
            "next_cursor": str(rows[-1]["id"]) if has_more and rows else None,
        }
    )


async def usage_rows(call: Call) -> Result:
    return await _rows(call, _usage_query(call))


async def me_usage(call: Call) -> Result:
    api_key = call.query.get("api_key")
    key_id = None
    if api_key is not None:
        key_id = await _key_id_of(call, api_key)
    q = _usage_query(call, key_id)
    if "limit" in call.query:  # spec §9 #2: also accept `limit` here and return rows
        return await _rows(call, q)
    group_by = [d.strip() for d in call.query.get("group_by", "day").split(",")]
    return Result(await call.services.statements.rollup(call.principal, q, group_by))  # type: ignore[arg-type]


async def _key_id_of(call: Call, api_key: str) -> int:
    """``api_key`` filter: a key id, or the masked form shown in listings."""
    if api_key.isdigit() and len(api_key) <= 16:
        return int(api_key)
    listing = await call.services.keys.list(
        call.actor, status=None, parent_key_id=None, after_id=0, limit=10_000
    )
    for record in listing.keys:
        if record.masked_key == api_key:
            return record.id
    raise GatewayError(404, "not_found", "no key with that id or masked form", "api_key")


async def me_account(call: Call) -> Result:
    return Result(await call.services.statements.account(call.principal))  # type: ignore[arg-type]


async def balance(call: Call) -> Result:
    return Result(await call.services.statements.balance(call.principal))  # type: ignore[arg-type]


async def transactions(call: Call) -> Result:
    return Result(
        await call.services.statements.transactions(
            call.principal,  # type: ignore[arg-type]
            kind=call.query.get("kind"),
            since=call.query.get("since"),
            until=call.query.get("until"),
            page=call.query.get("page", 1),
            page_size=call.query.get("page_size", 50),
        )
    )


ENDPOINTS = (
    Endpoint(
        "GET",
        "/api/v1/me/account",
        BILLING_READ,
        "meAccount",
        "Dashboard summary",
        me_account,
        s.ACCOUNT,
        tag="account",
    ),
    Endpoint(
        "GET",
        "/api/v1/me/usage",
        USAGE_READ,
        "meUsage",
        "Usage rollup by day/hour/model/api_key (or rows, when `limit` is given)",
        me_usage,
        s.USAGE_OR_ROLLUP,
        query=(
            Param("since", TIME_PARAM, "inclusive; default 30 days ago"),
            Param("until", TIME_PARAM, "exclusive; default now"),
            Param(
                "group_by",
                {"type": "string", "maxLength": 40},
                "comma list of day|hour, model, api_key (default day)",
            ),
            Param("model", {"type": "string", "minLength": 1, "maxLength": 100}),
            Param("api_key", {"type": "string", "minLength": 1, "maxLength": 64}, "key id or masked form"),
            *ROW_PAGING,
        ),
        tag="usage",
    ),
    Endpoint(
        "GET",
        "/api/v1/usage",
        USAGE_READ,
        "usageRows",
        "One row per billed request, newest first",
        usage_rows,
        s.page_of(s.USAGE_ROW),
        query=(*USAGE_FILTERS, *ROW_PAGING),
        tag="usage",
    ),
    Endpoint(
        "GET",
        "/v1/usage",
        USAGE_READ,
        "usageRowsV1",
        "One row per billed request, newest first (same as /api/v1/usage)",
        usage_rows,
        s.page_of(s.USAGE_ROW),
        query=(*USAGE_FILTERS, *ROW_PAGING),
        tag="usage",
    ),
    Endpoint(
        "GET",
        "/v1/balance",
        BILLING_READ,
        "balance",
        "Key quota, wallet, spend windows and per-model spend of the calling key",
        balance,
        s.BALANCE,
        tag="account",
    ),
    Endpoint(
        "GET",
        "/api/v1/me/billing/transactions",
        BILLING_READ,
        "billingTransactions",
        "Wallet movements that are not API calls, newest first",
        transactions,
        s.TRANSACTIONS,
        query=(
            Param("page", {"type": "integer", "minimum": 1, "maximum": 100_000}),
            Param("page_size", {"type": "integer", "minimum": 1, "maximum": 200}),
            Param(
                "kind",
                {
                    "type": "string",
                    "enum": ["topup", "bonus", "refund", "admin_credit", "admin_debit", "subscription_renew"],
                },
            ),
            Param("since", TIME_PARAM, "on or after"),
            Param("until", TIME_PARAM, "strictly before"),
        ),
        tag="account",
    ),
)
