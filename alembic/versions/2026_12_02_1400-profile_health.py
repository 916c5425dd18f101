"""profile health: the result and time of each profile's last periodic account check

Revision ID: 7f4b0d6e3a92
Revises: 6e2a9c4b7d18
Create Date: 2026-12-02 14:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types as sa_types
import sqlalchemy as sa
from alembic import op

revision: str = "7f4b0d6e3a92"
down_revision: str | None = "6e2a9c4b7d18"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("telegram_profiles") as batch:
        batch.add_column(sa.Column("health", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("health_checked_at", sa_types.DateTimeUTC(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("telegram_profiles") as batch:
        batch.drop_column("health_checked_at")
        batch.drop_column("health")
