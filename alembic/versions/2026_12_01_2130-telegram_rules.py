"""telegram rules: supergroups apart from basic groups, message entities, frozen profiles

Revision ID: 7c1e0f5a9d21
Revises: 554901b494f0
Create Date: 2026-12-01 21:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types as sa_types
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '7c1e0f5a9d21'
down_revision: str | None = "554901b494f0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Marked ids of channels and supergroups are -(10**12 + id); basic groups are -id with a smaller id.
_CHANNEL_ID_BOUND = -(10**12)


def upgrade() -> None:
    json_type = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("entities", json_type, nullable=True))
    with op.batch_alter_table("telegram_profiles") as batch:
        batch.add_column(sa.Column("frozen_until", sa_types.DateTimeUTC(timezone=True), nullable=True))
        batch.add_column(sa.Column("frozen_appeal_url", sa.String(length=255), nullable=True))
    # Megagroups were stored as kind "group" like basic groups; their marked id tells them apart.
    for table in ("chats", "telegram_peers"):
        op.execute(
            sa.text(f"UPDATE {table} SET kind = 'supergroup' WHERE kind = 'group' AND peer_id < :bound").bindparams(
                bound=_CHANNEL_ID_BOUND
            )
        )


def downgrade() -> None:
    for table in ("chats", "telegram_peers"):
        op.execute(sa.text(f"UPDATE {table} SET kind = 'group' WHERE kind = 'supergroup'"))
    with op.batch_alter_table("telegram_profiles") as batch:
        batch.drop_column("frozen_appeal_url")
        batch.drop_column("frozen_until")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("entities")
