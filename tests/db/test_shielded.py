"""A stopping background task's transaction ends whole and never strands SQLite's write lock."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import create_engine, create_sessionmaker
from app.db.shielded import ShieldedTransactions
from tests.conftest import make_settings


async def test_a_cancelled_caller_leaves_its_transaction_to_commit_whole(tmp_path):
    settings = make_settings(tmp_path)
    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE rows (n INTEGER)"))
    transactions = ShieldedTransactions(sessionmaker)
    wrote, go_on = asyncio.Event(), asyncio.Event()

    async def two_writes(session: AsyncSession) -> None:
        await session.execute(text("INSERT INTO rows VALUES (1)"))
        wrote.set()  # the write lock is held from here to the commit
        await go_on.wait()
        await session.execute(text("INSERT INTO rows VALUES (2)"))

    caller = asyncio.create_task(transactions.run(two_writes))
    await wrote.wait()
    caller.cancel()  # as a service's stop() cancels its loop mid-transaction
    await asyncio.gather(caller, return_exceptions=True)
    assert caller.cancelled()  # the caller stops at once...
    go_on.set()
    await transactions.wait()  # ...and stop() waits for the transaction itself
    async with engine.begin() as connection:  # another writer gets the lock at once, the rows are all there
        await connection.execute(text("INSERT INTO rows VALUES (3)"))
        assert (await connection.execute(text("SELECT n FROM rows ORDER BY n"))).scalars().all() == [1, 2, 3]
    await engine.dispose()


async def test_an_error_reaches_the_caller_and_rolls_back(tmp_path):
    engine = create_engine(make_settings(tmp_path))
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE rows (n INTEGER)"))
    transactions = ShieldedTransactions(create_sessionmaker(engine))

    async def fails(session: AsyncSession) -> None:
        await session.execute(text("INSERT INTO rows VALUES (1)"))
        raise LookupError("no such thing")

    with pytest.raises(LookupError, match="no such thing"):
        await transactions.run(fails)
    async with engine.begin() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM rows"))).scalar() == 0
    await engine.dispose()
