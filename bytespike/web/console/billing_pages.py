"""Billing: the wallet, top-ups (Stripe Checkout or the development provider), the ledger,
the low-balance threshold, and Stripe's webhook (the only way a Stripe payment is credited).

``?org=<id>`` shows an org's wallet and ledger to its members; its owners and admins top it up
from there, through the same `accounting.topups` path as the personal wallet."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bytespike.access.console_accounts import AccountError
from bytespike.access.console_views import ConsoleViews, OrgWallet
from bytespike.accounting import topups
from bytespike.accounting.checkout import WebhookSignatureError
from bytespike.accounting.topups import BONUS_LADDER_BASIS_POINTS, TOPUP_ROLES, TopUpError
from bytespike.storage.payments import PaymentRecord
from bytespike.web.console.services import ConsoleServices
from bytespike.web.console.views import Visit, redirect

log = logging.getLogger("bytespike.console.billing")

LEDGER_KINDS = ("topup", "bonus", "refund", "admin_credit", "admin_debit", "subscription_renew")
PAGE_SIZE = 25
NOTICES = {
    "paid": "Payment received: the credits are in the wallet.",
    "cancelled": "The payment was cancelled; nothing was charged.",
    "threshold": "The low-balance threshold is saved.",
}


def _ladder() -> list[dict[str, str]]:
    rows = []
    upper = None
    for floor, basis_points in BONUS_LADDER_BASIS_POINTS:
        low = max(floor, topups.MIN_TOPUP_MICROS)
        high = topups.MAX_TOPUP_MICROS if upper is None else upper - 10_000
        rows.append({"low": low, "high": high, "bonus": f"{basis_points / 100:g}%"})
        upper = floor
    return list(reversed(rows))


def billing_url(org: OrgWallet | None, notice: str | None = None) -> str:
    """The Billing page of the personal wallet or of ``org``'s, with a notice."""
    params = [f"org={org.org.id}"] if org else []
    params += [f"notice={notice}"] if notice else []
    return "/billing" + ("?" + "&".join(params) if params else "")


async def _payment_org(visit: Visit, payment: PaymentRecord | None) -> OrgWallet | None:
    """The org whose wallet a payment of the visitor's goes to, if it is an org's."""
    if payment is None:
        return None
    wallets = await ConsoleViews(visit.services.engine).org_wallets(payment.user_id)
    return next((w for w in wallets if w.org.wallet_id == payment.wallet_id), None)


def provider_name(services: ConsoleServices) -> str | None:
    if services.stripe is not None:
        return "stripe"
    return "dev" if services.dev_payments else None


async def billing(visit: Visit, *, errors: dict[str, str] | None = None, amount: str = "") -> Response:
    assert visit.principal is not None
    statements = visit.services.management.statements
    params = visit.request.query_params
    kind = params.get("kind") if params.get("kind") in LEDGER_KINDS else None
    try:
        page = max(1, int(params.get("page", "1")))
    except ValueError:
        page = 1
    account = await statements.account(visit.principal)
    org_wallets = await ConsoleViews(visit.services.engine).org_wallets(visit.principal.user_id)
    org = next((w for w in org_wallets if str(w.org.id) == params.get("org")), None)
    if params.get("org") and org is None:
        return visit.render("error.html", status=404, title="Not found", message="No such organization.")
    ledger = await statements.transactions(
        visit.principal,
        kind=kind,
        since=None,
        until=None,
        page=page,
        page_size=PAGE_SIZE,
        org_id=org.org.id if org else None,
    )
    return visit.render(
        "billing.html",
        status=400 if errors else 200,
        errors=errors or {},
        org_wallets=org_wallets,
        org=org,
        scope=f"org={org.org.id}&" if org else "",
        amount=amount,
        can_top_up=org is None or org.role in TOPUP_ROLES,
        account=account,
        ledger=ledger,
        kind=kind,
        kinds=LEDGER_KINDS,
        page=page,
        pages=max(1, -(-ledger["total"] // PAGE_SIZE)),
        ladder=_ladder(),
        provider=provider_name(visit.services),
        notice=NOTICES.get(params.get("notice", "")),
        min_usd=topups.MIN_TOPUP_MICROS // 1_000_000,
        max_usd=topups.MAX_TOPUP_MICROS // 1_000_000,
    )


async def billing_page(visit: Visit) -> Response:
    return await billing(visit)


async def top_up(visit: Visit) -> Response:
    """Start a top-up of the visitor's wallet, or with ``?org=`` of that org's wallet (owners and
    admins only: 403 for a member, 404 for anyone else)."""
    assert visit.user is not None
    services = visit.services
    raw = visit.field("amount")
    provider = provider_name(services)
    org = None
    if visit.request.query_params.get("org"):
        wallets = await ConsoleViews(services.engine).org_wallets(visit.user.id)
        org = next((w for w in wallets if str(w.org.id) == visit.request.query_params["org"]), None)
        if org is None:
            return visit.render("error.html", status=404, title="Not found", message="No such organization.")
    try:
        amount = topups.parse_amount(raw)
        if provider is None:
            raise TopUpError("top-ups are not configured on this server (no Stripe keys)")
        payment = await topups.start_payment(
            services.engine,
            provider=provider,
            user_id=visit.user.id,
            amount_micros=amount,
            org_id=org.org.id if org else None,
        )
        if services.stripe is not None:
            started = await services.stripe.start(
                payment_row_id=payment.id,
                user_id=visit.user.id,
                email=visit.user.email,
                amount_micros=amount,
                success_url=f"{visit.base_url}/billing/return?payment={payment.id}",
                cancel_url=visit.base_url + billing_url(org, "cancelled"),
                wallet_id=payment.wallet_id,
                org=(org.org.id, org.org.name) if org else None,
            )
            await topups.attach_checkout(services.engine, payment.id, started.checkout_id)
            return redirect(started.url)
        await topups.attach_checkout(services.engine, payment.id, f"dev_{payment.id}")
        return redirect(f"/billing/dev-checkout/{payment.id}")
    except TopUpError as exc:
        if exc.field == "org":
            return visit.render("error.html", status=403, title="Not allowed", message=str(exc))
        return await billing(visit, errors={"amount": str(exc)}, amount=raw)


async def dev_checkout(visit: Visit) -> Response:
    """The development provider's payment page (no money moves; clearly labelled)."""
    assert visit.user is not None
    services = visit.services
    payment = await topups.own_payment(
        services.engine, user_id=visit.user.id, payment_row_id=int(visit.request.path_params["payment_id"])
    )
    if payment is None or payment.provider != "dev" or not services.dev_payments:
        return visit.render("error.html", status=404, title="Not found", message="No such payment.")
    org = await _payment_org(visit, payment)
    if visit.request.method == "POST":
        if visit.field("action") == "pay" and payment.status == "pending":
            await topups.credit_payment(
                services.engine,
                provider="dev",
                checkout_id=payment.checkout_id,
                payment_id=f"devpay_{payment.id}",
                amount_micros=payment.amount_micros,
                receipt={"method": "development"},
                moved=services.management.wallet_moved,
            )
            return redirect(billing_url(org, "paid"))
        await topups.cancel_payment(services.engine, user_id=visit.user.id, payment_row_id=payment.id)
        return redirect(billing_url(org, "cancelled"))
    return visit.render(
        "dev_checkout.html",
        payment=payment,
        org=org,
        back=billing_url(org),
        bonus=topups.bonus_micros(payment.amount_micros),
        bonus_percent=topups.bonus_percent(payment.amount_micros),
    )


async def billing_return(visit: Visit) -> Response:
    """Where Stripe sends the browser back: the webhook, not this page, credits the wallet."""
    assert visit.user is not None
    try:
        payment_id = int(visit.request.query_params.get("payment", "0"))
    except ValueError:
        payment_id = 0
    payment = await topups.own_payment(
        visit.services.engine, user_id=visit.user.id, payment_row_id=payment_id
    )
    org = await _payment_org(visit, payment)
    return visit.render("billing_return.html", payment=payment, org=org, back=billing_url(org))


async def set_threshold(visit: Visit) -> Response:
    assert visit.principal is not None
    try:
        await visit.services.accounts.set_low_balance_threshold(
            visit.principal.wallet_id, visit.field("threshold")
        )
    except AccountError as exc:
        return await billing(visit, errors={"threshold": str(exc)})
    return redirect("/billing?notice=threshold")


def stripe_webhook(services: ConsoleServices):  # type: ignore[no-untyped-def]
    async def endpoint(request: Request) -> Response:
        stripe = services.stripe
        if stripe is None:
            return JSONResponse({"error": "Stripe is not configured"}, status_code=404)
        payload = await request.body()
        try:
            confirmation = stripe.confirmation(payload, request.headers.get("stripe-signature"))
        except WebhookSignatureError as exc:
            log.warning("stripe webhook refused: %s", exc)
            return JSONResponse({"error": "signature verification failed"}, status_code=400)
        if not confirmation.credits:
            return JSONResponse({"received": True, "credited": False, "reason": confirmation.reason})
        if not confirmation.checkout_id or not confirmation.payment_id or confirmation.amount_micros is None:
            return JSONResponse(
                {"error": "the event lacks the checkout id, payment id or amount"}, status_code=400
            )
        try:
            credit = await topups.credit_payment(
                services.engine,
                provider="stripe",
                checkout_id=confirmation.checkout_id,
                payment_id=confirmation.payment_id,
                amount_micros=confirmation.amount_micros,
                event_id=confirmation.event_id,
                event_type=confirmation.event_type,
                moved=services.management.wallet_moved,
            )
        except TopUpError as exc:
            log.warning("stripe webhook %s not credited: %s", confirmation.event_id, exc)
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"received": True, "credited": credit.is_new})

    return endpoint
