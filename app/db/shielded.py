"""Transactions of background tasks that a cancellation cannot cut short.

A background task is cancelled when its service stops. If the cancellation lands between a write and the commit,
the rollback that should follow can itself be cut short, and on SQLite the connection keeps the database's write
lock: every later writer waits `busy_timeout` and fails with "database is locked". So a background task runs each
transaction in a task of its own, awaited through `asyncio.shield`: the caller still stops at once, the
transaction commits or rolls back whole, and the service's `stop()` waits for the ones still in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

T = TypeVar("T")


class ShieldedTransactions:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        serialize: contextlib.AbstractAsyncContextManager[object] | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        # Held around each transaction (SQLite: one writer of a service at a time instead of lock contention).
        self._serialize = serialize if serialize is not None else contextlib.nullcontext()
        self._in_flight: set[asyncio.Task[object]] = set()

    async def run(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run `work` in one transaction that commits or rolls back whole, whatever happens to the caller."""

        async def transaction() -> T:
            async with self._serialize, self._sessionmaker.begin() as session:
                return await work(session)

        task = asyncio.create_task(transaction())
        self._in_flight.add(task)
        task.add_done_callback(self._ended)
        return await asyncio.shield(task)

    def _ended(self, task: asyncio.Task[object]) -> None:
        self._in_flight.discard(task)
        if not task.cancelled():
            task.exception()  # raised to the caller; a cancelled caller has logged why it stopped

    async def wait(self) -> None:
        """Return once every transaction started so far has ended (their errors went to their callers)."""
        while self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
