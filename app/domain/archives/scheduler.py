"""The archive scheduler: in processes with background work, claims due or interrupted archives and runs them.

A claim is a compare-and-set on `claimed_by`/`claimed_until` (works alike on SQLite and PostgreSQL), renewed while
the run lives. A process that dies stops renewing; after ARCHIVE_CLAIM_TTL_S its runs are due again and resume from
their checkpoints in whichever process ticks next. A clean shutdown releases its claims at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Executable, Result, case, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db.after_commit import engine_of, on_signal
from app.db.models import Archive, ArchiveStatus
from app.domain.archives.run_state import now
from app.domain.archives.runner import ArchiveRunner
from app.domain.archives.services import ARCHIVE_CANCELLED, ARCHIVES_DUE
from app.lib.background import ServiceHealth
from app.lib.crypto import SecretBox
from app.lib.logging import log_event
from app.lib.targets import TargetPolicy
from app.telegram.commands import ProfileCommands
from app.telegram.runtime import ProfileRuntime

CANDIDATES = 200
RUNNABLE = (
    ArchiveStatus.PENDING.value,
    ArchiveStatus.SCHEDULED.value,
    ArchiveStatus.RUNNING.value,  # interrupted: its claim expired
    ArchiveStatus.PAUSED.value,
)


class ArchiveScheduler:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        runtime: ProfileRuntime,
        commands: ProfileCommands,
        box: SecretBox,
        settings: Settings,
        targets: TargetPolicy,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.runtime = runtime
        self.instance_id = f"archives:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self.runner = ArchiveRunner(sessionmaker, runtime, commands, box, settings, self.instance_id, targets)
        self._transactions = self.runner.transactions  # every write of runs and claims ends whole
        self._tasks: dict[UUID, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._unlisten: list[Callable[[], None]] = []

    # -- lifecycle -------------------------------------------------------------------------------------------

    name = "archive-scheduler"

    async def start(self) -> None:
        engine = engine_of(self.sessionmaker)
        self._unlisten = [
            on_signal(engine, ARCHIVES_DUE, self.wake),
            on_signal(engine, ARCHIVE_CANCELLED, self.cancel),
        ]
        self._loop_task = asyncio.create_task(self._loop(), name=self.name)

    def health(self) -> ServiceHealth:
        return ServiceHealth.of_task(self._loop_task, {"running": len(self._tasks)})

    async def stop(self) -> None:
        """Stop every run and release their claims, so another process resumes them without waiting."""
        for unlisten in self._unlisten:
            unlisten()
        self._unlisten = []
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._transactions.wait()

    def wake(self) -> None:
        self._wake.set()

    async def cancel(self, archive_id: UUID) -> None:
        """Stop a run of this process now (the archive row was already marked cancelled)."""
        task = self._tasks.get(archive_id)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def running_ids(self) -> list[UUID]:
        return list(self._tasks)

    async def idle(self) -> None:
        """Wait for every run started so far (tests and benchmarks)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    # -- claiming ----------------------------------------------------------------------------------------------

    async def tick(self) -> list[UUID]:
        """Claim and start the archives that are due; returns their ids."""
        free = self.settings.archive_concurrency - len(self._tasks)
        if free <= 0:
            return []
        moment = now()
        async with self.sessionmaker() as session:
            rows = list(
                await session.execute(
                    select(
                        Archive.id, Archive.profile_id, Archive.next_run_at, Archive.paused_until, Archive.claimed_until
                    )
                    .where(
                        Archive.status.in_(RUNNABLE),
                        or_(Archive.claimed_until.is_(None), Archive.claimed_until < moment),
                        or_(Archive.next_run_at.is_(None), Archive.next_run_at <= moment),
                        or_(Archive.paused_until.is_(None), Archive.paused_until <= moment),
                    )
                    .order_by(Archive.next_run_at, Archive.id)
                    .limit(CANDIDATES)
                )
            )
        candidates = self._runnable_here([tuple(row) for row in rows], moment)
        started: list[UUID] = []
        for archive_id in candidates:
            if len(started) >= free or archive_id in self._tasks:
                continue
            if await self._claim(archive_id):
                self._tasks[archive_id] = asyncio.create_task(self._job(archive_id), name=f"archive-{archive_id}")
                started.append(archive_id)
        return started

    def _runnable_here(self, rows: list[tuple[Any, ...]], moment: datetime) -> list[UUID]:
        """Archives whose profile this process has connected; others only once no process took them for a while.

        With several workers each profile is connected in one of them, so its archives run there; an archive whose
        profile is connected nowhere is still run after a grace period, so its error becomes visible.
        """
        local = set(self.runtime.connected_ids())
        grace = timedelta(seconds=max(30.0, 2 * self.settings.archive_claim_ttl_s))
        chosen: list[UUID] = []
        for archive_id, profile_id, *moments in rows:
            due_since = max((m for m in moments if m is not None), default=None)
            if profile_id in local or due_since is None or due_since <= moment - grace:
                chosen.append(archive_id)
        return chosen

    async def _claim(self, archive_id: UUID) -> bool:
        moment = now()
        claim = (
            update(Archive)
            .where(
                Archive.id == archive_id,
                Archive.status.in_(RUNNABLE),
                or_(Archive.claimed_until.is_(None), Archive.claimed_until < moment),
            )
            .values(
                claimed_by=self.instance_id,
                claimed_until=moment + timedelta(seconds=self.settings.archive_claim_ttl_s),
            )
            .execution_options(synchronize_session=False)
        )
        result = await self._transactions.run(_executing(claim))
        return bool(getattr(result, "rowcount", 0))

    async def _renew(self, archive_id: UUID, task: asyncio.Task[None]) -> None:
        ttl = self.settings.archive_claim_ttl_s
        while True:
            await asyncio.sleep(ttl / 3)
            renewal = (
                update(Archive)
                .where(Archive.id == archive_id, Archive.claimed_by == self.instance_id)
                .values(claimed_until=_extended_claim(now() + timedelta(seconds=ttl)))
                .execution_options(synchronize_session=False)
            )
            try:
                result = await self._transactions.run(_executing(renewal))
            except Exception as exc:  # the database hiccupped: the claim still has two thirds of its life
                log_event("warning", "archives", "archive.renew_failed", f"claim renewal failed: {type(exc).__name__}")
                continue
            if not getattr(result, "rowcount", 1):
                task.cancel()  # cancelled or taken over
                return

    async def _release(self, archive_id: UUID) -> None:
        release = (
            update(Archive)
            .where(Archive.id == archive_id, Archive.claimed_by == self.instance_id)
            .values(claimed_by=None, claimed_until=None)
            .execution_options(synchronize_session=False)
        )
        with contextlib.suppress(Exception):
            await self._transactions.run(_executing(release))

    async def _job(self, archive_id: UUID) -> None:
        current = asyncio.current_task()
        assert current is not None
        renewer = asyncio.create_task(self._renew(archive_id, current))
        try:
            await self.runner.run(archive_id)
        except asyncio.CancelledError:
            pass
        except Exception as exc:
            log_event("error", "archives", "archive.job_crashed", f"archive job crashed: {type(exc).__name__}")
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
            await asyncio.shield(self._release(archive_id))
            self._tasks.pop(archive_id, None)
            self._wake.set()

    async def _loop(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception as exc:  # the database is away: try again at the next tick
                log_event("warning", "archives", "archive.tick_failed", f"archive scheduler tick failed: {exc!r}")
            self._wake.clear()
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that races a wake-up
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.archive_poll_interval_s):
                    await self._wake.wait()


def _extended_claim(until: datetime) -> ColumnElement[datetime]:
    """Renew to `until`, unless the claim already reaches further (a flood-wait pause extends it past the TTL)."""
    renewed = literal(until, type_=Archive.claimed_until.type)
    return case((Archive.claimed_until > renewed, Archive.claimed_until), else_=renewed)


def _executing(statement: Executable) -> Callable[[AsyncSession], Awaitable[Result[Any]]]:
    async def work(session: AsyncSession) -> Result[Any]:
        return await session.execute(statement)

    return work
