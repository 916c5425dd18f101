"""aiosqlite for SQLAlchemy with one thread hop per statement instead of four.

aiosqlite runs every sqlite3 call on the connection's own thread and hands the result back to the event loop,
one hop per call. SQLAlchemy's adapter makes four of them per statement: create a cursor, execute, fetch all
rows, close the cursor. Each hop is a queue put, a thread wake-up and a loop wake-up (a self-pipe write); on a
busy machine it is most of a short statement's time. This adapter runs the whole statement (cursor, execute,
fetch all, close) as one call on the connection's thread.

Everything else is aiosqlite's and SQLAlchemy's own: the same connection thread, the same sqlite3 connection
and transaction handling (BEGIN, COMMIT, ROLLBACK, SAVEPOINT are statements or calls like any other), the same
exceptions. Server-side cursors (`stream_results`) keep SQLAlchemy's aiosqlite cursor, which fetches on demand.

Use: `create_async_engine("sqlite+aiosqlite://...", module=dbapi())`.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Sequence
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util.concurrency import await_

_Outcome = tuple[Any, int, int | None, list[Any]]  # description, rowcount, lastrowid, rows


class _Statement:
    """Stands where SQLAlchemy expects an aiosqlite cursor: `execute` runs and fetches in one hop."""

    __slots__ = ("_connection", "arraysize", "description", "lastrowid", "rowcount")

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1

    def _run(self, operation: str, parameters: Any, many: bool) -> _Outcome:
        # On the connection's thread: one sqlite3 cursor, used and closed within the call.
        cursor = self._connection._conn.cursor()
        try:
            if many:
                cursor.executemany(operation, parameters)
            else:
                cursor.execute(operation, parameters)
            rows = cursor.fetchall() if cursor.description else []
            return cursor.description, cursor.rowcount, cursor.lastrowid, rows
        finally:
            cursor.close()

    async def run(self, operation: str, parameters: Any, *, many: bool = False) -> list[Any]:
        outcome = await self._connection._execute(self._run, operation, () if parameters is None else parameters, many)
        self.description, self.rowcount, self.lastrowid, rows = outcome
        return rows

    def close(self) -> None:
        """Nothing to release: the sqlite3 cursor was closed on the connection's thread."""


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """SQLAlchemy's aiosqlite cursor with the four hops of a statement folded into one."""

    __slots__ = ()
    _awaitable_cursor_close = False  # close() is synchronous and free

    def _make_new_cursor(self, connection: Any) -> Any:
        return _Statement(connection)

    def _aenter_cursor(self, cursor: Any) -> Any:
        return cursor

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        statement: _Statement = self._cursor  # type: ignore[assignment]
        async with self._adapt_connection._execute_mutex:
            self._rows = collections.deque(await statement.run(operation, parameters))
        return statement

    async def _executemany_async(self, operation: Any, seq_of_parameters: Sequence[Any]) -> Any:
        statement: _Statement = self._cursor  # type: ignore[assignment]
        async with self._adapt_connection._execute_mutex:
            self._rows = collections.deque(await statement.run(operation, seq_of_parameters, many=True))
        return statement

    def nextset(self) -> None:
        raise NotImplementedError("sqlite3 has no next result set")


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneHopCursor


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The DBAPI module SQLAlchemy's aiosqlite dialect is given (`module=`): connections with one-hop cursors."""

    def connect(self, *arg: Any, **kw: Any) -> OneHopConnection:
        creator_fn = kw.pop("async_creator_fn", None)
        connection = creator_fn(*arg, **kw) if creator_fn else self.aiosqlite.connect(*arg, **kw)
        if not creator_fn:
            connection._thread.daemon = True
        return OneHopConnection(self, await_(connection))


def dbapi() -> OneHopDBAPI:
    return OneHopDBAPI(aiosqlite, sqlite3)
