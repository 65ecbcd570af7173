"""billing: per-model lifetime caps of keys (key_model_quotas)

Revision ID: 0004_billing
Revises: 0002_console
Create Date: 2026-12-06 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_billing"
down_revision: str | None = "0003_response_store"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "key_model_quotas",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("key_id", BigId, nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("quota_micros", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("quota_micros > 0", name=op.f("ck_key_model_quotas_quota_positive")),
        sa.ForeignKeyConstraint(
            ["key_id"], ["api_keys.id"], name=op.f("fk_key_model_quotas_key_id_api_keys"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_model_quotas")),
        sa.UniqueConstraint("key_id", "model", name=op.f("uq_key_model_quotas_key_id_model")),
    )


def downgrade() -> None:
    op.drop_table("key_model_quotas")
