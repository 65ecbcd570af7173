"""The CLI of DESIGN.md §4, run as a real process: --json output, one-line errors, exit codes."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import pytest
import sqlalchemy as sa

from bytespike.cli import build_parser
from bytespike.settings import load_settings
from bytespike.storage.engine import create_engine, head_revision
from bytespike.storage.schema import api_keys, ledger_entries, wallets


def run(tmp_path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith("BYTESPIKE_")}
    full["BYTESPIKE_DATA_DIR"] = str(tmp_path)
    full.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bytespike", *args], env=full, capture_output=True, text=True, timeout=60
    )


def test_full_onboarding_flow_with_json(tmp_path) -> None:
    r = run(tmp_path, "users", "create", "--email", "Ada@Example.test", "--json")
    assert r.returncode == 0, r.stderr
    user = json.loads(r.stdout)
    assert user["email"] == "ada@example.test" and user["role"] == "user"
    r = run(
        tmp_path, "credits", "grant", "--email", "ada@example.test", "--usd", "12.5", "--note", "hi", "--json"
    )
    assert r.returncode == 0, r.stderr
    grant = json.loads(r.stdout)
    assert grant["amount_micros"] == 12_500_000 and grant["balance_usd"] == "12.50"
    r = run(
        tmp_path, "keys", "create", "--email", "ada@example.test", "--group", "claude-default", "--quota", "3",
        "--rate-limit-5h", "1", "--expires-in-days", "7", "--ip-whitelist", "10.0.0.0/8",
        "--ip-whitelist", "2001:db8::/32", "--json",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    key = json.loads(r.stdout)
    assert (
        key["key"].startswith("sk-byts-") and isinstance(key["id"], int) and key["group"] == "claude-default"
    )

    async def check() -> None:
        engine = create_engine(load_settings({"BYTESPIKE_DATA_DIR": str(tmp_path)}).database_url)
        async with engine.connect() as conn:
            row = (await conn.execute(sa.select(api_keys).where(api_keys.c.id == key["id"]))).one()
            balance = await conn.scalar(
                sa.select(wallets.c.balance_micros).where(wallets.c.user_id == user["id"])
            )
            note = await conn.scalar(sa.select(ledger_entries.c.note))
        await engine.dispose()
        assert (row.quota_micros, row.rate_limit_5h_micros) == (3_000_000, 1_000_000)
        assert row.ip_whitelist == ["10.0.0.0/8", "2001:db8::/32"] and row.expires_at is not None
        assert balance == 12_500_000 and note == "hi"

    import asyncio

    asyncio.run(check())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["credits", "grant", "--email", "nobody@example.test", "--usd", "5"], "no user with email"),
        (["keys", "create", "--email", "nobody@example.test"], "no user with email"),
        (["users", "create", "--email", "not-an-email"], "is not an email address"),
    ],
)
def test_refused_operations_print_one_line_and_exit_1(tmp_path, args, message) -> None:
    r = run(tmp_path, *args)
    assert r.returncode == 1
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "args",
    [
        ["credits", "grant", "--email", "a@b.c", "--usd", "lots"],
        ["keys", "create", "--email", "a@b.c", "--quota", "-1"],
        ["keys", "create", "--email", "a@b.c", "--expires-in-days", "0"],
        ["serve", "--port", "99999"],
        ["users", "create"],
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_2(tmp_path, args) -> None:
    r = run(tmp_path, *args)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and ": error: " in r.stderr, "one line naming the error"
    assert "--help" in r.stderr


def test_duplicate_user_and_bad_custom_group(tmp_path) -> None:
    assert run(tmp_path, "users", "create", "--email", "b@example.test").returncode == 0
    r = run(tmp_path, "users", "create", "--email", "B@example.test")
    assert r.returncode == 1 and "already exists" in r.stderr
    r = run(tmp_path, "keys", "create", "--email", "b@example.test", "--group", "nope")
    assert r.returncode == 1 and "unknown routing group" in r.stderr
    r = run(tmp_path, "keys", "create", "--email", "b@example.test", "--ip-whitelist", "not-a-cidr")
    assert r.returncode == 1 and "not-a-cidr" in r.stderr


@pytest.mark.parametrize("command", ["serve", "db", "users", "credits", "keys", "simulate"])
def test_every_command_has_help(tmp_path, command) -> None:
    r = run(tmp_path, command, "--help")
    assert r.returncode == 0 and "usage: bytespike" in r.stdout


def _command_paths(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], str | None]]:
    """Every command and subcommand of the parser tree, with the one-line help it is listed with."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            listed = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                found.append(((*path, name), listed.get(name)))
                found += _command_paths(sub, (*path, name))
    return found


def test_every_subcommand_down_the_tree_answers_help(capsys) -> None:
    """Walks the real parser, so a command added later is covered (and must say what it does)."""
    paths = _command_paths(build_parser())
    assert {("db", "upgrade"), ("users", "create"), ("credits", "grant"), ("keys", "create")} <= {p for p, _ in paths}
    for path, listed_help in paths:
        assert listed_help, f"bytespike {' '.join(path)} has no one-line help in its parent's list"
        with pytest.raises(SystemExit) as exited:
            build_parser().parse_args([*path, "--help"])
        assert exited.value.code == 0, path
        out = capsys.readouterr().out
        assert out.startswith(f"usage: bytespike {' '.join(path)}"), (path, out[:200])


def test_db_upgrade_on_postgresql(tmp_path) -> None:
    import asyncio

    from tests.support.services import create_pg_database, drop_pg_database

    url = asyncio.run(create_pg_database())
    try:
        env = {"BYTESPIKE_DATABASE_URL": url, "BYTESPIKE_SECRET_KEY": "cli-test-secret-0123456789"}
        r = run(tmp_path, "db", "upgrade", "--json", env=env)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["revision"] == head_revision()
        r = run(tmp_path, "users", "create", "--email", "pg@example.test", "--json", env=env)
        assert r.returncode == 0, r.stderr
    finally:
        asyncio.run(drop_pg_database(url))


def test_serve_refuses_several_workers_without_shared_state(tmp_path) -> None:
    r = run(tmp_path, "serve", "--workers", "2")
    assert r.returncode == 2 and "Redis" in r.stderr
