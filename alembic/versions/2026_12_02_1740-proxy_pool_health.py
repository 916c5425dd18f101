"""proxy pool health: each PROXY_POOL entry's last periodic check, by address (no credentials)

Revision ID: a3d6f2c8e517
Revises: 9e4a7c2b5d18
Create Date: 2026-12-02 17:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types as sa_types
import sqlalchemy as sa
from alembic import op

revision: str = "a3d6f2c8e517"
down_revision: str | None = "9e4a7c2b5d18"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "proxy_pool_entries",
        sa.Column("id", sa_types.GUID(length=16), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("healthy", sa.Boolean(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("checked_at", sa_types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("changed_at", sa_types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(length=255), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa_types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa_types.DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proxy_pool_entries")),
        sa.UniqueConstraint("address", name=op.f("uq_proxy_pool_entries_address")),
    )


def downgrade() -> None:
    op.drop_table("proxy_pool_entries")
