"""response items: the vendor item, container and audio ids each account received

Revision ID: 0005_response_items
Revises: 0004_billing
Create Date: 2026-12-08 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_response_items"
down_revision: str | None = "0004_billing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "response_items",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("item_id", sa.String(length=128), nullable=False),
        sa.Column("user_id", BigId, nullable=False),
        sa.Column("org_id", BigId, nullable=True),
        sa.Column("answer_id", sa.String(length=128), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_response_items_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_response_items_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_items")),
    )
    op.create_index("ix_response_items_item_id", "response_items", ["item_id"])
    op.create_index("ix_response_items_expires_at", "response_items", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_response_items_expires_at", table_name="response_items")
    op.drop_index("ix_response_items_item_id", table_name="response_items")
    op.drop_table("response_items")
