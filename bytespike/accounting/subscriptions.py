"""Subscription renewals (ledger kind ``subscription_renew``, spec §3.9.3, §4.7).

bytespike does not charge subscriptions itself: the plan is paid wherever the operator bills
it (a Stripe subscription, an invoice), and that billing — or a monthly job — records each
renewal here. A renewal, in one transaction: sets the user's plan tier (which sets the
account's concurrency cap, spec §5.2) and credits the credits the plan includes for that
period to the user's wallet as one ``subscription_renew`` line. It is idempotent on
(user, period): recording the same renewal again moves nothing; recording a different one for a
period already renewed is refused.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from bytespike.access.actor import Actor
from bytespike.access.admin import Adjustment, audit_as
from bytespike.errors import GatewayError
from bytespike.money import usd_to_micros
from bytespike.storage import accounts, directory, ledger

WalletMoved = Callable[[int, int, int], Awaitable[None]]
PLAN_TIERS = ("pro", "max", "enterprise")
"""Paid plans (spec §4.7); Free has nothing to renew."""
MAX_CREDIT_MICROS = 10**11
"""A renewal credits at most $100,000."""
_PERIOD = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")


def _bad(message: str, field: str) -> GatewayError:
    return GatewayError(400, "invalid_param", message, field)


async def renew_subscription(
    engine: AsyncEngine,
    *,
    user_id: int,
    tier: str,
    period: str,
    credit_usd: object,
    note: str | None,
    actor: Actor | None,
    actor_label: str,
    wallet_moved: WalletMoved | None = None,
) -> Adjustment:
    """Record the renewal of ``user_id``'s ``tier`` plan for ``period`` (``YYYY-MM``)."""
    if tier not in PLAN_TIERS:
        raise _bad(f"tier must be one of {', '.join(PLAN_TIERS)}", "tier")
    if not _PERIOD.fullmatch(period):
        raise _bad("period is a month, YYYY-MM", "period")
    try:
        micros = usd_to_micros(credit_usd, field="credit_usd")  # type: ignore[arg-type]
    except ValueError as exc:
        raise _bad(str(exc), "credit_usd") from exc
    if not 0 < micros <= MAX_CREDIT_MICROS:
        raise _bad("credit_usd is the plan's included credit: more than 0, at most 100000", "credit_usd")
    async with engine.begin() as conn:
        if await directory.get_user(conn, user_id) is None:
            raise GatewayError(404, "not_found", f"no user with id {user_id}", "user_id")
        wallet = await accounts.get_user_wallet(conn, user_id)
        entry, is_new = await ledger.apply_movement(
            conn,
            wallet_id=wallet.id,
            kind="subscription_renew",
            amount_micros=micros,
            idempotency_key=f"subscription:{user_id}:{period}",
            source={"tier": tier, "period": period, "actor": actor_label},
            note=note,
        )
        if not is_new and (entry.amount_micros, entry.source.get("tier")) != (micros, tier):
            raise GatewayError(
                409,
                "period_already_renewed",
                f"user {user_id}'s subscription for {period} was already renewed "
                f"({entry.source.get('tier')}, another credit)",
                "period",
            )
        if is_new:
            await directory.update_user(conn, user_id, tier=tier)
            detail = {"tier": tier, "period": period, "amount_micros": micros, "ledger_entry_id": entry.id}
            await audit_as(conn, actor, "admin.subscription_renew", "user", user_id, detail)
    if is_new and wallet_moved is not None:
        await wallet_moved(entry.wallet_id, entry.id, entry.amount_micros)
    return Adjustment(entry, is_new)
