"""archives

Revision ID: 318834873d04
Revises: f8b4642a3398
Create Date: 2026-11-25 17:06:46.802804
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types as sa_types  # noqa: F401
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '318834873d04'
down_revision: str | None = 'f8b4642a3398'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('archives',
    sa.Column('id', sa_types.GUID(length=16), nullable=False),
    sa.Column('owner_id', sa_types.GUID(length=16), nullable=False),
    sa.Column('profile_id', sa_types.GUID(length=16), nullable=True),
    sa.Column('pinned_profile', sa.Boolean(), nullable=False),
    sa.Column('channel_ref', sa.String(length=255), nullable=False),
    sa.Column('channel_id', sa.BigInteger(), nullable=False),
    sa.Column('channel_access_hash', sa.BigInteger(), nullable=True),
    sa.Column('channel_title', sa.String(length=255), nullable=False),
    sa.Column('channel_username', sa.String(length=64), nullable=True),
    sa.Column('channel_private', sa.Boolean(), nullable=False),
    sa.Column('target_type', sa.String(length=8), nullable=False),
    sa.Column('target', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('target_secret_encrypted', sa.Text(), nullable=True),
    sa.Column('since', sa_types.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('until', sa_types.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('limit', sa.Integer(), nullable=True),
    sa.Column('include_media', sa.Boolean(), nullable=False),
    sa.Column('every_minutes', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('position', sa.BigInteger(), nullable=False),
    sa.Column('checkpoint_offset', sa.BigInteger(), nullable=False),
    sa.Column('messages_exported', sa.BigInteger(), nullable=False),
    sa.Column('bytes_exported', sa.BigInteger(), nullable=False),
    sa.Column('media_exported', sa.Integer(), nullable=False),
    sa.Column('run_count', sa.Integer(), nullable=False),
    sa.Column('run_messages', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=1000), nullable=True),
    sa.Column('next_run_at', sa_types.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('paused_until', sa_types.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('run_started_at', sa_types.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('last_run_at', sa_types.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.String(length=128), nullable=True),
    sa.Column('claimed_until', sa_types.DateTimeUTC(timezone=True), nullable=True),
    sa.Column('sa_orm_sentinel', sa.Integer(), nullable=True),
    sa.Column('created_at', sa_types.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', sa_types.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_archives_owner_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['profile_id'], ['telegram_profiles.id'], name=op.f('fk_archives_profile_id_telegram_profiles'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_archives'))
    )
    with op.batch_alter_table('archives', schema=None) as batch_op:
        batch_op.create_index('ix_archives_due', ['status', 'next_run_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_archives_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_archives_profile_id'), ['profile_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('archives', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_archives_profile_id'))
        batch_op.drop_index(batch_op.f('ix_archives_owner_id'))
        batch_op.drop_index('ix_archives_due')

    op.drop_table('archives')
