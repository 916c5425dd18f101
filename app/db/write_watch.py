"""Notice committed writes to some tables, without any writer having to say so.

`watch_writes(engine, tables, changed)` calls `changed()` once a connection that ran an INSERT, UPDATE or
DELETE on one of `tables` goes back to the pool, which is after its transaction ended (committed or rolled
back: a rollback is a needless call, never a missed one). Every write path is covered, ORM flushes and Core
statements alike, because the statement text itself is looked at (one prefix test per statement). Foreign-key
actions the database runs itself (ON DELETE SET NULL, CASCADE) are not statements: watch the parent table too.

A connection that is kept checked out across several transactions reports at its check-in; readers that cache
what these tables hold keep a short lifetime as well (see app.domain.messages.listing_cache).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

_WRITTEN = "write_watch.written"
_WRITE = re.compile(r'\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)


def written_table(statement: str) -> str | None:
    """The table an INSERT, UPDATE or DELETE statement writes to; None for anything else."""
    if statement[:1].isspace() or statement[:1] in "IUDiud":
        match = _WRITE.match(statement)
        if match is not None:
            return match.group(1).lower()
    return None


def watch_writes(engine: AsyncEngine, tables: Iterable[str], changed: Callable[[], None]) -> None:
    watched = frozenset(table.lower() for table in tables)
    sync_engine = engine.sync_engine

    def after_execute(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if written_table(statement) in watched:
            conn.info[_WRITTEN] = True

    def checked_in(_dbapi_connection: Any, record: Any) -> None:
        if record is not None and record.info.pop(_WRITTEN, False):
            changed()

    event.listen(sync_engine, "after_cursor_execute", after_execute)
    event.listen(sync_engine.pool, "checkin", checked_in)
