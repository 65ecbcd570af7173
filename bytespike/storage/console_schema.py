"""Tables behind the web console's accounts and payments, on the shared ``schema.metadata``.

Kept beside ``schema.py`` rather than in it so the console's rows (emailed codes, invite codes,
OIDC identities, checkout sessions and the webhook events already processed) change in their own
Alembic revisions (``0002_console``). Secrets are stored only as HMAC digests.
"""

from __future__ import annotations

import sqlalchemy as sa

from bytespike.storage.schema import TS, BigId, metadata

email_codes = sa.Table(
    "email_codes",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("purpose", sa.String(16), nullable=False),
    sa.Column("code_digest", sa.String(64), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("expires_at", TS, nullable=False),
    sa.Column("used_at", TS, nullable=True),
    sa.Column("created_at", TS, nullable=False),
    sa.CheckConstraint("purpose in ('verify','reset')", name="purpose"),
)
"""Email-verification codes (6 digits) and password-reset tokens, as HMAC digests."""
sa.Index("ix_email_codes_user_purpose", email_codes.c.user_id, email_codes.c.purpose)

invite_codes = sa.Table(
    "invite_codes",
    metadata,
    sa.Column("code", sa.String(16), primary_key=True),
    sa.Column("created_by_user_id", sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    sa.Column("used_by_user_id", sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("used_at", TS, nullable=True),
)
"""``BS-XXXX-XXXX`` codes that admit one sign-up each while the console is invite-only."""

user_identities = sa.Table(
    "user_identities",
    metadata,
    sa.Column("provider", sa.String(32), primary_key=True),
    sa.Column("subject", sa.String(255), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("created_at", TS, nullable=False),
)
"""An external sign-in (OpenID Connect ``iss`` provider + ``sub``) linked to a user."""

payments = sa.Table(
    "payments",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("provider", sa.String(16), nullable=False),
    sa.Column("checkout_id", sa.String(255), nullable=False, unique=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("wallet_id", sa.ForeignKey("wallets.id"), nullable=False),
    sa.Column("amount_micros", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("payment_id", sa.String(255), nullable=True, unique=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("paid_at", TS, nullable=True),
    sa.CheckConstraint("provider in ('stripe','dev')", name="provider"),
    sa.CheckConstraint("status in ('pending','paid','cancelled')", name="status"),
    sa.CheckConstraint("amount_micros > 0", name="amount_positive"),
)
"""One checkout (a Stripe Checkout Session or a development-provider payment) per top-up."""
sa.Index("ix_payments_user", payments.c.user_id)

payment_events = sa.Table(
    "payment_events",
    metadata,
    sa.Column("event_id", sa.String(255), primary_key=True),
    sa.Column("provider", sa.String(16), nullable=False),
    sa.Column("type", sa.String(100), nullable=False),
    sa.Column("received_at", TS, nullable=False),
)
"""Webhook events already processed: a replayed event id is acknowledged and moves nothing."""
