"""``bytespike refunds create`` and ``bytespike subscriptions renew``: the operator's wallet
operations beyond ``credits grant`` (docs/billing.md "Refunds and subscription renewals").

They run the same domain operations as the admin API (audited, ``"via": "cli"``), then tell a
shared hot state (Redis) about the movement; without Redis the gateway's ledger poll picks it up.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from bytespike.cli import CliError, _emit, _settings, _usd, _with_engine


def _finish(settings: Any, done: Any) -> None:
    from bytespike.accounting.wallet_movements import announce_wallet_movement

    async def announce() -> str | None:
        e = done.entry
        return await announce_wallet_movement(settings, e.wallet_id, e.id, e.amount_micros)

    warning = asyncio.run(announce()) if done.is_new else None
    if warning is not None:
        print(f"bytespike: warning: {warning}", file=sys.stderr)


def _entry_json(done: Any) -> dict[str, Any]:
    from bytespike.money import micros_to_usd

    e = done.entry
    return {
        "ledger_entry_id": e.id,
        "wallet_id": e.wallet_id,
        "kind": e.kind,
        "amount_usd": micros_to_usd(e.amount_micros),
        "amount_micros": e.amount_micros,
        "balance_usd": micros_to_usd(e.balance_after_micros),
        "replayed": not done.is_new,
    }


def _run(args: argparse.Namespace, operation: Any) -> Any:
    from bytespike.errors import GatewayError

    settings = _settings(args)

    async def run(engine: Any, _catalogue: Any) -> Any:
        try:
            return await operation(engine)
        except GatewayError as exc:
            raise CliError(exc.message) from exc

    done = asyncio.run(_with_engine(settings, run))
    _finish(settings, done)
    return done


def cmd_refunds_create(args: argparse.Namespace) -> None:
    from bytespike.accounting.rebates import refund_request
    from bytespike.money import micros_to_usd

    done = _run(
        args,
        lambda engine: refund_request(
            engine, request_id=args.request_id, amount_usd=args.usd, note=args.note, actor=None, actor_label="cli"
        ),
    )
    e = done.entry
    verb = "already refunded" if not done.is_new else "refunded"
    _emit(args, _entry_json(done), f"{verb} ${micros_to_usd(e.amount_micros)} of {args.request_id}; balance ${micros_to_usd(e.balance_after_micros)}")


def cmd_subscriptions_renew(args: argparse.Namespace) -> None:
    from bytespike.accounting.subscriptions import renew_subscription
    from bytespike.money import micros_to_usd
    from bytespike.storage import accounts

    async def renew(engine: Any) -> Any:
        async with engine.connect() as conn:
            user = await accounts.get_user_by_email(conn, args.email)
        if user is None:
            raise CliError(f"no user with email {args.email!r}")
        return await renew_subscription(
            engine,
            user_id=user.id,
            tier=args.tier,
            period=args.period,
            credit_usd=args.credit_usd,
            note=args.note,
            actor=None,
            actor_label="cli",
        )

    done = _run(args, renew)
    e = done.entry
    verb = "was already renewed" if not done.is_new else "renewed"
    _emit(
        args,
        {**_entry_json(done), "tier": args.tier, "period": args.period},
        f"{args.email} {verb} on {args.tier} for {args.period}: +${micros_to_usd(e.amount_micros)}; "
        f"balance ${micros_to_usd(e.balance_after_micros)}",
    )


def add_billing_commands(sub: Any) -> None:
    refunds = sub.add_parser("refunds", help="refund billed requests (ledger kind refund)")
    refunds_sub = refunds.add_subparsers(dest="refunds_command", required=True, metavar="COMMAND")
    rc = refunds_sub.add_parser("create", help="credit back what a billed request cost, once")
    rc.add_argument("--request-id", required=True, help="the X-Request-Id of the billed request")
    rc.add_argument("--usd", type=_usd, help="amount in USD (default: the whole cost)")
    rc.add_argument("--note", help="note stored on the ledger entry")
    rc.add_argument("--json", action="store_true", help="print JSON")
    rc.set_defaults(func=cmd_refunds_create)

    subs = sub.add_parser("subscriptions", help="plan renewals (ledger kind subscription_renew)")
    subs_sub = subs.add_subparsers(dest="subscriptions_command", required=True, metavar="COMMAND")
    sr = subs_sub.add_parser("renew", help="set a user's plan and credit its included credits for a month")
    sr.add_argument("--email", required=True)
    sr.add_argument("--tier", required=True, choices=["pro", "max", "enterprise"])
    sr.add_argument("--period", required=True, help="the month renewed, YYYY-MM")
    sr.add_argument("--credit-usd", required=True, type=_usd, help="credits the plan includes, in USD")
    sr.add_argument("--note", help="note stored on the ledger entry")
    sr.add_argument("--json", action="store_true", help="print JSON")
    sr.set_defaults(func=cmd_subscriptions_renew)
