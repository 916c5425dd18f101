"""The embedded default keeps DATA_DIR 0700 and the SQLite database with its WAL and shared memory 0600."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

from sqlalchemy import text

from app.db.engine import create_engine
from app.db.migrations import upgrade
from tests.conftest import make_settings


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


async def write_through_wal(settings) -> None:
    engine = create_engine(settings)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE IF NOT EXISTS probe (n INTEGER)"))
            await connection.execute(text("INSERT INTO probe VALUES (1)"))
        database = settings.database_url.split("///", 1)[1]
        # The connection is still open, so the WAL and shared-memory files exist (stat fails otherwise).
        assert {mode(Path(database + suffix)) for suffix in ("", "-wal", "-shm")} == {0o600}
    finally:
        await engine.dispose()


def test_a_fresh_data_dir_and_database_are_private(tmp_path):
    settings = make_settings(tmp_path / "fresh" / "data")
    upgrade(settings)
    assert mode(settings.data_dir) == 0o700
    assert mode(settings.data_dir / "app.db") == 0o600
    asyncio.run(write_through_wal(settings))


def test_an_older_installation_is_tightened_at_start(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    os.chmod(data_dir, 0o755)  # noqa: S103  (what an older installation left)
    (data_dir / "app.db").touch()
    os.chmod(data_dir / "app.db", 0o644)
    settings = make_settings(data_dir)
    asyncio.run(write_through_wal(settings))
    assert mode(data_dir) == 0o700
    assert mode(data_dir / "app.db") == 0o600
