"""Telethon update handlers: normalise new/edited/deleted/read messages into plain records for the ingest queue.

The feed also takes update-state checkpoints. A checkpoint is a snapshot of the client's MessageBox taken when
every update it covers has already been handed to the queue (no handler of ours is running and no dispatch
task is pending); it travels through the same FIFO queue, so the writer stores it only after the messages
before it are committed. Clients start from the last stored checkpoint with `catch_up=True`, so Telegram's
getDifference returns what arrived while the service was down. Reading and seeding the state itself is
app.telegram.checkpoints.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from telethon import TelegramClient, events, types, utils

from app.telegram import checkpoints, internals
from app.telegram.checkpoints import StoredState
from app.telegram.records import MessageInfo, PeerInfo, message_info, peer_info
from app.telegram.runtime_contract import ProfileCredentials

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ProfileRef:
    profile_id: UUID
    owner_id: UUID
    phone: str


@dataclass(frozen=True, slots=True)
class NewMessage:
    profile: ProfileRef
    chat: PeerInfo
    message: MessageInfo
    received_at: float  # loop time at receipt, for latency figures


@dataclass(frozen=True, slots=True)
class EditedMessage:
    profile: ProfileRef
    chat: PeerInfo
    message: MessageInfo
    received_at: float


@dataclass(frozen=True, slots=True)
class DeletedMessages:
    profile: ProfileRef
    channel_peer_id: int | None  # None: private chats and basic groups (ids are unique per account)
    ids: tuple[int, ...]
    received_at: float


@dataclass(frozen=True, slots=True)
class ReadReceipt:
    profile: ProfileRef
    peer_id: int
    max_id: int
    outbox: bool  # True: the peer read our messages; False: we read theirs (on another device)
    still_unread: int | None
    received_at: float


@dataclass(frozen=True, slots=True)
class Checkpoint:
    profile: ProfileRef
    states: tuple[StoredState, ...]
    received_at: float


UpdateRecord = NewMessage | EditedMessage | DeletedMessages | ReadReceipt | Checkpoint
Sink = Callable[[UpdateRecord], Awaitable[None]]


class UpdateFeed:
    """Registers the message handlers on one profile's client and feeds `sink` (a bounded queue's `put`)."""

    def __init__(self, credentials: ProfileCredentials, client: TelegramClient, sink: Sink) -> None:
        self.profile = ProfileRef(credentials.profile_id, credentials.owner_id, credentials.phone)
        self.client = client
        self._sink = sink
        self._inflight = 0
        self._last: tuple[StoredState, ...] = ()
        self.checkpointing = False  # connected and handed to the registry's checkpoint ticker
        self.due = False  # an update was handled (or the client connected) since the last snapshot

    def install(self) -> None:
        """Add the handlers; call before `connect()` so nothing fetched by the catch-up is missed."""
        self.client.add_event_handler(self._on_new, events.NewMessage())
        # events.NewMessage leaves service messages out (a join, a pin, a title change, an upgrade...).
        self.client.add_event_handler(
            self._on_service, events.Raw(types=[types.UpdateNewMessage, types.UpdateNewChannelMessage])
        )
        self.client.add_event_handler(self._on_edit, events.MessageEdited())
        self.client.add_event_handler(self._on_delete, events.MessageDeleted())
        self.client.add_event_handler(
            self._on_read,
            events.Raw(
                types=[types.UpdateReadHistoryInbox, types.UpdateReadHistoryOutbox, types.UpdateReadChannelInbox]
            ),
        )

    def start_checkpoints(self) -> None:
        """Connected: the registry's ticker takes checkpoints from now on (the first one at its next tick)."""
        self.checkpointing = True
        self.due = True  # the catch-up at connect may have moved the state without a handler running

    def stop(self) -> None:
        self.checkpointing = False

    # -- handlers ----------------------------------------------------------------------------------------------

    async def _guarded(self, work: Callable[[], Awaitable[UpdateRecord | None]]) -> None:
        self._inflight += 1
        try:
            record = await work()
            if record is not None:
                await self._sink(record)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("could not ingest an update of profile %s", self.profile.profile_id)
        finally:
            self._inflight -= 1
            self.due = True

    async def _chat_of(self, event: Any) -> PeerInfo:
        chat = event.message.chat if event.message is not None else None
        if chat is None:
            with contextlib.suppress(Exception):
                chat = await event.get_chat()
        return peer_info(chat, event.chat_id)

    async def _on_new(self, event: events.NewMessage.Event) -> None:
        async def work() -> UpdateRecord:
            now = asyncio.get_running_loop().time()
            return NewMessage(self.profile, await self._chat_of(event), message_info(event.message), now)

        await self._guarded(work)

    async def _on_service(self, update: Any) -> None:
        message = update.message
        if not isinstance(message, types.MessageService):
            return

        async def work() -> UpdateRecord:
            now = asyncio.get_running_loop().time()
            internals.finish_message(self.client, message, update)
            entity = message.chat
            if entity is None:  # not in this update's entities: the session's cache (as `_chat_of`), else a guess
                with contextlib.suppress(Exception):
                    entity = await message.get_chat()
            chat = peer_info(entity, message.chat_id)
            return NewMessage(self.profile, chat, message_info(message), now)

        await self._guarded(work)

    async def _on_edit(self, event: events.MessageEdited.Event) -> None:
        async def work() -> UpdateRecord:
            now = asyncio.get_running_loop().time()
            return EditedMessage(self.profile, await self._chat_of(event), message_info(event.message), now)

        await self._guarded(work)

    async def _on_delete(self, event: events.MessageDeleted.Event) -> None:
        async def work() -> UpdateRecord:
            now = asyncio.get_running_loop().time()
            return DeletedMessages(self.profile, event.chat_id, tuple(event.deleted_ids), now)

        await self._guarded(work)

    async def _on_read(self, update: Any) -> None:
        async def work() -> UpdateRecord:
            now = asyncio.get_running_loop().time()
            if isinstance(update, types.UpdateReadChannelInbox):
                peer_id = utils.get_peer_id(types.PeerChannel(update.channel_id))
                return ReadReceipt(self.profile, peer_id, update.max_id, False, update.still_unread_count, now)
            outbox = isinstance(update, types.UpdateReadHistoryOutbox)
            unread = None if outbox else update.still_unread_count
            return ReadReceipt(self.profile, utils.get_peer_id(update.peer), update.max_id, outbox, unread, now)

        await self._guarded(work)

    # -- checkpoints -------------------------------------------------------------------------------------------

    def snapshot(self) -> tuple[StoredState, ...] | None:
        """The MessageBox state, or None while an update it covers may not have reached the sink yet."""
        if self._inflight:
            return None
        return checkpoints.snapshot(self.client)

    async def checkpoint(self) -> None:
        """Queue a checkpoint if the state moved since the last one and every update it covers is queued."""
        if not self.checkpointing:
            return
        if not self.client.is_connected():
            self.checkpointing = False
            return
        states = self.snapshot()
        if states is None:
            return  # a handler is running: still due, the next tick looks again
        self.due = False
        if states == self._last:
            return
        self._last = states
        await self._sink(Checkpoint(self.profile, states, asyncio.get_running_loop().time()))


def open_feed(
    credentials: ProfileCredentials, client: TelegramClient, states: list[StoredState], sink: Sink
) -> UpdateFeed:
    """A not yet connected client resumed from `states`, its handlers feeding `sink`."""
    checkpoints.resume(client, states)
    feed = UpdateFeed(credentials, client, sink)
    feed.install()
    return feed


@dataclass
class FeedRegistry:
    """The live feeds of this process, one per connected profile, and the one ticker that checkpoints them all.

    Every `interval_s` the ticker asks the feeds that handled an update (or connected) since their last
    snapshot for a checkpoint; every `sweep_s` it asks all of them, for state that moved without a handler of
    ours running (updates we do not store, Telegram's periodic getDifference). An idle profile costs one
    snapshot per sweep and no task or wake-up of its own.
    """

    feeds: dict[UUID, UpdateFeed] = field(default_factory=dict)
    _ticker: asyncio.Task[None] | None = None

    def start(self, interval_s: float, sweep_s: float = 60.0) -> None:
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.create_task(self._tick(interval_s, sweep_s), name="update-checkpoints")

    async def _tick(self, interval_s: float, sweep_s: float) -> None:
        loop = asyncio.get_running_loop()
        next_sweep = loop.time() + sweep_s
        while True:
            await asyncio.sleep(interval_s)
            sweep = loop.time() >= next_sweep
            if sweep:
                next_sweep = loop.time() + sweep_s
            for feed in list(self.feeds.values()):
                if feed.checkpointing and (feed.due or sweep):
                    try:
                        await feed.checkpoint()
                    except Exception:
                        log.exception("could not checkpoint profile %s", feed.profile.profile_id)

    def replace(self, feed: UpdateFeed) -> None:
        old = self.feeds.pop(feed.profile.profile_id, None)
        if old is not None:
            old.stop()
        self.feeds[feed.profile.profile_id] = feed

    def stop_all(self) -> None:
        for feed in self.feeds.values():
            feed.stop()
        self.feeds.clear()
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
