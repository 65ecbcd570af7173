"""Who is calling: the resolved, immutable view of a key that every later step reads."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class KeyLimits:
    """Caps of one key in the chain (the key itself or an ancestor), micro-USD; 0 = unlimited."""

    key_id: int
    quota_micros: int
    rate_limit_5h_micros: int = 0
    rate_limit_1d_micros: int = 0
    rate_limit_7d_micros: int = 0


@dataclass(frozen=True, slots=True)
class ModelCap:
    """A per-model lifetime cap of the key or an ancestor (spec §2.3 ``quota_cap_usd``)."""

    cap_id: int
    """Its row (storage/model_quotas.py); the hot state names it ``-cap_id``."""
    key_id: int
    model: str
    quota_micros: int


@dataclass(frozen=True, slots=True)
class Principal:
    """A caller authenticated by an API key."""

    key_id: int
    user_id: int
    org_id: int | None
    """Set for org-owned keys, which spend from the org wallet."""
    wallet_id: int
    group: str
    """Name of the key's routing group."""
    scopes: frozenset[str]
    allowed_models: frozenset[str] | None
    """Optional allow-list narrowing the group; ``None`` means the whole group."""
    ip_allow: tuple[Network, ...]
    ip_deny: tuple[Network, ...]
    expires_at: float | None
    """Unix time after which the key is refused."""
    chain: tuple[KeyLimits, ...]
    """This key's limits first, then each ancestor's (sub-keys, issue 4)."""
    tier: str
    masked_key: str
    grace_until: float | None = None
    """Set when authenticated by a rotated-out secret still inside its grace period."""
    model_caps: tuple[ModelCap, ...] = ()
    """Per-model caps of the key and its ancestors; admission checks the ones of the model called."""
    secret_fingerprint: str = ""
    """Names the secret presented (`state.hot.secret_fingerprint` of its lookup digest), so
    admission can refuse it once rotated out even while this principal is cached."""

    @property
    def key_chain_ids(self) -> tuple[int, ...]:
        return tuple(k.key_id for k in self.chain)

    @property
    def is_org_key(self) -> bool:
        return self.org_id is not None
