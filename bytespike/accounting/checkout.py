"""Stripe Checkout, the payment provider for top-ups.

`StripeCheckout` opens a Checkout Session (through the official ``stripe`` SDK, whose blocking
HTTP call runs in a thread) and turns a webhook delivery into a confirmation only after its
``Stripe-Signature`` verifies against the endpoint secret. Only ``checkout.session.completed``
with ``payment_status == "paid"`` (and ``checkout.session.async_payment_succeeded``) credit.
(The development provider needs no code here: its page is the console's own,
web/console/billing_pages.py, and credits through the same `topups.credit_payment`.)
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import orjson

from bytespike.accounting.topups import TopUpError

STRIPE_CREDITING_EVENTS = frozenset(
    {"checkout.session.completed", "checkout.session.async_payment_succeeded"}
)
CENTS_TO_MICROS = 10_000
SIGNATURE_TOLERANCE_S = 300
"""Deliveries signed longer ago are refused (Stripe's own default), so a captured one cannot be replayed later."""


class WebhookSignatureError(ValueError):
    """The delivery is not signed by our Stripe endpoint secret (or is too old)."""


@dataclass(frozen=True, slots=True)
class CheckoutStart:
    checkout_id: str
    url: str
    """Where the browser goes to pay."""


@dataclass(frozen=True, slots=True)
class Confirmation:
    """A verified webhook event that (maybe) confirms a payment."""

    event_id: str
    event_type: str
    checkout_id: str | None
    payment_id: str | None
    amount_micros: int | None
    credits: bool
    """True when this event means "paid": the caller should credit it."""
    reason: str = ""


class StripeCheckout:
    name = "stripe"

    def __init__(self, secret_key: str, webhook_secret: str | None, api_base: str | None = None) -> None:
        import stripe  # only where Stripe is configured: the SDK and requests are ~8 MiB of a worker

        base = {"api": api_base} if api_base else None
        self._client = stripe.StripeClient(secret_key, base_addresses=base, max_network_retries=1)  # type: ignore[arg-type]
        self._webhook_secret = webhook_secret

    async def start(
        self,
        *,
        payment_row_id: int,
        user_id: int,
        email: str,
        amount_micros: int,
        success_url: str,
        cancel_url: str,
        wallet_id: int,
        org: tuple[int, str] | None = None,
    ) -> CheckoutStart:
        """Open a Checkout Session; ``org`` (id, name) when the payment goes to an org wallet,
        which the product name and the metadata then say (the webhook credits the wallet the
        payment row names either way)."""
        params: dict[str, Any] = {
            "mode": "payment",
            "customer_email": email,
            "client_reference_id": str(payment_row_id),
            "success_url": success_url,
            "cancel_url": cancel_url,
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": "usd",
                        "unit_amount": amount_micros // CENTS_TO_MICROS,
                        "product_data": {"name": f"bytespike credits for {org[1]}" if org else "bytespike credits"},
                    },
                }
            ],
            "metadata": {
                "payment_row_id": str(payment_row_id),
                "user_id": str(user_id),
                "wallet_id": str(wallet_id),
                **({"org_id": str(org[0])} if org else {}),
            },
        }
        import stripe

        try:
            session = await asyncio.to_thread(self._client.v1.checkout.sessions.create, params)
        except stripe.StripeError as exc:
            raise TopUpError(f"Stripe refused to open a checkout: {exc.user_message or exc}") from exc
        return CheckoutStart(session.id, session.url or "")

    def confirmation(self, payload: bytes, signature_header: str | None) -> Confirmation:
        """Verify and read one webhook delivery (raises `WebhookSignatureError`)."""
        if not self._webhook_secret:
            raise WebhookSignatureError("no webhook secret is configured (BYTESPIKE_STRIPE_WEBHOOK_SECRET)")
        import stripe

        try:
            stripe.WebhookSignature.verify_header(
                payload.decode("utf-8"),
                signature_header or "",
                self._webhook_secret,
                tolerance=SIGNATURE_TOLERANCE_S,
            )
        except (stripe.SignatureVerificationError, UnicodeDecodeError) as exc:
            raise WebhookSignatureError(str(exc)) from exc
        event = orjson.loads(payload)
        obj = (event.get("data") or {}).get("object") or {}
        event_type = str(event.get("type", ""))
        amount = obj.get("amount_total")
        credits = event_type in STRIPE_CREDITING_EVENTS and obj.get("payment_status") == "paid"
        reason = (
            ""
            if credits
            else f"{event_type} with payment_status {obj.get('payment_status')!r} credits nothing"
        )
        if credits and str(obj.get("currency", "")).lower() != "usd":
            credits, reason = False, f"currency {obj.get('currency')!r} is not usd"
        return Confirmation(
            event_id=str(event.get("id", "")),
            event_type=event_type,
            checkout_id=obj.get("id"),
            payment_id=obj.get("payment_intent") or obj.get("id"),
            amount_micros=int(amount) * CENTS_TO_MICROS if isinstance(amount, int) else None,
            credits=credits,
            reason=reason,
        )

