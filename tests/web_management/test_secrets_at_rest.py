"""No secret is ever stored in plaintext: every table is scanned after creating, revealing,
rotating (with and without grace), minting sub-keys, custom keys and signing in."""

from __future__ import annotations

import sqlalchemy as sa

from bytespike.storage.schema import metadata
from tests.web_management.support import Api

CUSTOM = "sk-byts-plaintext-canary-0123456789abcdef"


async def _every_cell(api: Api) -> str:
    cells = []
    async with api.engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in await conn.execute(sa.select(table)):
                for value in row:
                    cells.append(
                        value.decode("latin-1") if isinstance(value, bytes | bytearray) else repr(value)
                    )
    return "\n".join(cells)


async def test_no_secret_is_stored_in_plaintext(api: Api) -> None:
    me = await api.account(password="correct horse 1!")
    secrets = [me.key]
    created = (await api.call("POST", "/api/v1/keys", me.key, {"name": "a", "group": "default"})).json()
    secrets.append(created["key"])
    custom = await api.call(
        "POST", "/api/v1/keys", me.key, {"name": "c", "group": "default", "custom_key": CUSTOM}
    )
    assert custom.status == 201
    secrets.append(CUSTOM)
    revealed = (await api.call("GET", f"/v1/keys/{created['id']}/reveal", me.key)).json()["key"]
    assert revealed == created["key"]
    graced = (
        await api.call("POST", f"/api/v1/keys/{created['id']}/rotate", me.key, {"grace_period_seconds": 600})
    ).json()
    secrets.append(graced["key"])
    rotated = (await api.call("POST", f"/api/v1/keys/{custom.json()['id']}/rotate", me.key)).json()
    secrets.append(rotated["key"])
    child = (
        await api.call("POST", "/api/v1/keys", me.key, {"name": "sub", "parent_key_id": created["id"]})
    ).json()
    secrets.append(child["key"])
    session = await api.call(
        "POST", "/api/v1/auth/sign-in", None, {"email": me.email, "password": "correct horse 1!"}
    )
    secrets.append(session.json()["key"])
    assert (await api.chat(created["key"])).status == 200  # the old secret, inside its grace period
    dump = await _every_cell(api)
    for secret in secrets:
        body = secret.removeprefix("sk-byts-")
        assert secret not in dump and body not in dump, "a key secret is stored in plaintext"
        assert body[8:-8] not in dump
    assert "correct horse 1!" not in dump
