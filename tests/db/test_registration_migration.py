"""The registration migration marks an existing admin as the first admin, on SQLite and PostgreSQL, so an
upgraded installation's next registration never claims a second one."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.db.migrations import downgrade, upgrade
from tests.conftest import make_settings

BEFORE = "3bf7d680249f"  # the revision before 2026_12_01_1934-registration


async def _execute(url: str, statement: str, params: dict | None = None, isolation: str | None = None) -> list:
    engine = create_async_engine(url, **({"isolation_level": isolation} if isolation else {}))
    try:
        async with engine.begin() as connection:
            result = await connection.execute(text(statement), params or {})
            return list(result) if result.returns_rows else []
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'app.db'}"
        return
    base = request.getfixturevalue("postgres_url")
    name = f"tgmp_mig_{uuid.uuid4().hex[:8]}"
    asyncio.run(_execute(base, f"CREATE DATABASE {name}", isolation="AUTOCOMMIT"))
    yield base.replace("/tgmp_test?", f"/{name}?")
    asyncio.run(_execute(base, f"DROP DATABASE {name}", isolation="AUTOCOMMIT"))


def test_an_existing_admin_becomes_the_claimed_first_admin(database_url, tmp_path):
    settings = make_settings(tmp_path / "data", DATABASE_URL=database_url)
    upgrade(settings, BEFORE)
    admin_id = uuid.uuid4()
    postgres = "postgresql" in database_url
    asyncio.run(
        _execute(
            database_url,
            "INSERT INTO users (id, email, password_hash, role, is_active, created_at, updated_at) "
            "VALUES (:id, 'root@example.com', 'x', 'admin', true, :now, :now)",
            {"id": admin_id if postgres else admin_id.bytes, "now": datetime.now(UTC)},
        )
    )
    upgrade(settings)
    rows = asyncio.run(_execute(database_url, "SELECT slot, first_admin_id FROM instance_setup"))
    assert len(rows) == 1
    slot, first_admin = rows[0]
    assert slot == 1
    stored = uuid.UUID(str(first_admin)) if postgres else uuid.UUID(bytes=first_admin)
    assert stored == admin_id
    downgrade(settings, BEFORE)  # and back down, on both databases
