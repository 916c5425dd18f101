"""Alembic environment: reads app.config, runs async, batch mode on SQLite."""

from __future__ import annotations

import asyncio

from sqlalchemy.engine import Connection

import app.db.models  # noqa: F401  (registers every table)
from alembic import context
from app.config import Settings, get_settings
from app.db.base import metadata
from app.db.engine import create_engine

config = context.config
settings: Settings = config.attributes.get("settings") or get_settings()


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=connection.dialect.name != "sqlite",  # SQLite reflects GUIDs as NUMERIC
        user_module_prefix="sa_types.",
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_engine(settings)
    async with engine.connect() as connection:
        await connection.run_sync(_configure)
        await connection.commit()
    await engine.dispose()


def run_migrations_online() -> None:
    asyncio.run(_run_async())


if context.is_offline_mode():
    context.configure(
        url=settings.database_url,
        target_metadata=metadata,
        literal_binds=True,
        render_as_batch=settings.sqlite,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
