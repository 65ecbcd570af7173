"""The containment rules of sub-keys and the request-time clamp over a key chain (access/subkeys.py)."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

import pytest

from bytespike.access.cidr import is_address_allowed, parse_networks
from bytespike.access.subkeys import (
    NOWHERE,
    KeyLimitsView,
    effective_allow,
    effective_deny,
    effective_models,
    effective_scopes,
    excess_over_parent,
)

SOON = datetime(2030, 1, 1, tzinfo=UTC)
PARENT = KeyLimitsView(
    group_id=1,
    quota_micros=5_000_000,
    rate_limit_5h_micros=1_000_000,
    rate_limit_1d_micros=0,
    rate_limit_7d_micros=3_000_000,
    ip_whitelist=("10.0.0.0/8", "2001:db8::/32"),
    ip_blacklist=("10.9.0.0/16",),
    allowed_models=("a", "b"),
    scopes=("inference", "keys:write"),
    expires_at=SOON,
)


@pytest.mark.parametrize(
    "child",
    [
        {},
        {"quota_micros": 5_000_000, "rate_limit_5h_micros": 1, "rate_limit_1d_micros": 0},
        {"rate_limit_1d_micros": 99_000_000},  # the parent has no 1d cap
        {"allowed_models": ["a"], "scopes": ["inference"]},
        {"ip_whitelist": ["10.1.0.0/16", "2001:db8:1::/48"], "ip_blacklist": ["10.0.0.0/12"]},
        {"expires_at": SOON - timedelta(days=1), "group_id": 1},
    ],
)
def test_children_within_the_parent_pass(child) -> None:  # type: ignore[no-untyped-def]
    assert excess_over_parent(child, PARENT) is None


@pytest.mark.parametrize(
    ("child", "field"),
    [
        ({"quota_micros": 5_000_001}, "quota"),
        ({"quota_micros": 0}, "quota"),
        ({"rate_limit_5h_micros": 0}, "rate_limit_5h"),
        ({"rate_limit_7d_micros": 3_000_001}, "rate_limit_7d"),
        ({"allowed_models": None}, "allowed_models"),
        ({"allowed_models": ["a", "c"]}, "allowed_models"),
        ({"scopes": ["admin"]}, "scopes"),
        ({"ip_whitelist": []}, "ip_whitelist"),
        ({"ip_whitelist": ["11.0.0.0/8"]}, "ip_whitelist"),
        ({"ip_whitelist": ["10.0.0.0/7"]}, "ip_whitelist"),
        ({"ip_whitelist": ["2001:db8::/31"]}, "ip_whitelist"),
        ({"ip_blacklist": []}, "ip_blacklist"),
        ({"ip_blacklist": ["10.9.0.0/17"]}, "ip_blacklist"),
        ({"expires_at": None}, "expires_in_days"),
        ({"expires_at": SOON + timedelta(seconds=1)}, "expires_in_days"),
        ({"group_id": 2}, "group_id"),
    ],
)
def test_children_past_the_parent_are_named(child, field) -> None:  # type: ignore[no-untyped-def]
    excess = excess_over_parent(child, PARENT)
    assert excess is not None and excess[0] == field


def test_effective_scopes_and_models_intersect_the_chain() -> None:
    assert effective_scopes([["inference", "keys:write"], ["inference", "usage:read"]]) == {"inference"}
    assert effective_models([None, ["a", "b"], None, ["b", "c"]]) == {"b"}
    assert effective_models([None, None]) is None


def _nets(*values: str):  # type: ignore[no-untyped-def]
    return parse_networks(values)


def test_effective_allow_is_the_intersection_and_deny_the_union() -> None:
    allow = effective_allow([_nets("10.1.0.0/16"), (), _nets("10.0.0.0/8", "2001:db8::/32")])
    assert allow == (ipaddress.ip_network("10.1.0.0/16"),)
    assert effective_allow([(), ()]) == ()
    disjoint = effective_allow([_nets("10.0.0.0/8"), _nets("192.168.0.0/16")])
    assert disjoint == NOWHERE
    assert not is_address_allowed("10.0.0.1", disjoint, ())
    assert not is_address_allowed("192.168.1.1", disjoint, ())
    deny = effective_deny([_nets("10.9.0.0/16"), _nets("10.8.0.0/16")])
    assert not is_address_allowed("10.8.1.1", allow + _nets("10.8.0.0/16"), deny)
