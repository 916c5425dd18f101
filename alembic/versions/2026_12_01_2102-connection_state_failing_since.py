"""connection state of profiles (which worker, since when, why it ended) and when a webhook started failing

Revision ID: 554901b494f0
Revises: 7c1e5d2a9b40
Create Date: 2026-12-01 21:02:00
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types as sa_types
import sqlalchemy as sa
from alembic import op


revision: str = '554901b494f0'
down_revision: str | None = '7c1e5d2a9b40'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('telegram_profiles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('connection_worker', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('connection_state', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('connection_reason', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('connection_changed_at', sa_types.DateTimeUTC(timezone=True), nullable=True))
    with op.batch_alter_table('webhooks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failing_since', sa_types.DateTimeUTC(timezone=True), nullable=True))
    # Endpoints failing now: their streak started no later than the last failure we know of.
    op.execute("UPDATE webhooks SET failing_since = last_failure_at WHERE consecutive_failures > 0")


def downgrade() -> None:
    with op.batch_alter_table('webhooks', schema=None) as batch_op:
        batch_op.drop_column('failing_since')
    with op.batch_alter_table('telegram_profiles', schema=None) as batch_op:
        batch_op.drop_column('connection_changed_at')
        batch_op.drop_column('connection_reason')
        batch_op.drop_column('connection_state')
        batch_op.drop_column('connection_worker')
