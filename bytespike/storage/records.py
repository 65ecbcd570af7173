"""Typed rows that cross the storage boundary (no SQLAlchemy types leak upward)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    email: str
    role: str
    tier: str
    status: str
    concurrency_limit: int | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class WalletRecord:
    id: int
    user_id: int | None
    org_id: int | None
    balance_micros: int
    lifetime_topup_micros: int
    lifetime_spent_micros: int


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """One API key joined with what authentication needs to build a Principal."""

    id: int
    user_id: int
    org_id: int | None
    wallet_id: int
    parent_key_id: int | None
    group_id: int
    group_name: str
    name: str
    masked_key: str
    status: str
    quota_micros: int
    used_micros: int
    rate_limit_5h_micros: int
    rate_limit_1d_micros: int
    rate_limit_7d_micros: int
    ip_whitelist: tuple[str, ...]
    ip_blacklist: tuple[str, ...]
    allowed_models: tuple[str, ...] | None
    scopes: tuple[str, ...]
    expires_at: datetime | None
    created_at: datetime
    user_status: str
    user_tier: str
    org_status: str | None
    secret_ciphertext: bytes
    previous_valid_until: datetime | None = None
    """Set when the record was found by its previous (rotated-out) secret."""
    is_previous_secret: bool = False
    """Found by its rotated-out secret (which is valid only until ``previous_valid_until``)."""
    group_is_public: bool = True
    group_granted: bool = False
    """The owner has a ``user_allowed_groups`` row for the key's group (needed when exclusive)."""
    updated_at: datetime | None = None
    revoked_at: datetime | None = None
    model_quotas: tuple[tuple[str, int], ...] = ()
    """Per-model lifetime caps (model, micro-USD), when the reader loaded them (key management)."""


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """One billed request: the debit side of the wallet ledger."""

    request_id: str
    created_at: datetime
    api_key_id: int
    user_id: int
    org_id: int | None
    wallet_id: int
    key_chain: tuple[int, ...]
    """The key and every ancestor: each one's ``used_micros`` grows by ``cost_micros``."""
    model: str
    provider: str
    endpoint: str
    caller_protocol: str
    upstream_protocol: str
    is_stream: bool
    status: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    cost_micros: int
    latency_ms: float
    ttft_ms: float | None
    billing_rule: str


@dataclass(frozen=True, slots=True)
class LedgerEntryRecord:
    id: int
    wallet_id: int
    kind: str
    amount_micros: int
    balance_after_micros: int
    idempotency_key: str
    note: str | None
    created_at: datetime
    source: dict[str, Any] = field(default_factory=dict)
    """Per kind: the payment (top-ups), the actor (admin entries), the request (refunds), …"""
