"""`after_commit`: a callback runs once after the outermost commit, never after a rollback, on both backends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.db.after_commit import after_commit, drain, on_signal, pending_follow_ups, signal_after_commit
from app.db.engine import create_engine, create_sessionmaker
from tests.conftest import Backend, make_settings


@pytest.fixture
async def engine(backend: Backend) -> AsyncIterator[AsyncEngine]:
    env = dict(backend.env)
    engine = create_engine(make_settings(Path(env.pop("DATA_DIR")), **env))
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


async def _touch(session: AsyncSession) -> None:
    await session.execute(text("SELECT 1"))


async def test_runs_once_after_the_commit_and_not_before(sessionmaker):
    ran: list[str] = []
    async with sessionmaker.begin() as session:
        await _touch(session)
        after_commit(session, lambda: ran.append("committed"))
        await session.flush()
        assert ran == []  # not before the commit
    assert ran == ["committed"]
    async with sessionmaker.begin() as session:  # the same session class again: nothing replays
        await _touch(session)
    assert ran == ["committed"]


async def test_a_reused_session_does_not_run_it_twice(sessionmaker):
    ran: list[int] = []
    async with sessionmaker() as session:
        await _touch(session)
        after_commit(session, lambda: ran.append(1))
        await session.commit()
        await _touch(session)
        await session.commit()  # a second commit of the same session has nothing queued
    assert ran == [1]


async def test_dropped_on_rollback(sessionmaker):
    ran: list[str] = []
    async with sessionmaker() as session:
        await _touch(session)
        after_commit(session, lambda: ran.append("rolled back"))
        await session.rollback()
        await _touch(session)
        await session.commit()
    assert ran == []


async def test_dropped_when_the_session_closes_without_committing(sessionmaker):
    ran: list[str] = []
    async with sessionmaker() as session:
        await _touch(session)
        after_commit(session, lambda: ran.append("abandoned"))
    async with sessionmaker() as session:
        await _touch(session)
        await session.commit()
    assert ran == []


async def test_an_exception_in_the_block_drops_it(sessionmaker):
    ran: list[str] = []

    async def failing_block() -> None:
        async with sessionmaker.begin() as session:
            await _touch(session)
            after_commit(session, lambda: ran.append("failed"))
            raise LookupError

    with pytest.raises(LookupError):
        await failing_block()
    assert ran == []


async def test_savepoints_release_into_the_outer_commit_and_roll_back_alone(sessionmaker):
    ran: list[str] = []
    async with sessionmaker() as session:
        await _touch(session)
        after_commit(session, lambda: ran.append("outer"))
        kept = await session.begin_nested()
        after_commit(session, lambda: ran.append("released savepoint"))
        await kept.commit()
        assert ran == []  # releasing a savepoint is not the commit
        dropped = await session.begin_nested()
        after_commit(session, lambda: ran.append("rolled-back savepoint"))
        inner = await session.begin_nested()
        after_commit(session, lambda: ran.append("inside the rolled-back one"))
        await inner.commit()
        await dropped.rollback()
        after_commit(session, lambda: ran.append("after"))
        await session.commit()
    assert ran == ["outer", "released savepoint", "after"]


async def test_same_key_runs_once_per_commit(sessionmaker):
    ran: list[str] = []
    async with sessionmaker.begin() as session:
        await _touch(session)
        for n in range(3):
            after_commit(session, lambda n=n: ran.append(f"wake {n}"), key="wake")
        after_commit(session, lambda: ran.append("other"))
    assert ran == ["wake 0", "other"]


async def test_a_failing_callback_does_not_undo_the_commit_nor_stop_the_others(sessionmaker):
    ran: list[str] = []

    def broken() -> None:
        raise RuntimeError("boom")

    async with sessionmaker.begin() as session:
        await _touch(session)
        after_commit(session, broken)
        after_commit(session, lambda: ran.append("next"))
    assert ran == ["next"]


async def test_a_coroutine_is_scheduled_not_awaited_inside_the_commit(sessionmaker):
    release, finished = asyncio.Event(), asyncio.Event()

    async def follow_up() -> None:
        await release.wait()
        finished.set()

    async with sessionmaker.begin() as session:
        await _touch(session)
        after_commit(session, follow_up)
    # the commit returned although the follow-up waits; it is running, and drain() waits for it
    assert not finished.is_set()
    assert pending_follow_ups() == 1
    release.set()
    assert await drain(timeout_s=30) == 0
    assert finished.is_set()
    assert pending_follow_ups() == 0


async def test_drain_cancels_what_does_not_finish(sessionmaker):
    never = asyncio.Event()

    async def stuck() -> None:
        await never.wait()

    async with sessionmaker.begin() as session:
        await _touch(session)
        after_commit(session, stuck)
    assert await drain(timeout_s=0) == 1
    assert pending_follow_ups() == 0


async def test_signals_reach_the_listeners_of_the_sessions_engine_once(backend, engine, sessionmaker):
    woken: list[tuple[object, ...]] = []
    elsewhere: list[tuple[object, ...]] = []
    stop = on_signal(engine, "test.wake", lambda *args: woken.append(args))
    env = dict(backend.env)
    other = create_engine(make_settings(Path(env.pop("DATA_DIR")), **env))  # another app's engine, same database
    stop_other = on_signal(other, "test.wake", lambda *args: elsewhere.append(args))
    try:
        async with sessionmaker.begin() as session:
            await _touch(session)
            signal_after_commit(session, "test.wake")
            signal_after_commit(session, "test.wake")
            signal_after_commit(session, "test.wake", "payload")
            signal_after_commit(session, "test.unheard")
            assert woken == []
        assert woken == [(), ("payload",)]
        async with sessionmaker() as session:
            await _touch(session)
            signal_after_commit(session, "test.wake")
            await session.rollback()
        assert woken == [(), ("payload",)]
        assert elsewhere == []
    finally:
        stop()
        stop_other()
        await other.dispose()
    async with sessionmaker.begin() as session:  # stopped: no longer called
        await _touch(session)
        signal_after_commit(session, "test.wake")
    assert woken == [(), ("payload",)]
