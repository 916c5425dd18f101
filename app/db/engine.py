"""Engine and session configuration for both backends (SQLite embedded, PostgreSQL in production)."""

from __future__ import annotations

from typing import Any

import msgspec
from advanced_alchemy.extensions.litestar import (
    AsyncSessionConfig,
    EngineConfig,
    SQLAlchemyAsyncConfig,
)
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from app.config import Settings

_json_encoder = msgspec.json.Encoder()


def _json_dumps(value: Any) -> str:
    """JSON columns (event payloads, media metadata) go through msgspec: the ingest writer encodes one per row."""
    return _json_encoder.encode(value).decode()


def engine_kwargs(settings: Settings) -> dict[str, Any]:
    common = {"json_serializer": _json_dumps, "json_deserializer": msgspec.json.decode}
    if settings.sqlite:
        return {"connect_args": {"timeout": 30}, **common}
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


def create_engine(settings: Settings) -> AsyncEngine:
    if settings.sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return prepare_engine(create_async_engine(settings.database_url, **engine_kwargs(settings)))


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
