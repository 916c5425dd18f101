"""channel retries and join markers: failed channels are retried with backoff, joins survive a crash

Revision ID: 3b8d2e6f1a47
Revises: 3b8d5e2c7a14
Create Date: 2026-12-01 23:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types as sa_types
import sqlalchemy as sa
from alembic import op

revision: str = "3b8d2e6f1a47"
down_revision: str | None = "3b8d5e2c7a14"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("channels") as batch:
        batch.add_column(sa.Column("retry_at", sa_types.DateTimeUTC(timezone=True), nullable=True))
        batch.add_column(sa.Column("retries", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "channel_join_markers",
        sa.Column("id", sa_types.GUID(length=16), nullable=False),
        sa.Column("profile_id", sa_types.GUID(length=16), nullable=False),
        sa.Column("ref_key", sa.String(length=200), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa_types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa_types.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["telegram_profiles.id"],
            name=op.f("fk_channel_join_markers_profile_id_telegram_profiles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_join_markers")),
        sa.UniqueConstraint("profile_id", "ref_key", name="uq_channel_join_markers_profile_id_ref_key"),
    )


def downgrade() -> None:
    op.drop_table("channel_join_markers")
    with op.batch_alter_table("channels") as batch:
        batch.drop_column("retries")
        batch.drop_column("retry_at")
