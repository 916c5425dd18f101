"""telegram_peers: each profile's peers with the access hash Telegram issued to that profile

Revision ID: 7c1e5a9d2f40
Revises: 0f4368682c52
Create Date: 2026-12-01 20:15:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types as sa_types
import sqlalchemy as sa
from alembic import op

revision: str = "7c1e5a9d2f40"
down_revision: str | None = "0f4368682c52"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "telegram_peers",
        sa.Column("id", sa_types.GUID(length=16), nullable=False),
        sa.Column("profile_id", sa_types.GUID(length=16), nullable=False),
        sa.Column("peer_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("access_hash", sa.BigInteger(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("title", sa.String(length=255), nullable=True),
        sa.Column("seen_at", sa_types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa_types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa_types.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["telegram_profiles.id"],
            name=op.f("fk_telegram_peers_profile_id_telegram_profiles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telegram_peers")),
        sa.UniqueConstraint("profile_id", "peer_id", name="uq_telegram_peers_profile_id_peer_id"),
    )
    with op.batch_alter_table("telegram_peers", schema=None) as batch_op:
        batch_op.create_index("ix_telegram_peers_profile_id_username", ["profile_id", "username"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("telegram_peers", schema=None) as batch_op:
        batch_op.drop_index("ix_telegram_peers_profile_id_username")
    op.drop_table("telegram_peers")
