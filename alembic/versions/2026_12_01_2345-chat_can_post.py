"""chats.can_post: whether the profile may write in the chat (a broadcast channel it does not admin: no)

Revision ID: 3b8d5e2c7a14
Revises: 7c1e0f5a9d21
Create Date: 2026-12-01 23:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3b8d5e2c7a14"
down_revision: str | None = "7c1e0f5a9d21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL until Telegram next describes the chat: the API then judges by kind (a channel: no).
    with op.batch_alter_table("chats") as batch:
        batch.add_column(sa.Column("can_post", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("chats") as batch:
        batch.drop_column("can_post")
