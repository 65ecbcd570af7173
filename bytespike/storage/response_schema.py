"""The table behind ``previous_response_id`` chaining, on the shared ``schema.metadata``.

Kept beside ``schema.py`` (like ``console_schema.py``) so it changes in its own Alembic revision
(``0003_response_store``). One row is one stored ``POST /v1/responses`` exchange: the input items
of that turn and the output items the caller received, linked to the turn it continued. A
conversation is read back by walking ``previous_response_id`` links (storage/response_store.py).
"""

from __future__ import annotations

import sqlalchemy as sa

from bytespike.storage.schema import TS, metadata

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
