"""api_keys: scoped, revocable keys for programs and agents (secret stored as a SHA-256 digest)

Revision ID: b3d7f1a9c2e4
Revises: a3d6f2c8e517
Create Date: 2026-12-02 17:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types as sa_types
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "b3d7f1a9c2e4"
down_revision: str | None = "a3d6f2c8e517"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa_types.GUID(length=16), nullable=False),
        sa.Column("user_id", sa_types.GUID(length=16), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("scopes", _JSON, nullable=False),
        sa.Column("profiles", _JSON, nullable=False),
        sa.Column("chats", _JSON, nullable=False),
        sa.Column("rate_limit_per_minute", sa.Integer(), nullable=False),
        sa.Column("send_requires_approval", sa.Boolean(), nullable=False),
        sa.Column("expires_at", sa_types.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("last_used_at", sa_types.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("revoked_at", sa_types.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", sa_types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa_types.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_keys_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_api_keys_secret_hash")),
    )
    op.create_index(op.f("ix_api_keys_user_id"), "api_keys", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_api_keys_user_id"), table_name="api_keys")
    op.drop_table("api_keys")
