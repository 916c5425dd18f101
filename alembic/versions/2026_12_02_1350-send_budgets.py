"""send budgets: per-profile limits on messages and new chats per day, and the usage of each day window

Revision ID: 6e2a9c4b7d18
Revises: 5d3f1a8c2e61
Create Date: 2026-12-02 13:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types as sa_types
import sqlalchemy as sa
from alembic import op

revision: str = "6e2a9c4b7d18"
down_revision: str | None = "5d3f1a8c2e61"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("telegram_profiles") as batch:
        batch.add_column(sa.Column("send_messages_per_day", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("send_new_chats_per_day", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("send_budget_reduced_until", sa_types.DateTimeUTC(timezone=True), nullable=True))
    op.create_table(
        "send_budget_usage",
        sa.Column("id", sa_types.GUID(length=16), nullable=False),
        sa.Column("profile_id", sa_types.GUID(length=16), nullable=False),
        sa.Column("window_start", sa_types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("new_chats", sa.Integer(), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa_types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa_types.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["telegram_profiles.id"],
            name=op.f("fk_send_budget_usage_profile_id_telegram_profiles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_send_budget_usage")),
        sa.UniqueConstraint("profile_id", "window_start", name="uq_send_budget_usage_profile_id_window_start"),
    )


def downgrade() -> None:
    op.drop_table("send_budget_usage")
    with op.batch_alter_table("telegram_profiles") as batch:
        batch.drop_column("send_budget_reduced_until")
        batch.drop_column("send_new_chats_per_day")
        batch.drop_column("send_messages_per_day")
