"""Admin wallet operations beyond plain adjustments: refunding a billed request (ledger kind
``refund``) and recording a subscription renewal (``subscription_renew``); docs/billing.md."""

from __future__ import annotations

from bytespike.access.scopes import ADMIN
from bytespike.accounting.rebates import refund_request
from bytespike.accounting.subscriptions import renew_subscription
from bytespike.web.management import schemas as s
from bytespike.web.management.admin import USER, ledger_result
from bytespike.web.management.endpoint import Call, Endpoint, Result


async def refund(call: Call) -> Result:
    admin = await call.services.admin.ensure_admin(call.actor)
    done = await refund_request(
        call.services.engine,
        request_id=call.body["request_id"],
        amount_usd=call.body.get("amount_usd"),
        note=call.body.get("note"),
        actor=call.actor,
        actor_label=admin.email,
        wallet_moved=call.services.wallet_moved,
    )
    return ledger_result(done)


async def renew(call: Call) -> Result:
    admin = await call.services.admin.ensure_admin(call.actor)
    done = await renew_subscription(
        call.services.engine,
        user_id=call.path["user_id"],
        tier=call.body["tier"],
        period=call.body["period"],
        credit_usd=call.body["credit_usd"],
        note=call.body.get("note"),
        actor=call.actor,
        actor_label=admin.email,
        wallet_moved=call.services.wallet_moved,
    )
    return ledger_result(done)


ENDPOINTS = (
    Endpoint(
        "POST",
        "/api/v1/admin/refunds",
        ADMIN,
        "adminRefundRequest",
        "Refund a billed request to the wallet that paid it (once per request)",
        refund,
        s.LEDGER_ENTRY,
        status=201,
        body=s.REFUND,
        tag="admin",
    ),
    Endpoint(
        "POST",
        USER + "/subscription/renewals",
        ADMIN,
        "adminRenewSubscription",
        "Record a subscription renewal: set the plan tier and credit its included credits",
        renew,
        s.LEDGER_ENTRY,
        status=201,
        body=s.RENEWAL,
        tag="admin",
    ),
)
