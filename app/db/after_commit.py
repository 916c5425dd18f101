"""Run something once the current transaction has committed: the one way to have a side effect after commit.

`after_commit(session, callback)` queues `callback` on the session. It runs once, right after the outermost
transaction commits; a rollback drops it, and a rolled-back savepoint drops only what was queued inside it (a
released savepoint hands its callbacks on to the enclosing transaction). A session closed without committing
drops everything it queued. Callbacks with the same `key` run once per commit (the first one queued wins).

A callback is called synchronously, on the event loop, inside the commit; whatever it returns that is
awaitable is scheduled as a task of its own (kept referenced until done, its error logged), so a slow follow-up
never holds the committing caller. An error of a callback is logged, never raised: the data is committed.
`drain()` waits for the scheduled follow-ups (the background runtime calls it before stopping services).

`signal_after_commit(session, topic, *args)` is the engine-scoped variant for wake-ups: after commit, every
listener registered with `on_signal(engine, topic, listener)` is called (without args: once per commit however
often the transaction signalled). The process part that cares (a dispatcher, the failover runner, the event
publisher) registers while it runs; a process without one (a CLI) commits all the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, SessionTransaction

from app.lib.background import ServiceHealth
from app.lib.logging import log_event

Callback = Callable[[], object]

_QUEUED = "after_commit.queued"
_HOOKED = "after_commit.hooked"


@dataclass(slots=True)
class _Queued:
    callback: Callback
    key: Hashable | None
    savepoint: SessionTransaction | None  # the innermost savepoint open when it was queued


def after_commit(session: AsyncSession | Session, callback: Callback, *, key: Hashable | None = None) -> None:
    """Call `callback` once the outermost transaction of `session` commits; never if it rolls back."""
    sync_session = session.sync_session if isinstance(session, AsyncSession) else session
    if not sync_session.info.get(_HOOKED):
        sa_event.listen(sync_session, "after_commit", _committed)
        sa_event.listen(sync_session, "after_soft_rollback", _rolled_back)
        sa_event.listen(sync_session, "after_transaction_end", _ended)
        sync_session.info[_HOOKED] = True
    queued = _Queued(callback, key, sync_session.get_nested_transaction())
    sync_session.info.setdefault(_QUEUED, []).append(queued)


def _committed(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a savepoint was released: its callbacks wait for the outermost commit
    queued: list[_Queued] = session.info.pop(_QUEUED, [])
    seen: set[Hashable] = set()
    for item in queued:
        if item.key is not None:
            if item.key in seen:
                continue
            seen.add(item.key)
        _run(item.callback)


def _rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    queued: list[_Queued] = session.info.get(_QUEUED, [])
    if not queued:
        return
    if not previous_transaction.nested:
        session.info.pop(_QUEUED, None)
        return
    session.info[_QUEUED] = [item for item in queued if not _inside(item.savepoint, previous_transaction)]


def _ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost ended: committed callbacks ran already, the rest are void
        session.info.pop(_QUEUED, None)


def _inside(savepoint: SessionTransaction | None, rolled_back: SessionTransaction) -> bool:
    while savepoint is not None:
        if savepoint is rolled_back:
            return True
        savepoint = savepoint.parent
    return False


# -- follow-ups that are coroutines ---------------------------------------------------------------------------

_follow_ups: set[asyncio.Task[Any]] = set()


def _run(callback: Callback) -> None:
    try:
        result = callback()
    except Exception as exc:  # committed already: say so, do not undo the caller's success
        _failed(callback, exc)
        return
    if inspect.isawaitable(result):
        task = asyncio.ensure_future(result)
        _follow_ups.add(task)
        task.add_done_callback(lambda done: _finished(callback, done))


def _finished(callback: Callback, task: asyncio.Task[Any]) -> None:
    _follow_ups.discard(task)
    if not task.cancelled() and task.exception() is not None:
        _failed(callback, task.exception())


def _failed(callback: Callback, exc: BaseException | None) -> None:
    function = getattr(callback, "func", callback)  # a functools.partial names what it calls
    name = getattr(function, "__qualname__", None) or type(function).__name__
    log_event("error", "db", "after_commit.failed", f"after-commit step {name} failed: {exc!r}")


def pending_follow_ups() -> int:
    """How many scheduled follow-ups are still running (this event loop's)."""
    loop = asyncio.get_running_loop()
    return sum(1 for task in _follow_ups if task.get_loop() is loop)


async def drain(timeout_s: float) -> int:
    """Wait up to `timeout_s` for this loop's scheduled follow-ups, then cancel the rest; returns how many were."""
    loop = asyncio.get_running_loop()
    cancelled = 0
    while mine := [task for task in _follow_ups if task.get_loop() is loop and not task.done()]:
        _, running = await asyncio.wait(mine, timeout=timeout_s)
        if running:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            cancelled += len(running)
            break
    return cancelled


class FollowUps:
    """The after-commit follow-ups as a background service: last to start, first to stop, it drains them.

    Stopping waits up to `timeout_s` for follow-ups still running (a channel backfill a request left behind),
    then cancels the rest, before the services they use (the Telegram runtime) stop.
    """

    name = "after-commit-follow-ups"

    def __init__(self, timeout_s: float = 10.0) -> None:
        self._timeout_s = timeout_s
        self._running = False
        self.cancelled = 0

    async def start(self) -> None:
        self._running = True

    async def stop(self) -> None:
        self._running = False
        self.cancelled += await drain(self._timeout_s)

    def health(self) -> ServiceHealth:
        details = {"running": pending_follow_ups(), "cancelled_at_stop": self.cancelled}
        return ServiceHealth("running" if self._running else "stopped", details)


# -- engine-scoped signals ------------------------------------------------------------------------------------

_listeners: WeakKeyDictionary[Engine, dict[str, list[Callable[..., object]]]] = WeakKeyDictionary()


def on_signal(engine: AsyncEngine | Engine, topic: str, listener: Callable[..., object]) -> Callable[[], None]:
    """Call `listener` after each commit on `engine` that signalled `topic`; returns the function that stops it."""
    sync_engine = engine.sync_engine if isinstance(engine, AsyncEngine) else engine
    topics = _listeners.setdefault(sync_engine, {})
    topics.setdefault(topic, []).append(listener)

    def remove() -> None:
        with contextlib.suppress(ValueError, KeyError):
            topics[topic].remove(listener)

    return remove


def engine_of(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncEngine:
    """The engine a sessionmaker's sessions are bound to (the scope of their signals)."""
    bind = sessionmaker.kw.get("bind")
    if not isinstance(bind, AsyncEngine):
        raise TypeError("the sessionmaker is not bound to an AsyncEngine")
    return bind


def signal_after_commit(session: AsyncSession | Session, topic: str, *args: Any) -> None:
    """After commit, call the listeners of `topic` on this session's engine (with `args`; without: once)."""
    sync_session = session.sync_session if isinstance(session, AsyncSession) else session
    bind = sync_session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine

    def notify() -> None:
        for listener in list(_listeners.get(engine, {}).get(topic, ())):
            _run(functools.partial(listener, *args))

    after_commit(sync_session, notify, key=None if args else ("signal", topic))
