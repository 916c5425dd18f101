"""Run Alembic programmatically so `python -m app migrate` needs no alembic.ini."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from alembic import command
from app.config import Settings
from app.db.engine import prepare_data_files

ROOT = Path(__file__).resolve().parents[2]


def alembic_config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(ROOT / "alembic"))
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(hour).2d%%(minute).2d-%%(slug)s")
    config.set_main_option("sqlalchemy.url", settings.database_url.replace("%", "%%"))
    config.attributes["settings"] = settings
    return config


def upgrade(settings: Settings, revision: str = "head") -> None:
    prepare_data_files(settings)
    command.upgrade(alembic_config(settings), revision)


def pending_revisions(settings: Settings) -> list[str]:
    """Revisions between the database's current one and the head, oldest first (empty when up to date)."""
    if settings.sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    script = ScriptDirectory.from_config(alembic_config(settings))

    def current(connection: Connection) -> tuple[str, ...]:
        return tuple(MigrationContext.configure(connection).get_current_heads())

    async def read_current() -> tuple[str, ...]:
        engine = create_async_engine(settings.database_url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(current)
        finally:
            await engine.dispose()

    heads = asyncio.run(read_current())
    pending = [rev.revision for rev in script.iterate_revisions("heads", heads or "base")]
    return list(reversed(pending))


def downgrade(settings: Settings, revision: str) -> None:
    command.downgrade(alembic_config(settings), revision)


def revision(settings: Settings, message: str) -> None:
    command.revision(alembic_config(settings), message=message, autogenerate=True)
