"""Top-ups through Stripe Checkout: credited only by a signature-verified
``checkout.session.completed`` webhook, once per event and per payment, with the bonus as its
own ledger line; amounts outside $5–$1,250 are refused at the form and at the webhook."""

from __future__ import annotations

import uuid

import pytest

from tests.console.conftest import STRIPE_WEBHOOK_SECRET
from tests.console.providers import StripeApi
from tests.console.support import (
    ConsoleHarness,
    FormClient,
    checkout_completed,
    sign_up,
    stripe_signature,
)


@pytest.fixture
async def stripe_client(stripe_console: ConsoleHarness):
    c = FormClient(stripe_console.url)
    try:
        yield c
    finally:
        await c.close()


async def _checkout(
    stripe_console: ConsoleHarness, stripe_api: StripeApi, client: FormClient, usd: str
) -> tuple[str, dict]:
    email = await sign_up(stripe_console, client)
    await client.get("/billing")
    before = len(stripe_api.sessions)
    page = await client.post("/billing/top-up", {"amount": usd}, follow=False)
    assert page.status == 303, page.text[:1000]
    assert page.headers["location"].startswith(stripe_api.url + "/pay/cs_test_")
    assert len(stripe_api.sessions) == before + 1
    return email, stripe_api.sessions[-1] | {"session_id": page.headers["location"].rsplit("/", 1)[1]}


async def _deliver(
    console: ConsoleHarness, client: FormClient, payload: bytes, signature: str | None
) -> tuple[int, dict]:
    headers = {"content-type": "application/json"}
    if signature is not None:
        headers["stripe-signature"] = signature
    async with client.http.post(console.url + "/billing/stripe/webhook", data=payload, headers=headers) as r:
        return r.status, await r.json(content_type=None)


async def test_checkout_session_is_opened_for_the_amount(stripe_console, stripe_api, stripe_client) -> None:
    email, sent = await _checkout(stripe_console, stripe_api, stripe_client, "25")
    assert sent["mode"] == "payment"
    assert sent["customer_email"] == email
    assert sent["line_items[0][price_data][unit_amount]"] == "2500"
    assert sent["line_items[0][price_data][currency]"] == "usd"
    assert sent["_authorization"] == "Bearer sk_test_bytespike"
    # Opening a checkout moves nothing: only the webhook credits.
    wallet_id, balance = await stripe_console.wallet_of(email)
    assert balance == 0 and await stripe_console.ledger_of(wallet_id) == []


async def test_signed_webhook_credits_principal_and_bonus_once(
    stripe_console, stripe_api, stripe_client
) -> None:
    email, sent = await _checkout(stripe_console, stripe_api, stripe_client, "100")
    wallet_id, _ = await stripe_console.wallet_of(email)
    payload = checkout_completed(
        event_id=f"evt_{uuid.uuid4().hex}",
        session_id=sent["session_id"],
        amount_cents=10000,
        payment_intent=f"pi_{uuid.uuid4().hex}",
    )
    status, body = await _deliver(
        stripe_console, stripe_client, payload, stripe_signature(payload, STRIPE_WEBHOOK_SECRET)
    )
    assert (status, body) == (200, {"received": True, "credited": True})
    assert await stripe_console.ledger_of(wallet_id) == [("topup", 100_000_000), ("bonus", 5_000_000)]
    assert (await stripe_console.wallet_of(email))[1] == 105_000_000

    # The same event delivered again (Stripe retries), freshly signed: acknowledged, nothing moves.
    status, body = await _deliver(
        stripe_console, stripe_client, payload, stripe_signature(payload, STRIPE_WEBHOOK_SECRET)
    )
    assert (status, body) == (200, {"received": True, "credited": False})
    # Another event about the same payment (a new event id): still credited only once.
    again = payload.replace(b'"evt_', b'"evt_other_')
    status, body = await _deliver(
        stripe_console, stripe_client, again, stripe_signature(again, STRIPE_WEBHOOK_SECRET)
    )
    assert (status, body) == (200, {"received": True, "credited": False})
    assert (await stripe_console.wallet_of(email))[1] == 105_000_000
    assert len(await stripe_console.ledger_of(wallet_id)) == 2

    # The Billing page lists both lines.
    page = await stripe_client.get("/billing")
    assert "topup" in page.text and "bonus" in page.text and "5% top-up bonus on $100.00" in page.text


async def test_small_top_up_has_no_bonus_line(stripe_console, stripe_api, stripe_client) -> None:
    email, sent = await _checkout(stripe_console, stripe_api, stripe_client, "5")
    wallet_id, _ = await stripe_console.wallet_of(email)
    payload = checkout_completed(
        event_id=f"evt_{uuid.uuid4().hex}",
        session_id=sent["session_id"],
        amount_cents=500,
        payment_intent="pi_small_" + uuid.uuid4().hex,
    )
    status, _ = await _deliver(
        stripe_console, stripe_client, payload, stripe_signature(payload, STRIPE_WEBHOOK_SECRET)
    )
    assert status == 200
    assert await stripe_console.ledger_of(wallet_id) == [("topup", 5_000_000)]


@pytest.mark.parametrize(
    "how",
    ["wrong secret", "no header", "tampered body", "stale timestamp", "garbage header"],
)
async def test_badly_signed_webhooks_credit_nothing(
    stripe_console, stripe_api, stripe_client, how: str
) -> None:
    email, sent = await _checkout(stripe_console, stripe_api, stripe_client, "50")
    wallet_id, _ = await stripe_console.wallet_of(email)
    payload = checkout_completed(
        event_id=f"evt_{uuid.uuid4().hex}",
        session_id=sent["session_id"],
        amount_cents=5000,
        payment_intent="pi_" + uuid.uuid4().hex,
    )
    signature: str | None
    if how == "wrong secret":
        signature = stripe_signature(payload, "whsec_someone_else")
    elif how == "no header":
        signature = None
    elif how == "tampered body":
        signature = stripe_signature(payload, STRIPE_WEBHOOK_SECRET)
        payload = payload.replace(b"5000", b"9000")
    elif how == "stale timestamp":
        signature = stripe_signature(payload, STRIPE_WEBHOOK_SECRET, timestamp=1_000_000_000)
    else:
        signature = "t=abc,v1=nothex"
    status, body = await _deliver(stripe_console, stripe_client, payload, signature)
    assert status == 400 and body == {"error": "signature verification failed"}
    assert await stripe_console.ledger_of(wallet_id) == []
    assert (await stripe_console.wallet_of(email))[1] == 0


@pytest.mark.parametrize("usd", ["4.99", "1250.01", "0", "-5", "abc", "10.001"])
async def test_top_up_form_refuses_amounts_outside_the_limits(
    stripe_console, stripe_api, stripe_client, usd: str
) -> None:
    await sign_up(stripe_console, stripe_client)
    await stripe_client.get("/billing")
    before = len(stripe_api.sessions)
    page = await stripe_client.post("/billing/top-up", {"amount": usd})
    assert page.status == 400
    assert 'id="amount-error"' in page.text
    assert len(stripe_api.sessions) == before


async def test_top_up_form_accepts_both_limits(stripe_console, stripe_api, stripe_client) -> None:
    await sign_up(stripe_console, stripe_client)
    for usd in ("5", "1250"):
        await stripe_client.get("/billing")
        page = await stripe_client.post("/billing/top-up", {"amount": usd}, follow=False)
        assert page.status == 303, (usd, page.text[:500])


@pytest.mark.parametrize("amount_cents", [499, 125001, 7700])
async def test_webhook_amount_outside_limits_or_not_the_checkouts_is_refused(
    stripe_console, stripe_api, stripe_client, amount_cents: int
) -> None:
    email, sent = await _checkout(stripe_console, stripe_api, stripe_client, "50")
    wallet_id, _ = await stripe_console.wallet_of(email)
    payload = checkout_completed(
        event_id=f"evt_{uuid.uuid4().hex}",
        session_id=sent["session_id"],
        amount_cents=amount_cents,
        payment_intent="pi_" + uuid.uuid4().hex,
    )
    status, _ = await _deliver(
        stripe_console, stripe_client, payload, stripe_signature(payload, STRIPE_WEBHOOK_SECRET)
    )
    assert status == 400
    assert await stripe_console.ledger_of(wallet_id) == []


async def test_unpaid_or_unknown_checkouts_credit_nothing(stripe_console, stripe_api, stripe_client) -> None:
    email, sent = await _checkout(stripe_console, stripe_api, stripe_client, "30")
    wallet_id, _ = await stripe_console.wallet_of(email)
    unpaid = checkout_completed(
        event_id=f"evt_{uuid.uuid4().hex}",
        session_id=sent["session_id"],
        amount_cents=3000,
        payment_intent="pi_" + uuid.uuid4().hex,
        status="unpaid",
    )
    status, body = await _deliver(
        stripe_console, stripe_client, unpaid, stripe_signature(unpaid, STRIPE_WEBHOOK_SECRET)
    )
    assert status == 200 and body["credited"] is False
    unknown = checkout_completed(
        event_id=f"evt_{uuid.uuid4().hex}",
        session_id="cs_test_never_opened_here",
        amount_cents=3000,
        payment_intent="pi_" + uuid.uuid4().hex,
    )
    status, _ = await _deliver(
        stripe_console, stripe_client, unknown, stripe_signature(unknown, STRIPE_WEBHOOK_SECRET)
    )
    assert status == 400
    assert await stripe_console.ledger_of(wallet_id) == []


async def test_development_provider_is_off_when_stripe_is_configured(stripe_console, stripe_client) -> None:
    await sign_up(stripe_console, stripe_client)
    page = await stripe_client.get("/billing")
    assert "Development payment provider" not in page.text and "Pay with Stripe" in page.text
