"""Turning the management API's key fields into validated column values.

The wire types (number, string, list) are checked by the web layer against the OpenAPI schema;
this module checks what only the domain knows: amounts are exact and not negative, CIDRs parse,
scopes exist, models belong to the group, names fit. Every failure names its field.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from bytespike.access.cidr import parse_networks
from bytespike.access.scopes import ALL_SCOPES
from bytespike.errors import GatewayError
from bytespike.money import usd_to_micros

MAX_CAP_MICROS = 10**15
"""One billion USD: anything larger is a typo, and must still fit a BIGINT with room to add."""
MAX_EXPIRY_DAYS = 36_500
MAX_NETWORKS = 100
MAX_MODELS = 500

USD_FIELDS = {
    "quota": "quota_micros",
    "rate_limit_5h": "rate_limit_5h_micros",
    "rate_limit_1d": "rate_limit_1d_micros",
    "rate_limit_7d": "rate_limit_7d_micros",
}


def bad(message: str, field: str | None) -> GatewayError:
    return GatewayError(400, "invalid_param", message, field)


def usd_cap(value: Any, field: str) -> int:
    """A non-negative USD amount as micro-USD (0 = unlimited)."""
    try:
        micros = usd_to_micros(value, field=field)
    except ValueError as exc:
        raise bad(str(exc), field) from exc
    if micros < 0:
        raise bad(f"{field} must not be negative", field)
    if micros > MAX_CAP_MICROS:
        raise bad(f"{field} must be at most {MAX_CAP_MICROS // 1_000_000} USD", field)
    return micros


def name(value: Any) -> str:
    text = str(value).strip()
    if not text or len(text) > 200:
        raise bad("name must be 1 to 200 characters", "name")
    return text


def expiry(value: Any, now: datetime | None = None) -> datetime | None:
    """``expires_in_days`` → ``expires_at`` (None = never)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_EXPIRY_DAYS:
        raise bad(
            f"expires_in_days must be a whole number of days from 1 to {MAX_EXPIRY_DAYS}", "expires_in_days"
        )
    return (now or datetime.now(UTC)) + timedelta(days=value)


def networks(value: Any, field: str) -> list[str]:
    items = list(value)
    if len(items) > MAX_NETWORKS:
        raise bad(f"{field} holds at most {MAX_NETWORKS} networks", field)
    try:
        parsed = parse_networks(items)
    except ValueError as exc:
        raise bad(f"{field}: {exc}", field) from exc
    return list(dict.fromkeys(str(n) for n in parsed))


def scopes(value: Any) -> list[str]:
    items = list(dict.fromkeys(value))
    unknown = sorted(set(items) - ALL_SCOPES)
    if unknown:
        raise bad(f"unknown scopes: {', '.join(unknown)}", "scopes")
    return items


def models(value: Any, group_models: frozenset[str], group: str) -> list[str] | None:
    if value is None:
        return None
    items = list(dict.fromkeys(value))
    if not items:
        raise bad(
            "allowed_models must name at least one model, or be null for the whole group", "allowed_models"
        )
    if len(items) > MAX_MODELS:
        raise bad(f"allowed_models holds at most {MAX_MODELS} models", "allowed_models")
    outside = sorted(m for m in items if m not in group_models)
    if outside:
        raise bad(f"models not in routing group {group!r}: {', '.join(outside)}", "allowed_models")
    return items


def model_quotas(value: Any, models: frozenset[str]) -> dict[str, int]:
    """``{model: USD}`` → ``{model: micro-USD}``; each model must be one the key can call, and a
    cap of 0 means no cap (the model is dropped from the map)."""
    if not isinstance(value, Mapping):
        raise bad("model_quotas is an object of model → USD cap", "model_quotas")
    if len(value) > MAX_MODELS:
        raise bad(f"model_quotas holds at most {MAX_MODELS} models", "model_quotas")
    out = {}
    for model, usd in value.items():
        field = f"model_quotas.{model}"
        if model not in models:
            raise bad(f"{model!r} is not a model this key can call", field)
        micros = usd_cap(usd, field)
        if micros:
            out[model] = micros
    return out


def columns(fields: Mapping[str, Any], *, group_models: frozenset[str], group: str) -> dict[str, Any]:
    """Column values for every setting present in ``fields`` (group resolution excluded)."""
    out: dict[str, Any] = {}
    if "name" in fields:
        out["name"] = name(fields["name"])
    for field, column in USD_FIELDS.items():
        if field in fields:
            out[column] = usd_cap(fields[field], field)
    if "expires_in_days" in fields:
        out["expires_at"] = expiry(fields["expires_in_days"])
    for field in ("ip_whitelist", "ip_blacklist"):
        if field in fields:
            out[field] = networks(fields[field], field)
    if "scopes" in fields:
        out["scopes"] = scopes(fields["scopes"])
    if "allowed_models" in fields:
        out["allowed_models"] = models(fields["allowed_models"], group_models, group)
    return out
