"""Top-ups on both backends: limits, the bonus ladder as its own ledger line, idempotency on
event, checkout and payment ids."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bytespike.accounting import topups
from bytespike.accounting.topups import TopUpError, bonus_micros, parse_amount
from bytespike.storage import accounts
from bytespike.storage.schema import ledger_entries, wallets


@pytest.mark.parametrize(
    ("usd", "bonus"),
    [
        ("5", "0"),
        ("19.99", "0"),
        ("20", "0.60"),
        ("99.99", "2.9997"),
        ("100", "5"),
        ("499.99", "24.9995"),
        ("500", "40"),
        ("999.99", "79.9992"),
        ("1000", "112"),
        ("1250", "140"),
    ],
)
def test_bonus_ladder_of_spec_section_4_6(usd: str, bonus: str) -> None:
    from decimal import Decimal

    assert bonus_micros(parse_amount(usd)) == int(Decimal(bonus) * 1_000_000)


@pytest.mark.parametrize("raw", ["4.99", "1250.01", "0", "-20", "", "twenty", "10.005", "NaN"])
def test_amounts_outside_the_limits_or_malformed_are_refused(raw: str) -> None:
    with pytest.raises(TopUpError):
        parse_amount(raw)


def test_amounts_from_forms() -> None:
    assert parse_amount(" $1,000.50 ") == 1_000_500_000
    assert parse_amount("5") == 5_000_000


async def test_credit_is_two_lines_and_idempotent(engine) -> None:
    async with engine.begin() as conn:
        user = await accounts.create_user(conn, email="pay@example.test", password_hash=None)
    payment = await topups.start_payment(
        engine, provider="stripe", user_id=user.id, amount_micros=500_000_000
    )
    await topups.attach_checkout(engine, payment.id, "cs_1")
    first = await topups.credit_payment(
        engine,
        provider="stripe",
        checkout_id="cs_1",
        payment_id="pi_1",
        amount_micros=500_000_000,
        event_id="evt_1",
    )
    assert first.is_new and first.principal is not None and first.bonus is not None
    assert (first.principal.kind, first.principal.amount_micros) == ("topup", 500_000_000)
    assert (first.bonus.kind, first.bonus.amount_micros) == ("bonus", 40_000_000)
    assert first.payment.status == "paid"
    for event_id in ("evt_1", "evt_2"):  # a replay, then another event about the same payment
        again = await topups.credit_payment(
            engine,
            provider="stripe",
            checkout_id="cs_1",
            payment_id="pi_1",
            amount_micros=500_000_000,
            event_id=event_id,
        )
        assert not again.is_new
    async with engine.connect() as conn:
        balance = await conn.scalar(sa.select(wallets.c.balance_micros).where(wallets.c.user_id == user.id))
        topped = await conn.scalar(
            sa.select(wallets.c.lifetime_topup_micros).where(wallets.c.user_id == user.id)
        )
        lines = (await conn.execute(sa.select(ledger_entries.c.kind))).scalars().all()
    assert balance == topped == 540_000_000
    assert sorted(lines) == ["bonus", "topup"]


async def test_credit_refuses_unknown_checkouts_and_other_amounts(engine) -> None:
    async with engine.begin() as conn:
        user = await accounts.create_user(conn, email="pay2@example.test", password_hash=None)
    payment = await topups.start_payment(engine, provider="dev", user_id=user.id, amount_micros=20_000_000)
    await topups.attach_checkout(engine, payment.id, "dev_x")
    with pytest.raises(TopUpError):
        await topups.credit_payment(
            engine, provider="dev", checkout_id="dev_y", payment_id="p", amount_micros=20_000_000
        )
    with pytest.raises(TopUpError):
        await topups.credit_payment(
            engine, provider="stripe", checkout_id="dev_x", payment_id="p", amount_micros=20_000_000
        )
    with pytest.raises(TopUpError):
        await topups.credit_payment(
            engine, provider="dev", checkout_id="dev_x", payment_id="p", amount_micros=25_000_000
        )
    with pytest.raises(TopUpError):
        await topups.start_payment(engine, provider="dev", user_id=user.id, amount_micros=4_990_000)
    await topups.cancel_payment(engine, user_id=user.id, payment_row_id=payment.id)
    cancelled = await topups.credit_payment(
        engine, provider="dev", checkout_id="dev_x", payment_id="p", amount_micros=20_000_000
    )
    assert not cancelled.is_new  # a cancelled checkout never credits
    async with engine.connect() as conn:
        assert (await conn.execute(sa.select(ledger_entries))).first() is None


async def test_simultaneous_webhook_deliveries_credit_once_and_never_fail(engine) -> None:
    """Two (here six) identical Stripe deliveries at once: one credits, the rest are replays."""
    import asyncio

    async with engine.begin() as conn:
        user = await accounts.create_user(conn, email="race@example.test", password_hash=None)
    payment = await topups.start_payment(engine, provider="stripe", user_id=user.id, amount_micros=100_000_000)
    await topups.attach_checkout(engine, payment.id, "cs_race")
    credits = await asyncio.gather(
        *(
            topups.credit_payment(
                engine,
                provider="stripe",
                checkout_id="cs_race",
                payment_id="pi_race",
                amount_micros=100_000_000,
                event_id="evt_race",
                event_type="checkout.session.completed",
            )
            for _ in range(6)
        )
    )
    assert sum(c.is_new for c in credits) == 1
    async with engine.connect() as conn:
        balance = await conn.scalar(sa.select(wallets.c.balance_micros).where(wallets.c.user_id == user.id))
        lines = await conn.scalar(sa.select(sa.func.count()).select_from(ledger_entries))
    assert (balance, lines) == (105_000_000, 2)


async def test_the_meter_is_told_about_each_new_line_once(engine) -> None:
    async with engine.begin() as conn:
        user = await accounts.create_user(conn, email="told@example.test", password_hash=None)
    payment = await topups.start_payment(engine, provider="dev", user_id=user.id, amount_micros=20_000_000)
    await topups.attach_checkout(engine, payment.id, "dev_told")
    told: list[tuple[int, int, int]] = []

    async def moved(wallet_id: int, entry_id: int, amount: int) -> None:
        told.append((wallet_id, entry_id, amount))

    for _ in range(2):  # the replay tells nobody
        credit = await topups.credit_payment(
            engine, provider="dev", checkout_id="dev_told", payment_id="devpay_told", amount_micros=20_000_000, moved=moved
        )
    assert credit.principal is None and not credit.is_new
    async with engine.connect() as conn:
        lines = (await conn.execute(sa.select(ledger_entries).order_by(ledger_entries.c.id))).all()
    assert told == [(line.wallet_id, line.id, line.amount_micros) for line in lines]
    assert [amount for _, _, amount in told] == [20_000_000, 600_000]
