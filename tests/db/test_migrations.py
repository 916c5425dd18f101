"""Data migrations on both databases: rows written under the previous schema come out right."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from app.db.migrations import upgrade
from app.db.models import Chat, User
from tests.conftest import make_settings

pytestmark = pytest.mark.asyncio

BEFORE_SUPERGROUPS = "554901b494f0"  # the revision before telegram_rules


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def fresh_database(request, tmp_path):
    """The URL of an empty database of its own (not the suite's shared one)."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}"
    base = request.getfixturevalue("postgres_url")
    name = f"mig_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(base, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f"CREATE DATABASE {name}"))
    await admin.dispose()
    return base.replace("/tgmp_test?", f"/{name}?")


async def test_megagroups_stored_as_groups_become_supergroups(fresh_database, tmp_path):
    settings = make_settings(tmp_path / "data", DATABASE_URL=fresh_database)
    await asyncio.to_thread(upgrade, settings, BEFORE_SUPERGROUPS)  # Alembic runs its own event loop
    engine = create_async_engine(fresh_database)
    now = datetime.now(UTC)
    owner = uuid.uuid4()
    old_rows = {-1000000000123: "group", -456: "group", -1000000000789: "channel", 42: "user"}
    async with engine.begin() as connection:
        await connection.execute(
            insert(User.__table__).values(
                id=owner,
                email="m@example.com",
                password_hash="x",
                role="user",
                is_active=True,
                created_at=now,
                updated_at=now,
            )
        )
        for peer_id, kind in old_rows.items():
            await connection.execute(
                insert(Chat.__table__).values(
                    id=uuid.uuid4(),
                    owner_id=owner,
                    profile_phone="+1",
                    peer_id=peer_id,
                    kind=kind,
                    unread_count=0,
                    read_outbox_max_id=0,
                    created_at=now,
                    updated_at=now,
                )
            )
    await engine.dispose()
    await asyncio.to_thread(upgrade, settings)
    engine = create_async_engine(fresh_database)
    async with engine.connect() as connection:
        kinds = dict((await connection.execute(select(Chat.peer_id, Chat.kind))).all())
    await engine.dispose()
    assert kinds == {-1000000000123: "supergroup", -456: "group", -1000000000789: "channel", 42: "user"}
