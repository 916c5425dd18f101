"""messages.text_sanitized: the Telegram text held U+0000 and was stored with U+FFFD instead

Revision ID: 7c1e5d2a9b40
Revises: 7c1e5a9d2f40
Create Date: 2026-12-01 20:25:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c1e5d2a9b40"
down_revision: str | None = "7c1e5a9d2f40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("text_sanitized", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("text_sanitized")
