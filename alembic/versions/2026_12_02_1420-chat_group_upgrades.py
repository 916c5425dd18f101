"""chats.migrated_from_peer_id, chats.merged_into_id (an upgraded basic group is one conversation), archives.channel_kind

Revision ID: 9e4a7c2b5d18
Revises: 8a5c1e7f4b03
Create Date: 2026-12-02 13:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types as sa_types
import sqlalchemy as sa
from alembic import op

revision: str = "9e4a7c2b5d18"
down_revision: str | None = "8a5c1e7f4b03"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("chats") as batch:
        batch.add_column(sa.Column("migrated_from_peer_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("merged_into_id", sa_types.GUID(length=16), nullable=True))
        batch.create_foreign_key(
            "fk_chats_merged_into_id_chats", "chats", ["merged_into_id"], ["id"], ondelete="CASCADE"
        )
        batch.create_index("ix_chats_merged_into_id", ["merged_into_id"])
    # Archives read basic groups too: they are read as InputPeerChat, so the archive keeps the kind.
    with op.batch_alter_table("archives") as batch:
        batch.add_column(sa.Column("channel_kind", sa.String(16), nullable=False, server_default="channel"))


def downgrade() -> None:
    with op.batch_alter_table("archives") as batch:
        batch.drop_column("channel_kind")
    with op.batch_alter_table("chats") as batch:
        batch.drop_index("ix_chats_merged_into_id")
        batch.drop_constraint("fk_chats_merged_into_id_chats", type_="foreignkey")
        batch.drop_column("merged_into_id")
        batch.drop_column("migrated_from_peer_id")
