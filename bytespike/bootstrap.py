"""The embedded default's start-up work, done in a short-lived child process of ``serve``.

The first start creates an admin user (``admin@localhost``), credits its wallet with $100 of
demo credit and creates a ``quickstart`` key; every start migrates the SQLite file if needed and
reveals that key for the banner. Running this in a child (``python -m bytespike.bootstrap``,
settings handed over like ``serve --workers``) keeps Alembic, Mako, Pygments and the AES-GCM code
out of the serving process: about 19 MiB of its idle memory (issue 6's budget is 80 MiB).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

from bytespike.settings import WORKER_SETTINGS_ENV, Settings, settings_for_child, worker_settings

QUICKSTART_EMAIL = "admin@localhost"
QUICKSTART_KEY_NAME = "quickstart"
QUICKSTART_CREDIT_MICROS = 100_000_000


async def bootstrap_quickstart(settings: Settings) -> str:
    """Create (once) and return the quickstart key of the embedded default."""
    from bytespike.access.issuance import KeySpec, create_user, issue_key
    from bytespike.access.secrets import KeySealer
    from bytespike.routing.catalogue import load_catalogue
    from bytespike.storage import accounts, keys, ledger
    from bytespike.storage.engine import create_engine, upgrade

    engine = create_engine(settings.database_url)
    sealer = KeySealer(settings.secret_key)
    catalogue = load_catalogue(settings.catalogue_extra)
    try:
        await upgrade(engine)
        async with engine.begin() as conn:
            await accounts.sync_groups(
                conn, {g.name: (g.description, g.public) for g in catalogue.groups.values()}
            )
            user = await accounts.get_user_by_email(conn, QUICKSTART_EMAIL)
        if user is None:
            user = await create_user(engine, email=QUICKSTART_EMAIL, password=None, admin=True)
        async with engine.begin() as conn:
            wallet = await accounts.get_user_wallet(conn, user.id)
            await ledger.apply_movement(
                conn,
                wallet_id=wallet.id,
                kind="admin_credit",
                amount_micros=QUICKSTART_CREDIT_MICROS,
                idempotency_key=f"quickstart-credit-{user.id}",
                source={"actor": "bytespike serve (embedded default)"},
                note="demo credit for the embedded default",
            )
            record = await keys.find_active_key_by_name(conn, user.id, QUICKSTART_KEY_NAME)
        if record is not None:
            return sealer.unseal(record.secret_ciphertext)
        issued = await issue_key(
            engine,
            sealer,
            user_email=QUICKSTART_EMAIL,
            spec=KeySpec(name=QUICKSTART_KEY_NAME, group="default"),
            known_groups=list(catalogue.groups),
        )
        return issued.key
    finally:
        await engine.dispose()


def bootstrap_in_child(settings: Settings) -> str:
    """Run `bootstrap_quickstart` for ``settings`` in a child process; the quickstart key."""
    env = {**os.environ, WORKER_SETTINGS_ENV: settings_for_child(settings)}
    done = subprocess.run(
        [sys.executable, "-m", "bytespike.bootstrap"], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
        raise SystemExit(f"bytespike: error: start-up failed: {lines[-1]}")
    return json.loads(done.stdout.strip().splitlines()[-1])["key"]


if __name__ == "__main__":
    print(json.dumps({"key": asyncio.run(bootstrap_quickstart(worker_settings()))}), flush=True)
