"""Key management endpoints (spec §2.4, §3.9.4): thin handlers over `access.keys_admin`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bytespike.access.keys_admin import key_status
from bytespike.access.scopes import KEYS_READ, KEYS_WRITE
from bytespike.money import micros_to_usd_float
from bytespike.storage.records import KeyRecord
from bytespike.web.management import schemas as s
from bytespike.web.management.endpoint import Call, Endpoint, Param, Result


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value is not None else None


def key_object(record: KeyRecord, now: datetime | None = None) -> dict[str, Any]:
    return {
        "id": record.id,
        "object": "api_key",
        "name": record.name,
        "group_id": record.group_id,
        "group": record.group_name,
        "masked_key": record.masked_key,
        "status": key_status(record, now),
        "quota": record.quota_micros / 1_000_000,
        "used_usd": micros_to_usd_float(record.used_micros),
        "used_micros": record.used_micros,
        "rate_limit_5h": record.rate_limit_5h_micros / 1_000_000,
        "rate_limit_1d": record.rate_limit_1d_micros / 1_000_000,
        "rate_limit_7d": record.rate_limit_7d_micros / 1_000_000,
        "ip_whitelist": list(record.ip_whitelist),
        "ip_blacklist": list(record.ip_blacklist),
        "allowed_models": list(record.allowed_models) if record.allowed_models is not None else None,
        "model_quotas": {model: micros / 1_000_000 for model, micros in record.model_quotas},
        "scopes": list(record.scopes),
        "expires_at": iso(record.expires_at),
        "created_at": iso(record.created_at),
        "updated_at": iso(record.updated_at),
        "revoked_at": iso(record.revoked_at),
        "parent_key_id": record.parent_key_id,
        "org_id": record.org_id,
    }


def cursor_of(value: Any, name: str = "cursor") -> int:
    """Cursors are opaque strings to clients; here they are the last id seen."""
    from bytespike.errors import GatewayError

    if value is None:
        return 0
    if not str(value).isdigit() or len(str(value)) > 16:
        raise GatewayError(400, "invalid_param", f"{name} is not a cursor returned by this API", name)
    return int(value)


# ---------------------------------------------------------------------------- handlers
async def create_key(call: Call) -> Result:
    record, secret = await call.services.keys.create(call.actor, call.body)
    return Result({**key_object(record), "key": secret}, 201)


async def list_keys(call: Call) -> Result:
    limit = call.query.get("limit", 100)
    listing = await call.services.keys.list(
        call.actor,
        status=call.query.get("status"),
        parent_key_id=call.query.get("parent_key_id"),
        after_id=cursor_of(call.query.get("cursor")),
        limit=limit,
    )
    data = [key_object(k) for k in listing.keys]
    return Result(
        {
            "object": "list",
            "data": data,
            "has_more": listing.has_more,
            "next_cursor": str(data[-1]["id"]) if listing.has_more and data else None,
        }
    )


async def get_key(call: Call) -> Result:
    return Result(key_object(await call.services.keys.get(call.actor, call.path["key_id"])))


async def update_key(call: Call) -> Result:
    return Result(key_object(await call.services.keys.update(call.actor, call.path["key_id"], call.body)))


async def revoke_key(call: Call) -> Result:
    record, revoked = await call.services.keys.revoke(call.actor, call.path["key_id"])
    return Result({**key_object(record), "revoked_key_ids": revoked})


async def rotate_key(call: Call) -> Result:
    grace = call.body.get("grace_period_seconds", 0)
    record, secret = await call.services.keys.rotate(call.actor, call.path["key_id"], grace)
    return Result({**key_object(record), "key": secret})


async def reveal_key(call: Call) -> Result:
    record, secret = await call.services.keys.reveal(call.actor, call.path["key_id"])
    return Result({"id": record.id, "key": secret, "masked_key": record.masked_key})


async def available_groups(call: Call) -> Result:
    groups = await call.services.keys.available_groups(call.actor)
    catalogue = call.services.catalogue
    return Result(
        {
            "object": "list",
            "data": [
                {
                    "id": g.id,
                    "name": g.name,
                    "description": g.description,
                    "is_public": g.is_public,
                    "models": sorted(catalogue.groups[g.name].models) if g.name in catalogue.groups else [],
                }
                for g in groups
            ],
        }
    )


KEY_ID = "/api/v1/keys/{key_id}"
ENDPOINTS = (
    Endpoint(
        "POST",
        "/api/v1/keys",
        KEYS_WRITE,
        "createKey",
        "Create a key (a sub-key when the caller is one, or with parent_key_id)",
        create_key,
        s.KEY_WITH_SECRET,
        status=201,
        body=s.KEY_CREATE,
        description="The secret is in `key` and is shown only here (and through reveal).",
    ),
    Endpoint(
        "GET",
        "/api/v1/keys",
        KEYS_READ,
        "listKeys",
        "List the keys this key can manage",
        list_keys,
        s.page_of(s.KEY),
        query=(
            Param("status", {"type": "string", "enum": ["active", "expired", "revoked"]}),
            Param("parent_key_id", s.ID),
            Param("limit", {"type": "integer", "minimum": 1, "maximum": 500}),
            Param("cursor", {"type": "string", "maxLength": 20}, "next_cursor of the previous page"),
        ),
    ),
    Endpoint("GET", KEY_ID, KEYS_READ, "getKey", "One key", get_key, s.KEY),
    Endpoint(
        "PATCH",
        KEY_ID,
        KEYS_WRITE,
        "updateKey",
        "Change a key's settings",
        update_key,
        s.KEY,
        body=s.KEY_UPDATE,
    ),
    Endpoint(
        "DELETE", KEY_ID, KEYS_WRITE, "revokeKey", "Revoke a key and all its sub-keys", revoke_key, s.REVOKED
    ),
    Endpoint(
        "POST",
        KEY_ID + "/rotate",
        KEYS_WRITE,
        "rotateKey",
        "New secret, same key; the old secret works for grace_period_seconds more (default 0)",
        rotate_key,
        s.KEY_WITH_SECRET,
        body=s.ROTATE,
        body_required=False,
    ),
    Endpoint(
        "GET",
        KEY_ID + "/reveal",
        KEYS_WRITE,
        "revealKey",
        "The key's secret (audited)",
        reveal_key,
        s.REVEALED,
    ),
    Endpoint(
        "GET",
        "/v1/keys/{key_id}/reveal",
        KEYS_WRITE,
        "revealKeyV1",
        "The key's secret (audited); the spec's path",
        reveal_key,
        s.REVEALED,
    ),
    Endpoint(
        "GET",
        "/api/v1/groups/available",
        KEYS_READ,
        "availableGroups",
        "Routing groups a new key can be bound to",
        available_groups,
        s.GROUPS,
        tag="account",
    ),
)
