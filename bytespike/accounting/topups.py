"""Wallet top-ups (spec §4.6): the $5–$1,250 limits, the bonus ladder, and crediting a payment.

A top-up pays into the payer's own wallet or, for an owner or admin of an organization, into the
org's wallet (`TOPUP_ROLES`); the payment row names the wallet, so confirming it needs no more.

A confirmed payment moves the wallet once, in one transaction, as two ledger lines: the
principal (``topup``) and, from $20 up, the bonus (``bonus``). Crediting is idempotent three
ways: on the provider's event id (a replayed webhook), on the checkout (a second event about the
same payment) and on the payment id (the ledger's idempotency keys), so nothing can credit twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from bytespike.money import micros_to_usd, usd_to_micros
from bytespike.storage import ledger, orgs
from bytespike.storage import payments as payment_rows
from bytespike.storage.accounts import get_user_wallet, utcnow
from bytespike.storage.payments import PaymentRecord
from bytespike.storage.records import LedgerEntryRecord

WalletMoved = Callable[[int, int, int], Awaitable[None]]
"""``(wallet id, ledger entry id, amount micro-USD)``, called after the credit commits."""
MIN_TOPUP_MICROS = 5_000_000
MAX_TOPUP_MICROS = 1_250_000_000
BONUS_LADDER_BASIS_POINTS: tuple[tuple[int, int], ...] = (
    (1_000_000_000, 1120),
    (500_000_000, 800),
    (100_000_000, 500),
    (20_000_000, 300),
    (0, 0),
)
"""(paid at least, bonus in basis points), highest first: spec §4.6's ladder."""
TOPUP_ROLES = frozenset({"owner", "admin"})
"""Org roles that may top up the org's wallet; a plain member spends from it but cannot pay in."""


class TopUpError(ValueError):
    """A top-up amount or a payment confirmation that cannot be credited; ``field`` names the input."""

    def __init__(self, message: str, field: str = "amount") -> None:
        super().__init__(message)
        self.field = field


def parse_amount(raw: str) -> int:
    """USD from a form (``"25"``, ``"25.50"``) → micro-USD within the limits, whole cents only."""
    text = raw.strip().removeprefix("$").replace(",", "")
    try:
        micros = usd_to_micros(text or "x", field="amount")
    except ValueError as exc:
        raise TopUpError("enter an amount in US dollars, for example 25 or 25.50") from exc
    if micros % 10_000:
        raise TopUpError("the amount must be in whole cents")
    check_amount(micros)
    return micros


def check_amount(micros: int) -> None:
    if not MIN_TOPUP_MICROS <= micros <= MAX_TOPUP_MICROS:
        raise TopUpError(
            f"a top-up is between ${micros_to_usd(MIN_TOPUP_MICROS)} and ${micros_to_usd(MAX_TOPUP_MICROS)}"
        )


def bonus_micros(amount_micros: int) -> int:
    """The ladder's bonus for a payment (rounded half-up to the micro-USD)."""
    for floor, basis_points in BONUS_LADDER_BASIS_POINTS:
        if amount_micros >= floor:
            return (amount_micros * basis_points + 5_000) // 10_000
    return 0


def bonus_percent(amount_micros: int) -> str:
    for floor, basis_points in BONUS_LADDER_BASIS_POINTS:
        if amount_micros >= floor:
            return f"{basis_points / 100:g}%"
    return "0%"


@dataclass(frozen=True, slots=True)
class Credit:
    """The outcome of one confirmation."""

    payment: PaymentRecord
    principal: LedgerEntryRecord | None
    bonus: LedgerEntryRecord | None
    is_new: bool
    """False for a replay (same event, or another event about an already credited payment)."""


async def start_payment(
    engine: AsyncEngine, *, provider: str, user_id: int, amount_micros: int, org_id: int | None = None
) -> PaymentRecord:
    """A pending payment into the user's own wallet, or into org ``org_id``'s wallet; its
    ``checkout_id`` is set by the provider. Raises `TopUpError` (field ``org``) unless the user
    is an owner or admin of that org (checked in the same transaction as the payment row)."""
    check_amount(amount_micros)
    async with engine.begin() as conn:
        if org_id is None:
            wallet_id = (await get_user_wallet(conn, user_id)).id
        else:
            org = await orgs.get_org(conn, org_id)
            if org is None or await orgs.membership(conn, org_id, user_id) not in TOPUP_ROLES:
                raise TopUpError("only an owner or admin of the organization can top up its wallet", "org")
            wallet_id = org.wallet_id
        return await payment_rows.insert_payment(
            conn,
            provider=provider,
            checkout_id=f"pending_{uuid.uuid4().hex}",
            user_id=user_id,
            wallet_id=wallet_id,
            amount_micros=amount_micros,
            now=utcnow(),
        )


async def attach_checkout(engine: AsyncEngine, payment_row_id: int, checkout_id: str) -> None:
    async with engine.begin() as conn:
        await payment_rows.set_checkout_id(conn, payment_row_id, checkout_id)


async def credit_payment(
    engine: AsyncEngine,
    *,
    provider: str,
    checkout_id: str,
    payment_id: str,
    amount_micros: int,
    event_id: str | None = None,
    event_type: str = "",
    receipt: dict[str, str] | None = None,
    moved: WalletMoved | None = None,
) -> Credit:
    """Credit a confirmed payment of ``amount_micros`` for the checkout we started; ``moved`` is
    told about each new ledger line once it is committed (the billing meter's `wallet_moved`).

    Raises `TopUpError` when the checkout is unknown, or the amount is outside the limits or
    differs from what the checkout was opened for; nothing moves then.
    """
    check_amount(amount_micros)
    now = utcnow()
    async with engine.begin() as conn:
        payment = await payment_rows.payment_by_checkout(conn, checkout_id)
        if payment is None or payment.provider != provider:
            raise TopUpError(f"no {provider} checkout {checkout_id!r} was started here", "checkout_id")
        if payment.amount_micros != amount_micros:
            raise TopUpError(
                f"paid ${micros_to_usd(amount_micros)} but the checkout was for "
                f"${micros_to_usd(payment.amount_micros)}"
            )
        if event_id is not None and not await payment_rows.record_event(
            conn, event_id=event_id, provider=provider, type=event_type, now=now
        ):
            return Credit(payment, None, None, False)
        if not await payment_rows.mark_paid(conn, payment.id, payment_id=payment_id, now=now):
            return Credit(payment, None, None, False)
        source = {
            "provider": provider,
            "receipt_id": payment_id,
            "checkout_id": checkout_id,
            **(receipt or {}),
        }
        principal, is_new = await ledger.apply_movement(
            conn,
            wallet_id=payment.wallet_id,
            kind="topup",
            amount_micros=amount_micros,
            idempotency_key=f"topup:{provider}:{payment_id}",
            source=source,
            note=None,
        )
        bonus_entry = None
        bonus = bonus_micros(amount_micros)
        if is_new and bonus:
            bonus_entry, _ = await ledger.apply_movement(
                conn,
                wallet_id=payment.wallet_id,
                kind="bonus",
                amount_micros=bonus,
                idempotency_key=f"bonus:{provider}:{payment_id}",
                source={**source, "bonus_percent": bonus_percent(amount_micros)},
                note=f"{bonus_percent(amount_micros)} top-up bonus on ${micros_to_usd(amount_micros)}",
            )
        paid = await payment_rows.get_payment(conn, payment.id)
    assert paid is not None
    if is_new and moved is not None:
        for entry in (principal, bonus_entry):
            if entry is not None:
                await moved(entry.wallet_id, entry.id, entry.amount_micros)
    return Credit(paid, principal, bonus_entry, is_new)


async def cancel_payment(engine: AsyncEngine, *, user_id: int, payment_row_id: int) -> None:
    async with engine.begin() as conn:
        payment = await payment_rows.get_payment(conn, payment_row_id)
        if payment is not None and payment.user_id == user_id:
            await payment_rows.mark_cancelled(conn, payment.id)


async def own_payment(engine: AsyncEngine, *, user_id: int, payment_row_id: int) -> PaymentRecord | None:
    """The payment, only when it belongs to ``user_id``."""
    async with engine.connect() as conn:
        payment = await payment_rows.get_payment(conn, payment_row_id)
    return payment if payment is not None and payment.user_id == user_id else None
