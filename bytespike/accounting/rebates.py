"""Refunds (ledger kind ``refund``): crediting back what a billed request cost.

Spec §3.9.3 defines ``refund`` as a "failed-call rebate", and §4.4 says failures are never
charged in the first place, so a refund is an after-the-fact correction an administrator makes
for a request that *was* billed (a bad answer, a customer complaint): it credits the wallet
that paid for the request, at most the request's cost, once per request. The usage record stays
(the call happened), and so do the key's lifetime spend and windows: a refund gives money back
to the wallet, it does not un-happen the spend a key's caps are about.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from bytespike.access.actor import Actor
from bytespike.access.admin import Adjustment, audit_as
from bytespike.errors import GatewayError
from bytespike.money import micros_to_usd_exact, usd_to_micros
from bytespike.storage import ledger, ledger_queries

WalletMoved = Callable[[int, int, int], Awaitable[None]]


def refund_key(request_id: str) -> str:
    """One refund per request: the ledger's idempotency key."""
    return f"refund:{request_id}"


async def refund_request(
    engine: AsyncEngine,
    *,
    request_id: str,
    amount_usd: object | None,
    note: str | None,
    actor: Actor | None,
    actor_label: str,
    wallet_moved: WalletMoved | None = None,
) -> Adjustment:
    """Credit back ``amount_usd`` (default: the whole cost) of the billed request ``request_id``.

    404 for a request with no usage record (failures were never billed); 400 for an amount that
    is not positive or exceeds the cost; 409 ``already_refunded`` when the request was refunded
    with another amount (the same amount again is a replay: nothing moves)."""
    async with engine.begin() as conn:
        billed = await ledger_queries.billed_request(conn, request_id)
        if billed is None:
            raise GatewayError(404, "not_found", f"no billed request {request_id!r}", "request_id")
        if amount_usd is None:
            micros = billed.cost_micros
        else:
            try:
                micros = usd_to_micros(amount_usd, field="amount_usd")  # type: ignore[arg-type]
            except ValueError as exc:
                raise GatewayError(400, "invalid_param", str(exc), "amount_usd") from exc
        if micros <= 0 or micros > billed.cost_micros:
            raise GatewayError(
                400,
                "invalid_param",
                f"a refund of request {request_id} is more than $0 and at most its cost "
                f"(${micros_to_usd_exact(billed.cost_micros)})",
                "amount_usd",
            )
        entry, is_new = await ledger.apply_movement(
            conn,
            wallet_id=billed.wallet_id,
            kind="refund",
            amount_micros=micros,
            idempotency_key=refund_key(request_id),
            source={
                "request_id": request_id,
                "api_key_id": billed.api_key_id,
                "model": billed.model,
                "actor": actor_label,
            },
            note=note,
        )
        if not is_new and entry.amount_micros != micros:
            raise GatewayError(
                409,
                "already_refunded",
                f"request {request_id} was already refunded ${micros_to_usd_exact(entry.amount_micros)}",
                "amount_usd",
            )
        if is_new:
            detail = {"request_id": request_id, "amount_micros": micros, "ledger_entry_id": entry.id}
            await audit_as(conn, actor, "admin.refund", "wallet", billed.wallet_id, detail)
    if is_new and wallet_moved is not None:
        await wallet_moved(entry.wallet_id, entry.id, entry.amount_micros)
    return Adjustment(entry, is_new)
