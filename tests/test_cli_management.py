"""CLI additions of issue 4: keys list/revoke/rotate, --scope, orgs create, groups grant (--json)."""

from __future__ import annotations

import json

from tests.test_cli import run


def _json(tmp_path, *args: str):  # type: ignore[no-untyped-def]
    r = run(tmp_path, *args, "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_key_lifecycle_orgs_and_groups_from_the_cli(tmp_path) -> None:
    _json(tmp_path, "users", "create", "--email", "ops@example.test")
    _json(tmp_path, "users", "create", "--email", "dev@example.test")
    parent = _json(
        tmp_path,
        "keys",
        "create",
        "--email",
        "ops@example.test",
        "--scope",
        "inference",
        "--scope",
        "keys:write",
    )
    other = _json(tmp_path, "keys", "create", "--email", "ops@example.test", "--name", "second")
    listed = _json(tmp_path, "keys", "list", "--email", "ops@example.test")["keys"]
    assert [k["id"] for k in listed] == [parent["id"], other["id"]]
    assert listed[0]["scopes"] == ["inference", "keys:write"] and listed[0]["status"] == "active"
    assert parent["key"] not in json.dumps(listed)

    rotated = _json(tmp_path, "keys", "rotate", "--id", str(other["id"]), "--grace-seconds", "60")
    assert (
        rotated["id"] == other["id"]
        and rotated["key"].startswith("sk-byts-")
        and rotated["key"] != other["key"]
    )
    revoked = _json(tmp_path, "keys", "revoke", "--id", str(parent["id"]))
    assert revoked["status"] == "revoked" and revoked["revoked_key_ids"] == [parent["id"]]
    assert _json(tmp_path, "keys", "list", "--email", "ops@example.test")["keys"][0]["status"] == "revoked"

    org = _json(tmp_path, "orgs", "create", "--name", "Acme", "--owner-email", "ops@example.test")
    assert org["name"] == "Acme" and org["status"] == "active" and org["wallet_id"] > 0
    granted = _json(tmp_path, "groups", "grant", "--email", "dev@example.test", "--group", "claude-default")
    assert granted == {"email": "dev@example.test", "group": "claude-default", "granted": True, "new": True}
    again = _json(tmp_path, "groups", "grant", "--email", "dev@example.test", "--group", "claude-default")
    assert again["new"] is False


def test_cli_refusals_are_one_line_errors(tmp_path) -> None:
    _json(tmp_path, "users", "create", "--email", "ops@example.test")
    for args in (
        ("keys", "revoke", "--id", "999"),
        ("keys", "rotate", "--id", "999"),
        ("keys", "list", "--email", "nobody@example.test"),
        ("orgs", "create", "--name", "X", "--owner-email", "nobody@example.test"),
        ("groups", "grant", "--email", "ops@example.test", "--group", "nope"),
        ("keys", "create", "--email", "ops@example.test", "--scope", "root"),
    ):
        r = run(tmp_path, *args)
        assert r.returncode == 1, (args, r.stdout, r.stderr)
        assert r.stderr.startswith("bytespike: error: ") and r.stderr.count("\n") == 1, r.stderr
    r = run(tmp_path, "keys", "rotate", "--id", "0")
    assert r.returncode == 2
