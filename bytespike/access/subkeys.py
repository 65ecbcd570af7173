"""Sub-keys never exceed their parent: the checks at creation/edit, and the chain clamp.

Two complementary guarantees (docs/management-api.md "Sub-keys"):

* **At creation and edit** (`excess_over_parent`): each setting a child names must lie within
  its parent's — quota and each spend cap no larger (and not unlimited under a capped parent),
  models a subset, scopes a subset, allow-list networks inside the parent's, deny-list covering
  the parent's, expiry no later. Violations are refused with the field named.
* **At every request** (`effective_*`, used by the key resolver): the key's effective scopes,
  models, address lists and expiry are the intersection over the key and all its ancestors, so
  a parent narrowed *after* its children were made still bounds them; quotas and caps are
  checked along the whole chain by the meter.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bytespike.access.principal import Network

NOWHERE: tuple[Network, ...] = (ipaddress.ip_network("0.0.0.0/32"), ipaddress.ip_network("::/128"))
"""An allow-list nothing can match (the unspecified addresses never appear as a client): what
the intersection of two disjoint allow-lists clamps to."""


@dataclass(frozen=True, slots=True)
class KeyLimitsView:
    """The settings of one key that a child must stay within (micro-USD; 0 = unlimited)."""

    group_id: int
    quota_micros: int
    rate_limit_5h_micros: int
    rate_limit_1d_micros: int
    rate_limit_7d_micros: int
    ip_whitelist: Sequence[str]
    ip_blacklist: Sequence[str]
    allowed_models: Sequence[str] | None
    scopes: Sequence[str]
    expires_at: datetime | None
    model_quotas: Mapping[str, int] = field(default_factory=dict)
    """Per-model caps (model → micro-USD)."""


CAP_FIELDS = (
    ("quota_micros", "quota"),
    ("rate_limit_5h_micros", "rate_limit_5h"),
    ("rate_limit_1d_micros", "rate_limit_1d"),
    ("rate_limit_7d_micros", "rate_limit_7d"),
)


def _nets(values: Iterable[str]) -> list[Network]:
    return [ipaddress.ip_network(v, strict=False) for v in values]


def _inside(net: Network, others: Iterable[Network]) -> bool:
    return any(net.version == o.version and net.subnet_of(o) for o in others)  # type: ignore[arg-type]


def excess_over_parent(child: dict, parent: KeyLimitsView) -> tuple[str, str] | None:
    """The first setting in ``child`` (only the keys present) that exceeds ``parent``.

    Returns ``(field, message)`` or None. ``child`` uses the column names of `KeyLimitsView`.
    """
    if "group_id" in child and child["group_id"] != parent.group_id:
        return "group_id", "a sub-key must use its parent's routing group"
    for column, name in CAP_FIELDS:
        if column not in child:
            continue
        cap = getattr(parent, column)
        value = child[column]
        if cap and (value == 0 or value > cap):
            what = "unlimited" if value == 0 else f"{value / 1e6:g} USD"
            return name, f"{name} {what} exceeds the parent key's {name} of {cap / 1e6:g} USD"
    for model, value in (child.get("model_quotas") or {}).items():
        cap = parent.model_quotas.get(model)
        if cap is not None and value > cap:
            field_name = f"model_quotas.{model}"
            return field_name, f"{field_name} {value / 1e6:g} USD exceeds the parent key's cap of {cap / 1e6:g} USD"
    if "allowed_models" in child and parent.allowed_models is not None:
        models = child["allowed_models"]
        if models is None:
            return (
                "allowed_models",
                "the parent key has a model allow-list, so the sub-key needs one within it",
            )
        extra = sorted(set(models) - set(parent.allowed_models))
        if extra:
            return "allowed_models", f"models not allowed for the parent key: {', '.join(extra)}"
    if "scopes" in child:
        extra = sorted(set(child["scopes"]) - set(parent.scopes))
        if extra:
            return "scopes", f"scopes the parent key lacks: {', '.join(extra)}"
    if "ip_whitelist" in child and parent.ip_whitelist:
        nets = _nets(child["ip_whitelist"])
        if not nets:
            return "ip_whitelist", "the parent key has an IP allow-list, so the sub-key needs one within it"
        parent_nets = _nets(parent.ip_whitelist)
        outside = [str(n) for n in nets if not _inside(n, parent_nets)]
        if outside:
            return "ip_whitelist", f"networks outside the parent key's allow-list: {', '.join(outside)}"
    if "ip_blacklist" in child and parent.ip_blacklist:
        nets = _nets(child["ip_blacklist"])
        uncovered = [str(n) for n in _nets(parent.ip_blacklist) if not _inside(n, nets)]
        if uncovered:
            return (
                "ip_blacklist",
                f"the sub-key must also deny the parent key's networks: {', '.join(uncovered)}",
            )
    if "expires_at" in child and parent.expires_at is not None:
        expires = child["expires_at"]
        if expires is None or expires > parent.expires_at:
            return "expires_in_days", "a sub-key cannot outlive its parent key's expiry"
    return None


# ------------------------------------------------------------------ request-time clamp
def effective_scopes(per_key: Sequence[Iterable[str]]) -> frozenset[str]:
    out = frozenset(per_key[0])
    for scopes in per_key[1:]:
        out &= frozenset(scopes)
    return out


def effective_models(per_key: Sequence[Iterable[str] | None]) -> frozenset[str] | None:
    out: frozenset[str] | None = None
    for models in per_key:
        if models is not None:
            out = frozenset(models) if out is None else out & frozenset(models)
    return out


def effective_allow(per_key: Sequence[tuple[Network, ...]]) -> tuple[Network, ...]:
    """Addresses allowed by every non-empty allow-list, as a list of networks."""
    lists = [nets for nets in per_key if nets]
    if not lists:
        return ()
    current = list(lists[0])
    for other in lists[1:]:
        narrowed: list[Network] = []
        for a in current:
            for b in other:
                if a.version != b.version:
                    continue
                if a.subnet_of(b):  # type: ignore[arg-type]
                    narrowed.append(a)
                elif b.subnet_of(a):  # type: ignore[arg-type]
                    narrowed.append(b)
        current = list(dict.fromkeys(narrowed))
    return tuple(current) or NOWHERE


def effective_deny(per_key: Sequence[tuple[Network, ...]]) -> tuple[Network, ...]:
    return tuple(dict.fromkeys(n for nets in per_key for n in nets))
