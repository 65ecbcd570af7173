"""The relational schema (SQLAlchemy Core), shared by SQLite and PostgreSQL.

Money is integer micro-USD (``*_micros``, BIGINT). Usage records are the debit side of the
wallet ledger: every billed request writes exactly one ``usage_records`` row carrying its
``cost_micros`` and ``wallet_id``; every other wallet movement (top-up, bonus, refund, admin
adjustment, subscription) is one ``ledger_entries`` row. A wallet's balance therefore always
equals ``sum(ledger_entries.amount_micros) - sum(usage_records.cost_micros)``, which tests check.
Changes to this file need a new Alembic revision under ``migrations/versions``.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

TS = sa.DateTime(timezone=True)
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
"""SQLite only auto-increments ``INTEGER PRIMARY KEY``; PostgreSQL gets BIGINT."""

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("username", sa.String(120), nullable=True),
    sa.Column("password_hash", sa.String(255), nullable=True),
    sa.Column("role", sa.String(16), nullable=False, server_default="user"),
    sa.Column("tier", sa.String(16), nullable=False, server_default="free"),
    sa.Column("concurrency_limit", sa.Integer, nullable=True),
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),
    sa.Column("email_verified_at", TS, nullable=True),
    sa.Column("created_at", TS, nullable=False),
    sa.CheckConstraint("role in ('user','admin')", name="role"),
    sa.CheckConstraint("tier in ('free','pro','max','enterprise')", name="tier"),
    sa.CheckConstraint("status in ('active','disabled')", name="status"),
)

orgs = sa.Table(
    "orgs",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),
    sa.Column("created_at", TS, nullable=False),
    sa.CheckConstraint("status in ('active','paused')", name="status"),
)

org_members = sa.Table(
    "org_members",
    metadata,
    sa.Column("org_id", sa.ForeignKey("orgs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.CheckConstraint("role in ('owner','admin','member')", name="role"),
)

wallets = sa.Table(
    "wallets",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=True, unique=True),
    sa.Column("org_id", sa.ForeignKey("orgs.id", ondelete="CASCADE"), nullable=True, unique=True),
    sa.Column("balance_micros", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("lifetime_topup_micros", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("lifetime_spent_micros", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("low_balance_threshold_micros", sa.BigInteger, nullable=False, server_default="5000000"),
    sa.Column("updated_at", TS, nullable=False),
    sa.CheckConstraint("(user_id is null) <> (org_id is null)", name="one_owner"),
)

routing_groups = sa.Table(
    "routing_groups",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("description", sa.String(500), nullable=False, server_default=""),
    sa.Column("is_public", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", TS, nullable=False),
)

user_allowed_groups = sa.Table(
    "user_allowed_groups",
    metadata,
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("group_id", sa.ForeignKey("routing_groups.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("created_at", TS, nullable=False),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("org_id", sa.ForeignKey("orgs.id", ondelete="CASCADE"), nullable=True),
    sa.Column("wallet_id", sa.ForeignKey("wallets.id"), nullable=False),
    sa.Column("parent_key_id", sa.ForeignKey("api_keys.id", ondelete="CASCADE"), nullable=True),
    sa.Column("group_id", sa.ForeignKey("routing_groups.id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("lookup_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("secret_ciphertext", sa.LargeBinary, nullable=False),
    sa.Column("masked_key", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),
    sa.Column("quota_micros", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("used_micros", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("rate_limit_5h_micros", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("rate_limit_1d_micros", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("rate_limit_7d_micros", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("ip_whitelist", sa.JSON, nullable=False),
    sa.Column("ip_blacklist", sa.JSON, nullable=False),
    sa.Column("allowed_models", sa.JSON, nullable=True),
    sa.Column("scopes", sa.JSON, nullable=False),
    sa.Column("expires_at", TS, nullable=True),
    sa.Column("previous_lookup_hash", sa.String(64), nullable=True, unique=True),
    sa.Column("previous_valid_until", TS, nullable=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    sa.Column("revoked_at", TS, nullable=True),
    sa.CheckConstraint("status in ('active','revoked')", name="status"),
    sa.CheckConstraint("quota_micros >= 0", name="quota_nonneg"),
)
sa.Index("ix_api_keys_user", api_keys.c.user_id)

key_model_quotas = sa.Table(
    "key_model_quotas",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("key_id", sa.ForeignKey("api_keys.id", ondelete="CASCADE"), nullable=False),
    sa.Column("model", sa.String(100), nullable=False),
    sa.Column("quota_micros", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("key_id", "model"),
    sa.CheckConstraint("quota_micros > 0", name="quota_positive"),
)
"""Per-model lifetime caps of a key (spec §2.3 ``allowed_models[].quota_cap_usd``): the key's
(and its sub-keys') spend on ``model`` may not pass ``quota_micros``. The spend itself is read
from ``usage_records``; the row id names the cap in the hot state."""

usage_records = sa.Table(
    "usage_records",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("api_key_id", sa.ForeignKey("api_keys.id", ondelete="SET NULL"), nullable=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    sa.Column("org_id", sa.ForeignKey("orgs.id", ondelete="SET NULL"), nullable=True),
    sa.Column("wallet_id", sa.ForeignKey("wallets.id"), nullable=False),
    sa.Column("model", sa.String(100), nullable=False),
    sa.Column("provider", sa.String(32), nullable=False),
    sa.Column("endpoint", sa.String(64), nullable=False),
    sa.Column("caller_protocol", sa.String(32), nullable=False),
    sa.Column("upstream_protocol", sa.String(32), nullable=False),
    sa.Column("is_stream", sa.Boolean, nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("input_tokens", sa.BigInteger, nullable=False),
    sa.Column("output_tokens", sa.BigInteger, nullable=False),
    sa.Column("cache_read_tokens", sa.BigInteger, nullable=False),
    sa.Column("cache_write_tokens", sa.BigInteger, nullable=False),
    sa.Column("reasoning_tokens", sa.BigInteger, nullable=False),
    sa.Column("cost_micros", sa.BigInteger, nullable=False),
    sa.Column("latency_ms", sa.Float, nullable=False),
    sa.Column("ttft_ms", sa.Float, nullable=True),
    sa.Column("billing_rule", sa.String(32), nullable=False),
    sa.CheckConstraint("cost_micros >= 0", name="cost_nonneg"),
)
sa.Index("ix_usage_records_key_time", usage_records.c.api_key_id, usage_records.c.created_at)
sa.Index("ix_usage_records_user_time", usage_records.c.user_id, usage_records.c.created_at)
sa.Index("ix_usage_records_wallet", usage_records.c.wallet_id)

ledger_entries = sa.Table(
    "ledger_entries",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("wallet_id", sa.ForeignKey("wallets.id"), nullable=False),
    sa.Column("kind", sa.String(24), nullable=False),
    sa.Column("amount_micros", sa.BigInteger, nullable=False),
    sa.Column("balance_after_micros", sa.BigInteger, nullable=False),
    sa.Column("idempotency_key", sa.String(128), nullable=False, unique=True),
    sa.Column("source", sa.JSON, nullable=False),
    sa.Column("note", sa.String(500), nullable=True),
    sa.Column("created_at", TS, nullable=False),
    sa.CheckConstraint(
        "kind in ('topup','bonus','refund','admin_credit','admin_debit','subscription_renew')", name="kind"
    ),
)
sa.Index("ix_ledger_entries_wallet_time", ledger_entries.c.wallet_id, ledger_entries.c.created_at)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("actor_user_id", sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    sa.Column("actor_key_id", sa.ForeignKey("api_keys.id", ondelete="SET NULL"), nullable=True),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target_type", sa.String(32), nullable=False),
    sa.Column("target_id", sa.String(64), nullable=True),
    sa.Column("detail", sa.JSON, nullable=False),
    sa.Column("ip", sa.String(64), nullable=True),
)
