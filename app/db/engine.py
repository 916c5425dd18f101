"""Engine and session configuration for both backends (SQLite embedded, PostgreSQL in production)."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import Any, TypeAlias

import msgspec
from advanced_alchemy.extensions.litestar import (
    AsyncSessionConfig,
    EngineConfig,
    SQLAlchemyAsyncConfig,
)
from litestar.di import NamedDependency
from sqlalchemy import event, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from app.config import Settings
from app.db import sqlite_driver
from app.lib.logging import log_event

_json_encoder = msgspec.json.Encoder()

DbSession: TypeAlias = NamedDependency[AsyncSession]
"""What a handler names `db_session` receives: the request's session (committed after a 2xx response)."""


def _json_dumps(value: Any) -> str:
    """JSON columns (event payloads, media metadata) go through msgspec: the ingest writer encodes one per row."""
    return _json_encoder.encode(value).decode()


def engine_kwargs(settings: Settings) -> dict[str, Any]:
    # A short pool timeout: when every connection is taken, a request answers 503 with Retry-After quickly
    # (see app.server.errors) instead of queueing for SQLAlchemy's default 30 s.
    common = {
        "json_serializer": _json_dumps,
        "json_deserializer": msgspec.json.decode,
        "pool_timeout": settings.db_pool_timeout_s,
    }
    if settings.sqlite:
        # One thread hop per statement instead of aiosqlite's four (app.db.sqlite_driver).
        return {"connect_args": {"timeout": 30}, "module": sqlite_driver.dbapi(), **common}
    return {"pool_size": settings.db_pool_size, "max_overflow": settings.db_pool_size, "pool_pre_ping": True, **common}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def prepare_engine(engine: AsyncEngine) -> AsyncEngine:
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def make_private(path: Path, mode: int) -> None:
    """Tighten `path` to `mode` (it may sit on a volume this process does not own: then say so, do not fail)."""
    try:
        if stat.S_IMODE(path.stat().st_mode) != mode:
            os.chmod(path, mode)
    except FileNotFoundError:
        pass
    except PermissionError:
        log_event("warning", "db", "files.not_private", f"cannot make {path} mode {oct(mode)}; fix it by hand")


def prepare_data_files(settings: Settings) -> None:
    """DATA_DIR 0700; the SQLite database and its -wal/-shm files 0600 (messages, ciphertexts of secrets).

    The database file is created 0600 before SQLite opens it, because SQLite gives the WAL and shared-memory
    files it creates later the mode of the database file.
    """
    if settings.sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    if settings.data_dir.is_dir():
        make_private(settings.data_dir, 0o700)
    database = make_url(settings.database_url).database if settings.sqlite else None
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for suffix in ("", "-wal", "-shm"):
        make_private(path.with_name(path.name + suffix), 0o600)


def create_engine(settings: Settings) -> AsyncEngine:
    prepare_data_files(settings)
    return prepare_engine(create_async_engine(settings.database_url, **engine_kwargs(settings)))


async def release_connection(session: AsyncSession) -> None:
    """End the request's transaction so that no pooled connection is held across a long wait.

    For requests that have only read so far and are about to wait on pacing or Telegram: a connection held
    meanwhile is one the pool cannot give anyone else. Objects stay usable (no expiry on commit); using the
    session again afterwards checks a connection out anew, and the framework commits that as usual.
    """
    await session.commit()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def sqlalchemy_config(settings: Settings, engine: AsyncEngine) -> SQLAlchemyAsyncConfig:
    """Session per request, committed on 2xx and rolled back otherwise (the framework owns the transaction)."""
    return SQLAlchemyAsyncConfig(
        engine_instance=engine,
        session_dependency_key="db_session",
        before_send_handler="autocommit",
        session_config=AsyncSessionConfig(expire_on_commit=False),
        engine_config=EngineConfig(),
        create_all=False,
        set_default_exception_handler=False,
    )
