"""device identity: each profile (and login in progress) presents one device to Telegram on every connection

Revision ID: 5d3f1a8c2e61
Revises: 3b8d2e6f1a47
Create Date: 2026-12-02 13:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5d3f1a8c2e61"
down_revision: str | None = "3b8d2e6f1a47"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (("device_model", 64), ("system_version", 64), ("app_version", 64), ("lang_code", 16))


def upgrade() -> None:
    # Rows from before stay NULL: the profile source gives such a profile an identity at its next connection.
    for table in ("telegram_profiles", "login_flows"):
        with op.batch_alter_table(table) as batch:
            for name, length in _COLUMNS:
                batch.add_column(sa.Column(name, sa.String(length=length), nullable=True))


def downgrade() -> None:
    for table in ("login_flows", "telegram_profiles"):
        with op.batch_alter_table(table) as batch:
            for name, _ in reversed(_COLUMNS):
                batch.drop_column(name)
