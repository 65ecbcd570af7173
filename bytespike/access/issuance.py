"""Creating users and keys: validation of every field, then one transaction.

Shared by the CLI, the management API and the console so that each rule (prefix of custom keys,
CIDR syntax, non-negative caps, group reachability) is written once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from sqlalchemy.ext.asyncio import AsyncEngine

from bytespike.access.cidr import parse_networks
from bytespike.access.scopes import ALL_SCOPES, DEFAULT_SCOPES
from bytespike.access.secrets import KEY_PREFIX, KeySealer, generate_secret, is_well_formed, mask
from bytespike.money import usd_to_micros
from bytespike.storage import accounts as account_rows
from bytespike.storage import keys as key_rows
from bytespike.storage.records import UserRecord

_hasher = PasswordHasher()


class IssuanceError(ValueError):
    """A request to create a user or key is invalid; ``field`` names the culprit."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def hash_password(password: str) -> str:
    return _hasher.hash(password)


async def create_user(
    engine: AsyncEngine, *, email: str, password: str | None, admin: bool = False
) -> UserRecord:
    email = email.strip()
    if "@" not in email or email.startswith("@") or email.endswith("@") or len(email) > 320:
        raise IssuanceError(f"{email!r} is not an email address", "email")
    async with engine.begin() as conn:
        try:
            return await account_rows.create_user(
                conn,
                email=email,
                password_hash=hash_password(password) if password else None,
                role="admin" if admin else "user",
                verified=True,
            )
        except account_rows.DuplicateError as exc:
            raise IssuanceError(str(exc), "email") from exc


@dataclass(frozen=True, slots=True)
class KeySpec:
    """What a caller asks for when creating a key; USD amounts as strings or numbers."""

    name: str = "default"
    group: str = "default"
    quota_usd: str | float = 0
    rate_limit_5h_usd: str | float = 0
    rate_limit_1d_usd: str | float = 0
    rate_limit_7d_usd: str | float = 0
    expires_in_days: int | None = None
    ip_whitelist: Sequence[str] = ()
    ip_blacklist: Sequence[str] = ()
    custom_key: str | None = None
    allowed_models: Sequence[str] | None = None
    scopes: Sequence[str] = field(default=DEFAULT_SCOPES)


@dataclass(frozen=True, slots=True)
class IssuedKey:
    id: int
    key: str
    """The plaintext secret: shown once, to whoever created the key."""
    masked_key: str
    group: str


def _nonneg_micros(value: str | float, name: str) -> int:
    try:
        micros = usd_to_micros(value, field=name)
    except ValueError as exc:
        raise IssuanceError(str(exc), name) from exc
    if micros < 0:
        raise IssuanceError(f"{name} must not be negative", name)
    return micros


async def issue_key(
    engine: AsyncEngine, sealer: KeySealer, *, user_email: str, spec: KeySpec, known_groups: Sequence[str]
) -> IssuedKey:
    """Create a personal key for ``user_email`` in ``spec.group``; returns the secret once."""
    if not spec.name or len(spec.name) > 200:
        raise IssuanceError("name must be 1 to 200 characters", "name")
    if spec.group not in known_groups:
        raise IssuanceError(f"unknown routing group {spec.group!r}", "group")
    quota = _nonneg_micros(spec.quota_usd, "quota")
    caps = [
        _nonneg_micros(getattr(spec, f"rate_limit_{w}_usd"), f"rate_limit_{w}") for w in ("5h", "1d", "7d")
    ]
    expires_at = None
    if spec.expires_in_days is not None:
        if spec.expires_in_days <= 0:
            raise IssuanceError("expires_in_days must be a positive number of days", "expires_in_days")
        expires_at = datetime.now(UTC) + timedelta(days=spec.expires_in_days)
    for name, values in (("ip_whitelist", spec.ip_whitelist), ("ip_blacklist", spec.ip_blacklist)):
        try:
            parse_networks(values)
        except ValueError as exc:
            raise IssuanceError(f"{name}: {exc}", name) from exc
    unknown = set(spec.scopes) - ALL_SCOPES
    if unknown:
        raise IssuanceError(f"unknown scopes: {', '.join(sorted(unknown))}", "scopes")
    if spec.custom_key is not None:
        if not spec.custom_key.startswith(KEY_PREFIX) or not is_well_formed(spec.custom_key):
            raise IssuanceError(
                f"custom_key must start with {KEY_PREFIX} followed by 16-200 letters, digits, '-' or '_'",
                "custom_key",
            )
        secret = spec.custom_key
    else:
        secret = generate_secret()
    async with engine.begin() as conn:
        user = await account_rows.get_user_by_email(conn, user_email)
        if user is None:
            raise IssuanceError(f"no user with email {user_email!r}", "email")
        wallet = await account_rows.get_user_wallet(conn, user.id)
        group_id = await account_rows.get_group_id(conn, spec.group)
        if group_id is None:
            raise IssuanceError(f"unknown routing group {spec.group!r}", "group")
        try:
            key_id = await key_rows.insert_key(
                conn,
                key_rows.NewKey(
                    user_id=user.id,
                    wallet_id=wallet.id,
                    group_id=group_id,
                    name=spec.name,
                    lookup_hash=sealer.lookup_hash(secret),
                    secret_ciphertext=sealer.seal(secret),
                    masked_key=mask(secret),
                    quota_micros=quota,
                    rate_limit_5h_micros=caps[0],
                    rate_limit_1d_micros=caps[1],
                    rate_limit_7d_micros=caps[2],
                    ip_whitelist=list(spec.ip_whitelist),
                    ip_blacklist=list(spec.ip_blacklist),
                    allowed_models=spec.allowed_models,
                    scopes=list(spec.scopes),
                    expires_at=expires_at,
                ),
            )
        except account_rows.DuplicateError as exc:
            raise IssuanceError("custom_key is already in use", "custom_key") from exc
    return IssuedKey(id=key_id, key=secret, masked_key=mask(secret), group=spec.group)
