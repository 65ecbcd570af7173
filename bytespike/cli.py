"""The ``bytespike`` command line: the stable interface of DESIGN.md §4.

Every command prints one clear line on bad input and exits non-zero (2 for usage errors, 1 for
refused operations); ``--json`` output is one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
from collections.abc import Sequence
from typing import Any, NoReturn

from bytespike.settings import Settings, SettingsError, load_settings


class CliError(Exception):
    """A refused operation; printed as one line, exit status 1."""


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(config_path=getattr(args, "config", None))


def _emit(args: argparse.Namespace, data: dict[str, Any], text: str) -> None:
    print(json.dumps(data) if getattr(args, "json", False) else text)


async def _with_engine(settings: Settings, fn: Any) -> Any:
    from bytespike.routing.catalogue import load_catalogue
    from bytespike.storage import accounts
    from bytespike.storage.engine import create_engine, upgrade

    engine = create_engine(settings.database_url)
    try:
        if settings.database_url.startswith("sqlite"):
            await upgrade(engine)
        catalogue = load_catalogue(settings.catalogue_extra)
        async with engine.begin() as conn:
            await accounts.sync_groups(
                conn, {g.name: (g.description, g.public) for g in catalogue.groups.values()}
            )
        return await fn(engine, catalogue)
    finally:
        await engine.dispose()


# ---------------------------------------------------------------------------- commands
def cmd_db_upgrade(args: argparse.Namespace) -> None:
    from bytespike.storage.engine import create_engine, current_revision, upgrade

    settings = _settings(args)

    async def run() -> str | None:
        engine = create_engine(settings.database_url)
        try:
            await upgrade(engine)
            return await current_revision(engine)
        finally:
            await engine.dispose()

    revision = asyncio.run(run())
    _emit(args, {"revision": revision}, f"database at revision {revision}")


def cmd_users_create(args: argparse.Namespace) -> None:
    from bytespike.access.issuance import IssuanceError, create_user

    settings = _settings(args)

    async def run(engine: Any, _catalogue: Any) -> Any:
        try:
            return await create_user(engine, email=args.email, password=args.password, admin=args.admin)
        except IssuanceError as exc:
            raise CliError(str(exc)) from exc

    user = asyncio.run(_with_engine(settings, run))
    _emit(
        args,
        {"id": user.id, "email": user.email, "role": user.role},
        f"created user {user.email} (id {user.id}, role {user.role})",
    )


def cmd_credits_grant(args: argparse.Namespace) -> None:
    from bytespike.accounting.wallet_movements import announce_wallet_movement
    from bytespike.money import micros_to_usd, usd_to_micros
    from bytespike.storage import accounts, ledger

    settings = _settings(args)
    try:
        micros = usd_to_micros(args.usd, field="--usd")
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    if micros <= 0:
        raise CliError("--usd must be a positive amount")

    async def run(engine: Any, _catalogue: Any) -> Any:
        async with engine.begin() as conn:
            user = await accounts.get_user_by_email(conn, args.email)
            if user is None:
                raise CliError(f"no user with email {args.email!r}")
            wallet = await accounts.get_user_wallet(conn, user.id)
            entry, _ = await ledger.apply_movement(
                conn,
                wallet_id=wallet.id,
                kind="admin_credit",
                amount_micros=micros,
                idempotency_key=f"cli-grant-{uuid.uuid4().hex}",
                source={"actor": "cli"},
                note=args.note,
            )
        # Committed: now let the shared hot state (Redis) reload the wallet.
        warning = await announce_wallet_movement(settings, wallet.id, entry.id, entry.amount_micros)
        if warning is not None:
            print(f"bytespike: warning: {warning}", file=sys.stderr)
        return entry

    entry = asyncio.run(_with_engine(settings, run))
    _emit(
        args,
        {
            "ledger_entry_id": entry.id,
            "email": args.email.lower(),
            "amount_usd": micros_to_usd(entry.amount_micros),
            "amount_micros": entry.amount_micros,
            "balance_usd": micros_to_usd(entry.balance_after_micros),
            "balance_micros": entry.balance_after_micros,
        },
        f"granted ${micros_to_usd(entry.amount_micros)} to {args.email}; balance ${micros_to_usd(entry.balance_after_micros)}",
    )


def cmd_keys_create(args: argparse.Namespace) -> None:
    from bytespike.access.issuance import IssuanceError, KeySpec, issue_key
    from bytespike.access.secrets import KeySealer

    settings = _settings(args)
    spec = KeySpec(
        name=args.name,
        group=args.group,
        quota_usd=args.quota,
        rate_limit_5h_usd=args.rate_limit_5h,
        rate_limit_1d_usd=args.rate_limit_1d,
        rate_limit_7d_usd=args.rate_limit_7d,
        expires_in_days=args.expires_in_days,
        ip_whitelist=args.ip_whitelist or (),
        ip_blacklist=args.ip_blacklist or (),
        **({"scopes": args.scope} if args.scope else {}),
    )

    async def run(engine: Any, catalogue: Any) -> Any:
        try:
            return await issue_key(
                engine,
                KeySealer(settings.secret_key),
                user_email=args.email,
                spec=spec,
                known_groups=list(catalogue.groups),
            )
        except IssuanceError as exc:
            raise CliError(str(exc)) from exc

    issued = asyncio.run(_with_engine(settings, run))
    _emit(
        args,
        {"id": issued.id, "key": issued.key, "masked_key": issued.masked_key, "group": issued.group},
        f"created key {issued.id} in group {issued.group}: {issued.key}\n(the secret is shown once; store it now)",
    )


# ---------------------------------------------------------------------------- key lifecycle, orgs, groups
def _operator(settings: Settings, engine: Any, catalogue: Any) -> Any:
    from bytespike.access.operator import Operator
    from bytespike.access.secrets import KeySealer

    return Operator(
        engine, KeySealer(settings.secret_key), catalogue, settings.redis_url, settings.redis_prefix
    )


def _run_operator(args: argparse.Namespace, action: Any) -> Any:
    """Run ``action(operator)``; the domain's refusals become one-line CLI errors."""
    from bytespike.errors import GatewayError

    settings = _settings(args)

    async def run(engine: Any, catalogue: Any) -> Any:
        operator = _operator(settings, engine, catalogue)
        try:
            return await action(operator)
        except GatewayError as exc:
            raise CliError(exc.message) from exc
        finally:
            await operator.close()

    return asyncio.run(_with_engine(settings, run))


def _key_summary(record: Any) -> dict[str, Any]:
    from bytespike.access.keys_admin import key_status

    return {
        "id": record.id,
        "name": record.name,
        "group": record.group_name,
        "masked_key": record.masked_key,
        "status": key_status(record),
        "parent_key_id": record.parent_key_id,
        "org_id": record.org_id,
        "scopes": list(record.scopes),
    }


def cmd_keys_list(args: argparse.Namespace) -> None:
    keys = [_key_summary(k) for k in _run_operator(args, lambda op: op.list_keys(args.email))]
    lines = [f"{k['id']:>6}  {k['status']:<8} {k['group']:<16} {k['masked_key']}  {k['name']}" for k in keys]
    _emit(args, {"keys": keys}, "\n".join(lines) or "no keys")


def cmd_keys_revoke(args: argparse.Namespace) -> None:
    record, revoked = _run_operator(args, lambda op: op.revoke(args.id))
    _emit(
        args,
        {**_key_summary(record), "revoked_key_ids": revoked},
        f"revoked key {record.id}" + (f" and sub-keys {revoked[1:]}" if len(revoked) > 1 else ""),
    )


def cmd_keys_rotate(args: argparse.Namespace) -> None:
    record, secret = _run_operator(args, lambda op: op.rotate(args.id, args.grace_seconds))
    _emit(
        args,
        {**_key_summary(record), "key": secret},
        f"rotated key {record.id}: {secret}\n(the secret is shown once; store it now)",
    )


def cmd_orgs_create(args: argparse.Namespace) -> None:
    org = _run_operator(args, lambda op: op.create_org(args.name, args.owner_email))
    _emit(
        args,
        {"id": org.id, "name": org.name, "status": org.status, "wallet_id": org.wallet_id},
        f"created org {org.name} (id {org.id}); owner {args.owner_email}",
    )


def cmd_groups_grant(args: argparse.Namespace) -> None:
    added = _run_operator(args, lambda op: op.grant_group(args.email, args.group))
    _emit(
        args,
        {"email": args.email.lower(), "group": args.group, "granted": True, "new": added},
        f"granted group {args.group} to {args.email}" + ("" if added else " (already granted)"),
    )


def _add_management_commands(sub: Any, keys_sub: Any) -> None:
    kl = keys_sub.add_parser("list", help="list a user's keys")
    kl.add_argument("--email", required=True, help="owner's email")
    kl.add_argument("--json", action="store_true", help="print JSON")
    kl.set_defaults(func=cmd_keys_list)
    kr = keys_sub.add_parser("revoke", help="revoke a key and all its sub-keys")
    kr.add_argument("--id", required=True, type=_positive_int, help="key id")
    kr.add_argument("--json", action="store_true", help="print JSON")
    kr.set_defaults(func=cmd_keys_revoke)
    kt = keys_sub.add_parser("rotate", help="give a key a fresh secret (printed once)")
    kt.add_argument("--id", required=True, type=_positive_int, help="key id")
    kt.add_argument(
        "--grace-seconds", type=int, default=0, help="keep the old secret working this long (default 0)"
    )
    kt.add_argument("--json", action="store_true", help="print JSON")
    kt.set_defaults(func=cmd_keys_rotate)

    orgs = sub.add_parser("orgs", help="organizations (shared wallets)")
    orgs_sub = orgs.add_subparsers(dest="orgs_command", required=True, metavar="COMMAND")
    oc = orgs_sub.add_parser("create", help="create an org, its wallet and its owner membership")
    oc.add_argument("--name", required=True)
    oc.add_argument("--owner-email", required=True)
    oc.add_argument("--json", action="store_true", help="print JSON")
    oc.set_defaults(func=cmd_orgs_create)

    groups = sub.add_parser("groups", help="routing groups")
    groups_sub = groups.add_subparsers(dest="groups_command", required=True, metavar="COMMAND")
    gg = groups_sub.add_parser("grant", help="let a user bind keys to an exclusive group")
    gg.add_argument("--email", required=True)
    gg.add_argument("--group", required=True, help="group name")
    gg.add_argument("--json", action="store_true", help="print JSON")
    gg.set_defaults(func=cmd_groups_grant)


def cmd_simulate(args: argparse.Namespace) -> None:
    from bytespike.simulator.config import SimulatorConfig
    from bytespike.simulator.server import run_simulator

    print(f"simulator listening on http://{args.host}:{args.port}", flush=True)
    run_simulator(
        args.host,
        args.port,
        SimulatorConfig(
            api_key=args.api_key, latency_ms=args.latency_ms, chunk_delay_ms=args.chunk_delay_ms, chunks=args.chunks
        ),
    )


def cmd_serve(args: argparse.Namespace) -> None:
    from bytespike.serve import serve

    settings = _settings(args).with_overrides(host=args.host, port=args.port, workers=args.workers)
    if args.demo:
        settings = settings.with_overrides(demo=True)
    serve(settings)


# ---------------------------------------------------------------------------- parser
def _usd(value: str) -> str:
    from bytespike.money import usd_to_micros

    try:
        if usd_to_micros(value) < 0:
            raise argparse.ArgumentTypeError(f"{value!r} must not be negative")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    return value


def _positive_int(value: str) -> int:
    try:
        n = int(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from exc
    if n <= 0:
        raise argparse.ArgumentTypeError(f"{value!r} must be positive")
    return n


def _port(value: str) -> int:
    n = _positive_int(value)
    if n > 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a TCP port")
    return n


class _Parser(argparse.ArgumentParser):
    """One line on bad usage, naming where the help is, instead of argparse's usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    # Subparsers inherit the class (add_subparsers defaults parser_class to it).
    parser = _Parser(prog="bytespike", description="A self-hostable LLM API gateway.")
    parser.add_argument("--config", help="TOML config file (default: $BYTESPIKE_CONFIG)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the gateway")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, help="port to bind (default 8080)")
    serve.add_argument("--workers", type=_positive_int, help="worker processes (more than 1 needs Redis)")
    serve.add_argument("--demo", action="store_true", help="answer every model from the built-in simulator")
    serve.set_defaults(func=cmd_serve)

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    up = db_sub.add_parser("upgrade", help="apply all migrations")
    up.add_argument("--json", action="store_true", help="print JSON")
    up.set_defaults(func=cmd_db_upgrade)

    users = sub.add_parser("users", help="manage users")
    users_sub = users.add_subparsers(dest="users_command", required=True, metavar="COMMAND")
    uc = users_sub.add_parser("create", help="create a user (and its wallet)")
    uc.add_argument("--email", required=True)
    uc.add_argument("--password", help="console password (omit for an API-only user)")
    uc.add_argument("--admin", action="store_true", help="give the admin role")
    uc.add_argument("--json", action="store_true", help="print JSON")
    uc.set_defaults(func=cmd_users_create)

    credits = sub.add_parser("credits", help="wallet credits")
    credits_sub = credits.add_subparsers(dest="credits_command", required=True, metavar="COMMAND")
    cg = credits_sub.add_parser("grant", help="credit a user's wallet (ledger kind admin_credit)")
    cg.add_argument("--email", required=True)
    cg.add_argument("--usd", required=True, type=_usd, help="amount in USD, e.g. 25 or 0.50")
    cg.add_argument("--note", help="note stored on the ledger entry")
    cg.add_argument("--json", action="store_true", help="print JSON")
    cg.set_defaults(func=cmd_credits_grant)

    keys = sub.add_parser("keys", help="API keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True, metavar="COMMAND")
    kc = keys_sub.add_parser("create", help="create a key (the secret is printed once)")
    kc.add_argument("--email", required=True, help="owner's email")
    kc.add_argument("--group", default="default", help="routing group (default: default)")
    kc.add_argument("--name", default="default", help="display name")
    kc.add_argument("--quota", type=_usd, default="0", help="lifetime USD cap, 0 = unlimited")
    kc.add_argument("--rate-limit-5h", type=_usd, default="0", help="USD cap per rolling 5 h, 0 = none")
    kc.add_argument("--rate-limit-1d", type=_usd, default="0", help="USD cap per rolling 24 h, 0 = none")
    kc.add_argument("--rate-limit-7d", type=_usd, default="0", help="USD cap per rolling 7 d, 0 = none")
    kc.add_argument("--expires-in-days", type=_positive_int, help="revoke automatically after D days")
    kc.add_argument(
        "--ip-whitelist", action="append", metavar="CIDR", help="allowed client network (repeatable)"
    )
    kc.add_argument(
        "--ip-blacklist", action="append", metavar="CIDR", help="denied client network (repeatable)"
    )
    kc.add_argument(
        "--scope", action="append", metavar="SCOPE", help="grant this scope (repeatable; default: no key management)"
    )
    kc.add_argument("--json", action="store_true", help="print JSON")
    kc.set_defaults(func=cmd_keys_create)
    _add_management_commands(sub, keys_sub)

    from bytespike.cli_billing import add_billing_commands  # its commands import this module

    add_billing_commands(sub)

    sim = sub.add_parser("simulate", help="run the vendor simulator (for tests, demos, benchmarks)")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=_port, default=8090)
    sim.add_argument("--api-key", help="require this vendor key (default: accept any)")
    sim.add_argument("--latency-ms", type=float, default=0.0, help="delay before every response")
    sim.add_argument("--chunk-delay-ms", type=float, default=0.0, help="pause between stream chunks")
    sim.add_argument("--chunks", type=_positive_int, help="number of text chunks per stream")
    sim.set_defaults(func=cmd_simulate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except (CliError, SettingsError) as exc:
        print(f"bytespike: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
