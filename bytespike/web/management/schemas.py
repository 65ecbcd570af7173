"""JSON Schemas of the management API's bodies: validated on the way in (`validation.py`) and
published as-is in the OpenAPI document (`openapi.py`), so the two cannot disagree."""

from __future__ import annotations

from typing import Any

from bytespike.access.admin import MAX_CONCURRENCY_LIMIT
from bytespike.access.scopes import ALL_SCOPES
from bytespike.accounting.meter import TIER_CAPS_TEXT

MAX_ID = 2**53 - 1
"""Largest id accepted anywhere (exact in every JSON parser)."""
MAX_USD = 1_000_000_000


def obj(required: list[str] | tuple[str, ...] = (), *, closed: bool = False, **props: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        schema["required"] = list(required)
    if closed:
        schema["additionalProperties"] = False
    return schema


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    return {**schema, "type": [*types, "null"]}


ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
STR = {"type": "string"}
INT = {"type": "integer"}
NUM = {"type": "number"}
BOOL = {"type": "boolean"}
TIME = {"type": "string", "format": "date-time"}
USD_CAP = {"type": "number", "minimum": 0, "maximum": MAX_USD, "description": "USD; 0 = unlimited"}
CIDRS = {
    "type": "array",
    "items": {"type": "string", "minLength": 1, "maxLength": 64},
    "maxItems": 100,
    "description": "IPv4/IPv6 CIDRs (a bare address means a single host)",
}
SCOPES = {"type": "array", "items": {"type": "string", "enum": sorted(ALL_SCOPES)}, "maxItems": 20}
MODELS = {
    "type": ["array", "null"],
    "items": {"type": "string", "minLength": 1, "maxLength": 100},
    "minItems": 1,
    "maxItems": 500,
    "description": "narrows the group to these models; null = the whole group",
}
MODEL_QUOTAS = {
    "type": "object",
    "additionalProperties": USD_CAP,
    "maxProperties": 500,
    "description": "per-model lifetime caps: model slug → USD (the key's and its sub-keys' spend on "
    "that model); 0 removes a cap; on PATCH the whole map is replaced",
}

ERROR = obj(
    ["error"],
    error=obj(
        ["type", "code", "message", "param"],
        type=STR,
        code=nullable(STR),
        message=STR,
        param=nullable(STR),
    ),
)

_KEY_SETTINGS: dict[str, Any] = {
    "name": {"type": "string", "minLength": 1, "maxLength": 200},
    "group_id": ID,
    "group": {
        "type": "string",
        "minLength": 1,
        "maxLength": 100,
        "description": "group name (alternative to group_id)",
    },
    "quota": USD_CAP,
    "expires_in_days": {"type": ["integer", "null"], "minimum": 1, "maximum": 36_500},
    "rate_limit_5h": USD_CAP,
    "rate_limit_1d": USD_CAP,
    "rate_limit_7d": USD_CAP,
    "ip_whitelist": CIDRS,
    "ip_blacklist": CIDRS,
    "allowed_models": MODELS,
    "model_quotas": MODEL_QUOTAS,
    "scopes": SCOPES,
}
KEY_CREATE = obj(
    ["name"],
    closed=True,
    **_KEY_SETTINGS,
    custom_key={
        "type": "string",
        "minLength": 24,
        "maxLength": 208,
        "description": "sk-byts- + 16-200 chars",
    },
    parent_key_id=nullable(ID),
    org_id=nullable(ID),
)
KEY_UPDATE = obj(closed=True, **_KEY_SETTINGS)
ROTATE = obj(
    closed=True,
    grace_period_seconds={"type": "integer", "minimum": 0, "maximum": 7 * 24 * 3600},
)

KEY = obj(
    [
        "id",
        "object",
        "name",
        "group_id",
        "group",
        "masked_key",
        "status",
        "quota",
        "used_usd",
        "used_micros",
        "rate_limit_5h",
        "rate_limit_1d",
        "rate_limit_7d",
        "ip_whitelist",
        "ip_blacklist",
        "allowed_models",
        "scopes",
        "expires_at",
        "created_at",
        "parent_key_id",
        "org_id",
    ],
    id=ID,
    object={"type": "string", "enum": ["api_key"]},
    name=STR,
    group_id=ID,
    group=STR,
    masked_key=STR,
    status={"type": "string", "enum": ["active", "expired", "revoked"]},
    quota=NUM,
    used_usd=NUM,
    used_micros=INT,
    rate_limit_5h=NUM,
    rate_limit_1d=NUM,
    rate_limit_7d=NUM,
    ip_whitelist={"type": "array", "items": STR},
    ip_blacklist={"type": "array", "items": STR},
    allowed_models={"type": ["array", "null"], "items": STR},
    model_quotas={"type": "object", "additionalProperties": NUM},
    scopes={"type": "array", "items": STR},
    expires_at=nullable(TIME),
    created_at=TIME,
    updated_at=nullable(TIME),
    revoked_at=nullable(TIME),
    parent_key_id=nullable(ID),
    org_id=nullable(ID),
)
KEY_WITH_SECRET = {
    **KEY,
    "required": [*KEY["required"], "key"],
    "properties": {**KEY["properties"], "key": STR},
}
REVOKED = {
    **KEY,
    "required": [*KEY["required"], "revoked_key_ids"],
    "properties": {**KEY["properties"], "revoked_key_ids": {"type": "array", "items": ID}},
}
REVEALED = obj(["id", "key", "masked_key"], id=ID, key=STR, masked_key=STR)


def page_of(item: dict[str, Any]) -> dict[str, Any]:
    return obj(
        ["object", "data", "has_more", "next_cursor"],
        object={"type": "string", "enum": ["list"]},
        data={"type": "array", "items": item},
        has_more=BOOL,
        next_cursor=nullable(STR),
    )


GROUP = obj(
    ["id", "name", "description", "is_public", "models"],
    id=ID,
    name=STR,
    description=STR,
    is_public=BOOL,
    models={"type": "array", "items": STR},
)
GROUPS = obj(["object", "data"], object=STR, data={"type": "array", "items": GROUP})

USAGE_ROW = obj(
    [
        "id",
        "created_at",
        "api_key_id",
        "model",
        "endpoint",
        "prompt_tokens",
        "completion_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "credits",
        "cost_usd",
    ],
    id=ID,
    request_id=STR,
    created_at=TIME,
    api_key_id=nullable(ID),
    model=STR,
    endpoint=STR,
    is_stream=BOOL,
    prompt_tokens=INT,
    completion_tokens=INT,
    cache_read_tokens=INT,
    cache_write_tokens=INT,
    reasoning_tokens=INT,
    credits={"type": "integer", "description": "micro-USD"},
    cost_usd=NUM,
)
_TOTALS = obj(
    ["total_usd", "input_tokens", "output_tokens", "call_count"],
    total_usd=NUM,
    total_micros=INT,
    input_tokens=INT,
    output_tokens=INT,
    call_count=INT,
)
ROLLUP = obj(
    ["buckets", "totals"],
    buckets={
        "type": "array",
        "items": {
            **_TOTALS,
            "required": ["bucket", *_TOTALS["required"]],
            "properties": {**_TOTALS["properties"], "bucket": STR, "model": STR, "api_key_id": nullable(ID)},
        },
    },
    totals=_TOTALS,
    since=TIME,
    until=TIME,
)
USAGE_OR_ROLLUP = {"oneOf": [ROLLUP, page_of(USAGE_ROW)]}

_WALLET = obj(
    ["available_usd", "held_usd"],
    available_usd=NUM,
    available_micros=INT,
    held_usd=NUM,
    held_micros=INT,
    balance_usd=NUM,
)
_WINDOW = obj(
    ["window", "key_id", "limit_usd", "used_usd", "remaining_usd", "reset"],
    window={"type": "string", "enum": ["5h", "1d", "7d"]},
    key_id=ID,
    limit_usd=NUM,
    limit_micros=INT,
    used_usd=NUM,
    used_micros=INT,
    remaining_usd=NUM,
    remaining_micros=INT,
    reset=nullable(INT),
)
BALANCE = obj(
    ["key", "wallet", "window", "by_model"],
    key=obj(
        ["id", "quota_usd", "used_usd", "remaining_usd"],
        id=ID,
        quota_usd=NUM,
        used_usd=NUM,
        used_micros=INT,
        remaining_usd=nullable(NUM),
    ),
    wallet=_WALLET,
    org_wallet={**_WALLET, "properties": {**_WALLET["properties"], "org_id": ID}},
    window=nullable(_WINDOW),
    windows={"type": "array", "items": _WINDOW},
    by_model={
        "type": "array",
        "items": obj(
            ["model", "call_count", "total_usd"],
            model=STR,
            call_count=INT,
            total_usd=NUM,
            input_tokens=INT,
            output_tokens=INT,
        ),
    },
)
ACCOUNT = obj(
    ["user", "balance", "allowed_models", "org"],
    user=obj(
        ["id", "username", "email", "created_at", "tier"],
        id=ID,
        username=STR,
        email=STR,
        created_at=TIME,
        tier={"type": "string", "enum": ["individual", "enterprise"]},
        plan=STR,
        role=STR,
    ),
    balance=obj(
        [
            "available_usd",
            "lifetime_topup_usd",
            "lifetime_spent_usd",
            "low_balance_threshold_usd",
            "low_balance_flagged",
        ],
        available_usd=NUM,
        lifetime_topup_usd=NUM,
        lifetime_spent_usd=NUM,
        low_balance_threshold_usd=NUM,
        low_balance_flagged=BOOL,
    ),
    allowed_models={
        "type": "array",
        "items": obj(
            ["id", "quota_used_usd", "quota_cap_usd"],
            id=STR,
            quota_used_usd=NUM,
            quota_cap_usd=nullable(NUM),
            quota_cap_key_id=nullable(ID),
        ),
    },
    org={"oneOf": [{"type": "null"}, obj(["id", "name", "role"], id=ID, name=STR, role=STR)]},
)
TRANSACTIONS = obj(
    ["items", "total", "page", "page_size"],
    items={
        "type": "array",
        "items": obj(
            ["id", "created_at", "kind", "amount_usd", "balance_after_usd", "source", "note"],
            id=ID,
            created_at=TIME,
            kind=STR,
            amount_usd=NUM,
            amount_micros=INT,
            balance_after_usd=NUM,
            source={"type": "object"},
            note=nullable(STR),
        ),
    },
    total=INT,
    page=INT,
    page_size=INT,
)

# ---------------------------------------------------------------------------- sign-in and admin
SIGN_IN = obj(
    ["email", "password"],
    closed=True,
    email={"type": "string", "minLength": 3, "maxLength": 320},
    password={"type": "string", "minLength": 1, "maxLength": 256},
)
SESSION = obj(
    ["user", "key_id", "key", "expires_at"],
    user=obj(["id", "email", "role"], id=ID, email=STR, role=STR),
    key_id=ID,
    key=STR,
    expires_at=TIME,
)
CONCURRENCY_LIMIT = {
    "type": ["integer", "null"],
    "minimum": 0,
    "maximum": MAX_CONCURRENCY_LIMIT,
    "description": "requests of the account in flight at once (0 = unlimited); null = the tier's ("
    + TIER_CAPS_TEXT
    + ")",
}
USER = obj(
    ["id", "email", "role", "tier", "status", "concurrency_limit", "created_at"],
    id=ID,
    email=STR,
    role={"type": "string", "enum": ["user", "admin"]},
    tier=STR,
    status={"type": "string", "enum": ["active", "disabled"]},
    concurrency_limit=CONCURRENCY_LIMIT,
    created_at=TIME,
    granted_group_ids={"type": "array", "items": ID},
)
USER_CREATE = obj(
    ["email"],
    closed=True,
    email={"type": "string", "minLength": 3, "maxLength": 320},
    password={"type": "string", "minLength": 12, "maxLength": 256},
    role={"type": "string", "enum": ["user", "admin"]},
)
USER_UPDATE = obj(
    closed=True,
    role={"type": "string", "enum": ["user", "admin"]},
    status={"type": "string", "enum": ["active", "disabled"]},
    tier={"type": "string", "enum": ["free", "pro", "max", "enterprise"]},
    concurrency_limit=CONCURRENCY_LIMIT,
)
GRANT = obj(["group_id"], closed=True, group_id=ID)
GRANTS = obj(["user_id", "granted_group_ids"], user_id=ID, granted_group_ids={"type": "array", "items": ID})
CREDIT = obj(
    ["amount_usd"],
    closed=True,
    user_id=ID,
    org_id=ID,
    amount_usd={
        "type": "number",
        "minimum": -1_000_000,
        "maximum": 1_000_000,
        "description": "signed USD: positive credits, negative debits; non-zero",
    },
    note={"type": "string", "maxLength": 500},
    idempotency_key={"type": "string", "minLength": 1, "maxLength": 100},
)
LEDGER_ENTRY = obj(
    ["id", "wallet_id", "kind", "amount_usd", "balance_after_usd", "created_at", "replayed"],
    id=ID,
    wallet_id=ID,
    kind=STR,
    amount_usd=NUM,
    amount_micros=INT,
    balance_after_usd=NUM,
    balance_after_micros=INT,
    source={"type": "object", "description": "per kind: the actor, the refunded request, the plan period"},
    note=nullable(STR),
    created_at=TIME,
    replayed={"type": "boolean", "description": "true when the idempotency key was used before"},
)
REFUND = obj(
    ["request_id"],
    closed=True,
    request_id={"type": "string", "minLength": 1, "maxLength": 64},
    amount_usd={
        "type": "number",
        "exclusiveMinimum": 0,
        "maximum": 1_000_000,
        "description": "default: the request's whole cost; at most that",
    },
    note={"type": "string", "maxLength": 500},
)
RENEWAL = obj(
    ["tier", "period", "credit_usd"],
    closed=True,
    tier={"type": "string", "enum": ["pro", "max", "enterprise"]},
    period={"type": "string", "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])$", "description": "the month renewed, YYYY-MM"},
    credit_usd={
        "type": "number",
        "exclusiveMinimum": 0,
        "maximum": 100_000,
        "description": "credits the plan includes for the period",
    },
    note={"type": "string", "maxLength": 500},
)
MEMBER = obj(["user_id", "email", "role"], user_id=ID, email=STR, role=STR, created_at=TIME)
ORG = obj(
    ["id", "name", "status", "wallet_id", "created_at"],
    id=ID,
    name=STR,
    status={"type": "string", "enum": ["active", "paused"]},
    wallet_id=ID,
    created_at=TIME,
    members={"type": "array", "items": MEMBER},
)
ORG_CREATE = obj(
    ["name", "owner_user_id"],
    closed=True,
    name={"type": "string", "minLength": 1, "maxLength": 200},
    owner_user_id=ID,
)
ORG_UPDATE = obj(
    closed=True,
    name={"type": "string", "minLength": 1, "maxLength": 200},
    status={"type": "string", "enum": ["active", "paused"]},
)
MEMBER_SET = obj(["role"], closed=True, role={"type": "string", "enum": ["owner", "admin", "member"]})
MEMBERS = obj(["org_id", "members"], org_id=ID, members={"type": "array", "items": MEMBER})
AUDIT_ENTRY = obj(
    [
        "id",
        "created_at",
        "action",
        "target_type",
        "target_id",
        "actor_user_id",
        "actor_key_id",
        "detail",
        "ip",
    ],
    id=ID,
    created_at=TIME,
    action=STR,
    target_type=STR,
    target_id=nullable(STR),
    actor_user_id=nullable(ID),
    actor_key_id=nullable(ID),
    detail={"type": "object"},
    ip=nullable(STR),
)
