"""Console accounts: sign-up, password sign-in, email verification, password reset, invite
codes and sign-in with an OpenID Connect provider (spec §8).

Rules written once here, whatever page calls them: a password has at least 12 characters with a
number and a symbol; while the operator runs invite-only, a new account redeems an unused
``BS-XXXX-XXXX`` code in the same transaction that creates it; an email must be verified before
the account creates API keys. Codes are returned to the caller to send (the web layer mails
them) and stored only as HMAC digests. Password hashing and checking (argon2id) run off the
event loop; an unknown email costs the same work as a wrong password.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncEngine

from bytespike.access.secrets import hkdf_sha256
from bytespike.money import usd_to_micros
from bytespike.storage import accounts, directory, email_codes, identities, invites, user_settings
from bytespike.storage.accounts import utcnow
from bytespike.storage.invites import InviteRecord
from bytespike.storage.records import UserRecord

VERIFY = "verify"
RESET = "reset"
VERIFY_CODE_LIFETIME = timedelta(minutes=30)
RESET_TOKEN_LIFETIME = timedelta(hours=1)
INVITES_PER_ACCOUNT = 5
INVITE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
"""No 0/O or 1/I, so a code read aloud or retyped survives."""
INVITE_PATTERN = re.compile(r"^BS-[A-Z0-9]{4}-[A-Z0-9]{4}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("bytespike-timing-equalizer")


class AccountError(ValueError):
    """A refused account action; ``field`` names the form field to show it next to."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def password_problem(password: str) -> str | None:
    """Why a new password is refused (spec §8), or None."""
    if len(password) < 12:
        return "use at least 12 characters"
    if len(password) > 256:
        return "use at most 256 characters"
    if not any(c.isdigit() for c in password):
        return "include at least one number"
    if all(c.isalnum() or c.isspace() for c in password):
        return "include at least one symbol, such as ! or #"
    return None


def normalize_invite(code: str) -> str:
    return code.strip().upper()


def new_invite_code() -> str:
    body = "".join(secrets.choice(INVITE_ALPHABET) for _ in range(8))
    return f"BS-{body[:4]}-{body[4:]}"


def _check_hash(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True, slots=True)
class ExternalIdentity:
    """What a verified OpenID Connect ID token says about the person signing in."""

    issuer: str
    subject: str
    email: str
    email_verified: bool
    auth_time: int | None = None
    """When the person last authenticated at the provider (Unix seconds), when it says."""


class ConsoleAccounts:
    def __init__(self, engine: AsyncEngine, server_secret: str, *, invite_only: bool) -> None:
        self._engine = engine
        self._mac_key = hkdf_sha256(server_secret.encode(), salt=b"bytespike-console", info=b"email-codes")
        self.invite_only = invite_only

    def _digest(self, purpose: str, code: str) -> str:
        return hmac.new(self._mac_key, f"{purpose}:{code}".encode(), hashlib.sha256).hexdigest()

    # ------------------------------------------------------------------ sign-up and sign-in
    async def sign_up(self, *, email: str, password: str, invite_code: str | None) -> UserRecord:
        email = email.strip().lower()
        if not _EMAIL.match(email) or len(email) > 320:
            raise AccountError("enter an email address such as ada@example.com", "email")
        problem = password_problem(password)
        if problem:
            raise AccountError(f"password: {problem}", "password")
        code = normalize_invite(invite_code or "")
        if self.invite_only and not INVITE_PATTERN.match(code):
            raise AccountError("an invite code looks like BS-XXXX-XXXX", "invite_code")
        password_hash = await asyncio.to_thread(_hasher.hash, password)
        async with self._engine.begin() as conn:
            if self.invite_only and not await invites.is_unused(conn, code):
                raise AccountError("this invite code is unknown or already used", "invite_code")
            try:
                user = await accounts.create_user(conn, email=email, password_hash=password_hash)
            except accounts.DuplicateError as exc:
                raise AccountError("an account with this email exists: sign in instead", "email") from exc
            if self.invite_only and not await invites.redeem_invite(
                conn, code=code, user_id=user.id, now=utcnow()
            ):
                raise AccountError("this invite code is unknown or already used", "invite_code")
        return user

    async def check_invite(self, invite_code: str | None) -> str | None:
        """The normalized code, checked usable now when sign-up is invite-only (raises
        `AccountError` on ``invite_code``); None when none was given on an open server.

        For a sign-up that leaves for an identity provider first: the code is redeemed only
        when the account is created, so this is a courtesy check, not a reservation."""
        code = normalize_invite(invite_code or "")
        if not self.invite_only:
            return code or None
        if not INVITE_PATTERN.match(code):
            raise AccountError("an invite code looks like BS-XXXX-XXXX", "invite_code")
        async with self._engine.connect() as conn:
            if not await invites.is_unused(conn, code):
                raise AccountError("this invite code is unknown or already used", "invite_code")
        return code

    async def check_password(self, *, email: str, password: str) -> UserRecord | None:
        """The active user whose password this is, or None (same cost either way)."""
        async with self._engine.connect() as conn:
            found = await directory.password_hash(conn, email)
        user, stored = found if found is not None else (None, None)
        ok = await asyncio.to_thread(_check_hash, stored, password)
        if not ok or user is None or user.status != "active":
            return None
        return user

    async def has_password(self, user: UserRecord) -> bool:
        """False for accounts made through an identity provider (nothing to re-enter)."""
        async with self._engine.connect() as conn:
            found = await directory.password_hash(conn, user.email)
        return found is not None and found[1] is not None

    async def is_linked(self, user_id: int, *, issuer: str, subject: str | None = None) -> bool:
        """Whether the user has an identity at ``issuer`` (that one, when ``subject`` is given)."""
        async with self._engine.connect() as conn:
            if subject is not None:
                return await identities.user_for_identity(conn, provider=issuer, subject=subject) == user_id
            return await identities.has_identity(conn, user_id=user_id, provider=issuer)

    async def user(self, user_id: int) -> UserRecord | None:
        async with self._engine.connect() as conn:
            return await directory.get_user(conn, user_id)

    # ------------------------------------------------------------------ email verification
    async def is_verified(self, user_id: int) -> bool:
        async with self._engine.connect() as conn:
            return await user_settings.email_verified_at(conn, user_id) is not None

    async def new_verification_code(self, user_id: int) -> str:
        code = f"{secrets.randbelow(1_000_000):06d}"
        now = utcnow()
        async with self._engine.begin() as conn:
            await email_codes.replace_code(
                conn,
                user_id=user_id,
                purpose=VERIFY,
                digest=self._digest(VERIFY, code),
                now=now,
                expires_at=now + VERIFY_CODE_LIFETIME,
            )
        return code

    async def verify_email(self, user_id: int, code: str) -> None:
        code = code.strip().replace(" ", "")
        now = utcnow()
        async with self._engine.begin() as conn:
            # Commit a wrong guess too: it counts towards the code's attempt limit.
            ok = await email_codes.consume_code(
                conn, user_id=user_id, purpose=VERIFY, digest=self._digest(VERIFY, code), now=now
            )
            if ok:
                await user_settings.mark_email_verified(conn, user_id, now)
        if not ok:
            raise AccountError("this code is wrong or has expired: send a new one", "code")

    # ------------------------------------------------------------------ password reset
    async def start_password_reset(self, email: str) -> tuple[UserRecord, str] | None:
        """A reset token for the account, or None for an unknown or disabled email."""
        async with self._engine.begin() as conn:
            user = await accounts.get_user_by_email(conn, email)
            if user is None or user.status != "active":
                return None
            token = secrets.token_urlsafe(32)
            now = utcnow()
            await email_codes.replace_code(
                conn,
                user_id=user.id,
                purpose=RESET,
                digest=self._digest(RESET, token),
                now=now,
                expires_at=now + RESET_TOKEN_LIFETIME,
            )
        return user, token

    async def reset_token_user(self, token: str) -> int | None:
        async with self._engine.connect() as conn:
            return await email_codes.user_for_token(
                conn, purpose=RESET, digest=self._digest(RESET, token), now=utcnow()
            )

    async def reset_password(self, token: str, new_password: str) -> UserRecord:
        problem = password_problem(new_password)
        if problem:
            raise AccountError(f"password: {problem}", "password")
        password_hash = await asyncio.to_thread(_hasher.hash, new_password)
        now = utcnow()
        async with self._engine.begin() as conn:
            user_id = await email_codes.user_for_token(
                conn, purpose=RESET, digest=self._digest(RESET, token), now=now
            )
            if user_id is None or not await email_codes.consume_code(
                conn, user_id=user_id, purpose=RESET, digest=self._digest(RESET, token), now=now
            ):
                raise AccountError("this reset link is wrong or has expired: ask for a new one", "token")
            await user_settings.set_password_hash(conn, user_id, password_hash)
            # Whoever reads the mailbox controls the account: the address is verified now too.
            await user_settings.mark_email_verified(conn, user_id, now)
            user = await directory.get_user(conn, user_id)
        assert user is not None
        return user

    # ------------------------------------------------------------------ OpenID Connect
    async def external_sign_in(self, identity: ExternalIdentity, *, invite_code: str | None) -> UserRecord:
        """The user for a verified external identity: linked before, linked now by verified
        email, or created (redeeming an invite code when invite-only)."""
        if not identity.email_verified:
            raise AccountError("the identity provider has not verified this email address", "email")
        now = utcnow()
        async with self._engine.begin() as conn:
            user_id = await identities.user_for_identity(
                conn, provider=identity.issuer, subject=identity.subject
            )
            if user_id is None:
                existing = await accounts.get_user_by_email(conn, identity.email)
                if existing is not None:
                    user_id = existing.id
                    if await user_settings.email_verified_at(conn, user_id) is None:
                        # A password set by someone who never proved the mailbox is not trusted
                        # once its real owner signs in through the provider.
                        await user_settings.set_password_hash(conn, user_id, None)
                else:
                    code = normalize_invite(invite_code or "")
                    if self.invite_only and not await invites.is_unused(conn, code):
                        raise AccountError(
                            "new accounts need an invite code: enter it on the sign-up page first",
                            "invite_code",
                        )
                    created = await accounts.create_user(
                        conn, email=identity.email, password_hash=None, verified=True
                    )
                    user_id = created.id
                    if self.invite_only:
                        await invites.redeem_invite(conn, code=code, user_id=user_id, now=now)
                await identities.link_identity(
                    conn,
                    provider=identity.issuer,
                    subject=identity.subject,
                    user_id=user_id,
                    email=identity.email,
                    now=now,
                )
            await user_settings.mark_email_verified(conn, user_id, now)
            user = await directory.get_user(conn, user_id)
        assert user is not None
        if user.status != "active":
            raise AccountError("this account is disabled", "email")
        return user

    # ------------------------------------------------------------------ invites and settings
    async def invites(self, user_id: int) -> list[InviteRecord]:
        async with self._engine.connect() as conn:
            return await invites.invites_by(conn, user_id)

    async def mint_invite(self, user: UserRecord) -> str:
        async with self._engine.begin() as conn:
            mine = await invites.invites_by(conn, user.id)
            if user.role != "admin" and len(mine) >= INVITES_PER_ACCOUNT:
                raise AccountError(f"an account mints at most {INVITES_PER_ACCOUNT} invite codes", "invite")
            code = new_invite_code()
            await invites.insert_invite(conn, code=code, created_by=user.id, now=utcnow())
        return code

    async def set_low_balance_threshold(self, wallet_id: int, usd: str) -> int:
        try:
            micros = usd_to_micros(usd.strip() or "x", field="threshold")
        except ValueError as exc:
            raise AccountError("enter an amount in US dollars, for example 5", "threshold") from exc
        if micros < 0 or micros > 1_000_000 * 1_000_000:
            raise AccountError("the threshold is between $0 and $1,000,000", "threshold")
        async with self._engine.begin() as conn:
            await user_settings.set_low_balance_threshold(conn, wallet_id, micros, utcnow())
        return micros
