"""The tables behind ``previous_response_id`` chaining and the vendor item index, on the shared
``schema.metadata``.

Kept beside ``schema.py`` (like ``console_schema.py``) so they change in their own Alembic
revisions (``0003_response_store``, ``0005_response_items``). One ``stored_responses`` row is one
stored ``POST /v1/responses`` exchange: the input items of that turn and the output items the
caller received, linked to the turn it continued. A conversation is read back by walking
``previous_response_id`` links (storage/response_store.py). One ``response_items`` row says that
an account received a vendor-side id (an OpenAI item, container or audio id) in an answer, until
when it may send it back (relay/vendor_items.py).
"""

from __future__ import annotations

import sqlalchemy as sa

from bytespike.storage.schema import TS, BigId, metadata

stored_responses = sa.Table(
    "stored_responses",
    metadata,
    sa.Column("id", sa.String(128), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("org_id", sa.ForeignKey("orgs.id", ondelete="CASCADE"), nullable=True),
    sa.Column("api_key_id", sa.ForeignKey("api_keys.id", ondelete="SET NULL"), nullable=True),
    sa.Column("previous_response_id", sa.String(128), nullable=True),
    sa.Column("model", sa.String(100), nullable=False),
    sa.Column("upstream_protocol", sa.String(32), nullable=False),
    sa.Column("input_items", sa.Text, nullable=False),
    sa.Column("output_items", sa.Text, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("expires_at", TS, nullable=False),
)
"""Stored Responses exchanges. The owner is the key's account: ``org_id`` for org keys, else
``user_id`` with ``org_id`` NULL. Items are JSON text (Responses wire items, exactly as sent)."""
sa.Index("ix_stored_responses_expires_at", stored_responses.c.expires_at)

response_items = sa.Table(
    "response_items",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("item_id", sa.String(128), nullable=False),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("org_id", sa.ForeignKey("orgs.id", ondelete="CASCADE"), nullable=True),
    sa.Column("answer_id", sa.String(128), nullable=False),
    sa.Column("expires_at", TS, nullable=False),
)
"""Vendor ids handed to an account: ``item_id`` arrived in the answer ``answer_id`` (a Responses
or Chat Completions id) and may be sent back by every key of that account (owner as in
``stored_responses``) until ``expires_at``, the response store's retention. Not unique: the same
id may reach two accounts only from a deterministic test vendor, and then both hold it."""
sa.Index("ix_response_items_item_id", response_items.c.item_id)
sa.Index("ix_response_items_expires_at", response_items.c.expires_at)
