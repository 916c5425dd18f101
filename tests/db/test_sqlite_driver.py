"""The one-hop SQLite driver (app.db.sqlite_driver) keeps SQLite's and SQLAlchemy's semantics whole."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.engine import create_engine
from app.db.sqlite_driver import OneHopConnection
from tests.conftest import make_settings

metadata = MetaData()
rows = Table("rows", metadata, Column("n", Integer, primary_key=True), Column("label", String(20), unique=True))


@pytest.fixture
async def engine(tmp_path) -> AsyncEngine:
    engine = create_engine(make_settings(tmp_path))
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield engine
    await engine.dispose()


async def _labels(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        return list((await connection.execute(select(rows.c.label).order_by(rows.c.n))).scalars())


async def test_the_service_engine_uses_the_one_hop_driver(engine):
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        assert isinstance(raw.dbapi_connection, OneHopConnection)
        assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar() == 1  # the connect hook ran


async def test_commit_rollback_and_savepoints(engine):
    async with engine.begin() as connection:
        await connection.execute(insert(rows), [{"label": "a"}, {"label": "b"}])  # executemany
    async with engine.connect() as connection:
        await connection.execute(insert(rows).values(label="rolled back"))
        await connection.rollback()
    async with engine.begin() as connection:
        await connection.execute(insert(rows).values(label="c"))
        savepoint = await connection.begin_nested()
        await connection.execute(insert(rows).values(label="inside"))
        await savepoint.rollback()
        async with connection.begin_nested():
            await connection.execute(insert(rows).values(label="d"))
    assert await _labels(engine) == ["a", "b", "c", "d"]


async def test_results_rowcounts_and_returning(engine):
    async with engine.begin() as connection:
        inserted = await connection.execute(insert(rows).values(label="x").returning(rows.c.n, rows.c.label))
        assert inserted.one()._tuple() == (1, "x")
        await connection.execute(insert(rows), [{"label": f"r{i}"} for i in range(5)])
        changed = await connection.execute(update(rows).where(rows.c.n > 3).values(label=func.upper(rows.c.label)))
        assert changed.rowcount == 3
        assert (await connection.execute(select(func.count()).select_from(rows))).scalar() == 6
        assert (await connection.execute(select(rows.c.label).where(rows.c.n == 99))).first() is None
    async with engine.connect() as connection:  # a server-side cursor still streams
        streamed = await connection.stream(select(rows.c.n).order_by(rows.c.n))
        assert [n async for n in streamed.scalars()] == [1, 2, 3, 4, 5, 6]


async def test_errors_are_sqlalchemys_and_leave_the_connection_usable(engine):
    async with engine.connect() as connection:
        await connection.execute(insert(rows).values(label="same"))
        with pytest.raises(IntegrityError):
            await connection.execute(insert(rows).values(label="same"))
        await connection.rollback()
        with pytest.raises(OperationalError, match="no such table"):
            await connection.execute(text("SELECT * FROM missing"))
        await connection.rollback()
        assert (await connection.execute(text("SELECT 41 + 1"))).scalar() == 42


async def test_concurrent_sessions_each_see_their_own_transaction(engine):
    async def write(label: str) -> None:
        async with engine.begin() as connection:
            await connection.execute(insert(rows).values(label=label))
            await asyncio.sleep(0)
            count = (await connection.execute(select(func.count()).select_from(rows))).scalar()
            assert count is not None
            assert count >= 1

    await asyncio.gather(*(write(f"w{i}") for i in range(8)))
    assert sorted(await _labels(engine)) == sorted(f"w{i}" for i in range(8))
