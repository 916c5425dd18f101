"""profile proxies: each profile (and login in progress) may connect through its own SOCKS5, HTTP or MTProxy proxy

Revision ID: 8a5c1e7f4b03
Revises: 7f4b0d6e3a92
Create Date: 2026-12-02 14:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8a5c1e7f4b03"
down_revision: str | None = "7f4b0d6e3a92"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("telegram_profiles", "login_flows"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("proxy_encrypted", sa.Text(), nullable=True))
            batch.add_column(sa.Column("proxy_type", sa.String(length=8), nullable=True))
            batch.add_column(sa.Column("proxy_host", sa.String(length=255), nullable=True))
            batch.add_column(sa.Column("proxy_port", sa.Integer(), nullable=True))


def downgrade() -> None:
    for table in ("login_flows", "telegram_profiles"):
        with op.batch_alter_table(table) as batch:
            for name in ("proxy_port", "proxy_host", "proxy_type", "proxy_encrypted"):
                batch.drop_column(name)
