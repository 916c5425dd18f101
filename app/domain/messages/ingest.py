"""The live inbox writer: Telegram updates of every connected profile -> bounded queue -> batched transactions.

Telethon handlers (app.telegram.updates) put normalised records into one bounded asyncio queue; when it is
full they wait, which stalls that client's (sequential) update dispatch, so a burst slows intake instead of
growing memory. The writer drains the queue in batches, one transaction per batch: chat and message upserts,
their outbox events, and the update-state checkpoints that travelled behind them. If a batch fails, its records
are retried one per transaction; a record that still fails is logged and its profile's checkpoints are held
back for the life of the process, so the next start replays it from Telegram.

When a profile's connection ends, the runtime waits for `drain` before it releases the lease: a marker queued
behind the client's last records resolves once they are committed, so the next owner's checkpoint covers them.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.domain.messages import bulk_store, store, upgrades
from app.domain.profiles import update_states
from app.lib.logging import log_event
from app.telegram.records import migration_of
from app.telegram.runtime import ProfileRuntime
from app.telegram.runtime_contract import ConnectedProfile, LiveClient, ProfileCredentials
from app.telegram.updates import (
    Checkpoint,
    DeletedMessages,
    EditedMessage,
    FeedRegistry,
    NewMessage,
    ReadReceipt,
    UpdateRecord,
    open_feed,
)

CommitListener = Callable[[list[UpdateRecord], float], None]


@dataclass(frozen=True, slots=True)
class Drained:
    """A marker behind a disconnected client's records: resolved when everything before it is committed."""

    done: asyncio.Future[None]


QueueItem = UpdateRecord | Drained


class MessageIngest:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        runtime: ProfileRuntime,
        *,
        queue_size: int = 10_000,
        batch_size: int = 200,
        checkpoint_interval_s: float = 0.25,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._runtime = runtime
        self.queue: asyncio.Queue[QueueItem] = asyncio.Queue(maxsize=queue_size)
        self._batch_size = batch_size
        self._checkpoint_interval_s = checkpoint_interval_s
        self._feeds = FeedRegistry()
        self._held_back: set[UUID] = set()
        self._writer: asyncio.Task[None] | None = None
        self.listeners: list[CommitListener] = []  # (records, loop time of commit), e.g. for benchmarks
        self.committed = 0

    def attach(self) -> None:
        """Register with the runtime: every (re)connecting client gets the handlers and its stored state."""
        self._runtime.prepare_hooks.append(self._prepare)
        self._runtime.hooks.append(self._connected)
        self._runtime.release_hooks.append(self.drain)

    async def start(self) -> None:
        self.attach()
        self._writer = asyncio.create_task(self._write_loop(), name="message-ingest")
        self._feeds.start(self._checkpoint_interval_s)

    async def stop(self) -> None:
        """Stop taking checkpoints and write what is queued (call after the runtime stopped its clients)."""
        self._feeds.stop_all()
        with contextlib.suppress(ValueError):
            self._runtime.prepare_hooks.remove(self._prepare)
        with contextlib.suppress(ValueError):
            self._runtime.hooks.remove(self._connected)
        with contextlib.suppress(ValueError):
            self._runtime.release_hooks.remove(self.drain)
        if self._writer is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.queue.join(), timeout=10)
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer
        self._writer = None

    # -- runtime hooks -----------------------------------------------------------------------------------------

    async def _prepare(self, credentials: ProfileCredentials, client: LiveClient) -> None:
        async with self._sessionmaker() as session:
            states = await update_states.load_states(session, credentials.profile_id)
        self._feeds.replace(open_feed(credentials, client, states, self.queue.put))

    async def _connected(self, connected: ConnectedProfile) -> None:
        feed = self._feeds.feeds.get(connected.credentials.profile_id)
        if feed is not None and feed.client is connected.client:
            feed.start_checkpoints()

    async def drain(self, profile_id: UUID) -> None:
        """Return once everything queued so far (the disconnected client of `profile_id` among it) is committed."""
        feed = self._feeds.feeds.get(profile_id)
        if feed is not None:
            feed.stop()
        if self._writer is None or self._writer.done():
            return
        marker = Drained(asyncio.get_running_loop().create_future())
        await self.queue.put(marker)
        await asyncio.shield(marker.done)

    # -- writer ------------------------------------------------------------------------------------------------

    async def _write_loop(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while len(batch) < self._batch_size:
                try:
                    batch.append(self.queue.get_nowait())
                except asyncio.QueueEmpty:
                    break
            records = [item for item in batch if not isinstance(item, Drained)]
            try:
                if records:
                    await self._write(records)
            finally:
                for item in batch:
                    if isinstance(item, Drained) and not item.done.done():
                        item.done.set_result(None)
                    self.queue.task_done()

    async def _write(self, batch: list[UpdateRecord]) -> None:
        try:
            async with self._sessionmaker.begin() as session:
                cache: store.ChatCache = {}
                run: list[NewMessage] = []
                # The batch commits at once, so a checkpoint may be saved at its end (the newest per profile
                # wins); consecutive new messages are written together; everything else keeps its order.
                checkpoints: dict[UUID, Checkpoint] = {}
                for record in batch:
                    if isinstance(record, Checkpoint):
                        checkpoints[record.profile.profile_id] = record
                        continue
                    if isinstance(record, NewMessage) and migration_of(record.chat, record.message) is None:
                        run.append(record)
                        continue
                    if run:
                        await bulk_store.record_new_many(session, run)
                        run, cache = [], {}
                    await self._apply(session, record, cache)
                if run:
                    await bulk_store.record_new_many(session, run)
                await update_states.save_states(
                    session,
                    {pid: cp.states for pid, cp in checkpoints.items() if pid not in self._held_back},
                )
            self._committed(batch)
            return
        except Exception as exc:
            log_event("warning", "messages.ingest", "ingest.batch_failed", f"batch of {len(batch)} failed: {exc!r}")
        for record in batch:  # isolate the record that fails
            try:
                async with self._sessionmaker.begin() as session:
                    await self._apply(session, record, {})
                self._committed([record])
            except Exception as exc:
                if not isinstance(record, Checkpoint):  # a later checkpoint would skip what failed
                    self._held_back.add(record.profile.profile_id)
                log_event(
                    "error",
                    "messages.ingest",
                    "ingest.record_failed",
                    f"could not store a {type(record).__name__}: {exc!r}; replayed after restart",
                    user_id=record.profile.owner_id,
                    profile_id=record.profile.profile_id,
                )

    def _committed(self, records: list[UpdateRecord]) -> None:
        self.committed += len(records)
        if self.listeners:
            now = time.monotonic()
            for listener in self.listeners:
                listener(records, now)

    async def _apply(self, session: AsyncSession, record: UpdateRecord, cache: store.ChatCache) -> None:
        if isinstance(record, NewMessage):
            await store.record_new(session, record, cache)
            upgrade = migration_of(record.chat, record.message)
            if upgrade is not None:  # a basic group became a supergroup: one conversation (see `upgrades`)
                await upgrades.link(session, record.profile, *upgrade)
                cache.clear()
        elif isinstance(record, EditedMessage):
            await store.record_edit(session, record, cache)
        elif isinstance(record, DeletedMessages):
            await store.record_deleted(session, record)
        elif isinstance(record, ReadReceipt):
            await store.record_read(session, record)
        elif isinstance(record, Checkpoint) and record.profile.profile_id not in self._held_back:
            await update_states.save_states(session, {record.profile.profile_id: record.states})


def build_ingest(
    sessionmaker: async_sessionmaker[AsyncSession], runtime: ProfileRuntime, settings: Settings
) -> MessageIngest:
    return MessageIngest(
        sessionmaker,
        runtime,
        queue_size=settings.ingest_queue_size,
        batch_size=settings.ingest_batch_size,
        checkpoint_interval_s=settings.ingest_checkpoint_interval_s,
    )


@contextlib.asynccontextmanager
async def running_ingest(ingest: MessageIngest | None) -> AsyncIterator[None]:
    """Run the writer around the Telegram runtime: enter before it starts, leave after it stopped."""
    if ingest is None:
        yield
        return
    await ingest.start()
    try:
        yield
    finally:
        await ingest.stop()
