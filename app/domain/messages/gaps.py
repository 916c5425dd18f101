"""Gap recovery: what Telegram will not replay is read from history, and what history cannot fill is announced.

Triggers: a `TooLong` answer (app.telegram.gaps) for one channel or supergroup, or for the account; and every
reconnect of a profile that has stored update state (the service was down, or the connection dropped). Per chat,
the newest `GAP_RECOVERY_LIMIT` messages are read: those above the newest stored id are stored, and the stored
messages inside that window are refreshed (an edited text is stored as an edit, an id history no longer has is
marked deleted). Everything goes through the ingest queue, whose idempotent upserts make a message that the live
feed delivers too land once. When more messages are missing than the limit lets us read, the rest is lost
to the service: a `gap` event names the chat and the bounds (`after_id` < missing ids < `before_id`).

When the account's own difference is too long (`differenceTooLong`, also after `updatesTooLong`), Telegram
replays no edit or deletion either, and those of a chat that got no new message leave no trace in the dialog
list. So that pass also re-reads the newest `GAP_REFRESH_MESSAGES` of each stored private chat and basic group
(the `GAP_REFRESH_CHATS` most recently active), refreshing edits and deletions the same way; a `gap` event
(`unchecked: true`) names the stored ids beyond that window, and every chat beyond the chat bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.domain.messages.gap_store import Gap, GapStore, StoredRow
from app.domain.messages.ingest import MessageIngest
from app.domain.messages.reconcile import IN_FLIGHT_S
from app.lib.logging import log_event
from app.telegram.gap_reads import ChatWindow, GapReader, listen_for_gaps
from app.telegram.gaps import GapNotice
from app.telegram.history import FloodWait
from app.telegram.records import SERVICE, MessageInfo, PeerInfo
from app.telegram.runtime import ProfileRuntime
from app.telegram.runtime_contract import ConnectedProfile
from app.telegram.updates import DeletedMessages, EditedMessage, NewMessage, ProfileRef, UpdateRecord

log = logging.getLogger(__name__)
ACCOUNT = 0  # the scope of account-level recovery (channels are scoped by their bare id)


class GapRecovery:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        runtime: ProfileRuntime,
        ingest: MessageIngest,
        settings: Settings,
    ) -> None:
        self._store = GapStore(sessionmaker)
        self._runtime = runtime
        self._ingest = ingest
        self._limit = settings.gap_recovery_limit
        self._dialogs = settings.reconcile_dialogs
        self._refresh_chats = settings.gap_refresh_chats
        self._refresh_messages = settings.gap_refresh_messages
        self._tasks: dict[tuple[UUID, int], asyncio.Task[None]] = {}
        self._again: set[tuple[UUID, int]] = set()
        self._full: set[tuple[UUID, int]] = set()  # the account pass must refresh quiet chats too (TooLong)
        self._announced: dict[tuple[UUID, int, Gap], None] = {}  # insertion-ordered, bounded
        self.recovered = 0
        self.gaps = 0

    def attach(self) -> None:
        self._runtime.hooks.append(self._connected)

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            self._runtime.hooks.remove(self._connected)
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._store.transactions.wait()

    async def _connected(self, connected: ConnectedProfile) -> None:
        listen_for_gaps(connected.client, functools.partial(self._noticed, connected))
        if await self._store.resumed(connected.credentials.profile_id):  # a first connection has nothing to recover
            self.schedule(connected, ACCOUNT)

    def _noticed(self, connected: ConnectedProfile, notice: GapNotice) -> None:
        self.schedule(connected, notice.channel_id or ACCOUNT, refresh_quiet=notice.channel_id is None)

    def schedule(self, connected: ConnectedProfile, scope: int, *, refresh_quiet: bool = False) -> None:
        """Recover `scope` (a bare channel id, or ACCOUNT) soon; once more afterwards if it is running now.

        `refresh_quiet`: the account difference was too long, so quiet chats are re-read as well.
        """
        key = (connected.credentials.profile_id, scope)
        if refresh_quiet:
            self._full.add(key)
        running = self._tasks.get(key)
        if running is not None and not running.done():
            self._again.add(key)
            return
        task = asyncio.create_task(self._run(connected, scope), name=f"gap-recovery-{key[0]}-{scope}")
        self._tasks[key] = task
        task.add_done_callback(lambda done: self._tasks.pop(key, None) if self._tasks.get(key) is done else None)

    async def _run(self, connected: ConnectedProfile, scope: int) -> None:
        key = (connected.credentials.profile_id, scope)
        while True:
            self._again.discard(key)
            full = key in self._full
            self._full.discard(key)
            try:
                await self.recover(connected, scope, refresh_quiet=full)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a disconnect or flood wait: the next reconnect recovers again
                log_event(
                    "warning",
                    "messages.gaps",
                    "gap.recovery_failed",
                    f"gap recovery failed: {exc!r}",
                    user_id=connected.credentials.owner_id,
                    profile_id=connected.credentials.profile_id,
                )
            if key not in self._again or not GapReader(connected.client).connected():
                return

    async def recover(self, connected: ConnectedProfile, scope: int, *, refresh_quiet: bool = False) -> None:
        credentials, reader = connected.credentials, GapReader(connected.client)
        profile = ProfileRef(credentials.profile_id, credentials.owner_id, credentials.phone)
        if scope == ACCOUNT:
            targets = await reader.dialogs(self._dialogs)
        else:
            targets = [await reader.channel(scope)]
        bound_at, stored = await self._store.bound_at_and_newest(
            profile.profile_id, [target.ref.peer_id for target in targets]
        )
        if bound_at is None:
            return  # deleted meanwhile
        read: set[int] = set()
        for target in targets:
            newest = stored.get(target.ref.peer_id, 0)
            if target.top is not None and target.top == newest:
                continue  # the account-wide pass reads only chats whose newest message changed
            await self._recover_chat(
                reader, profile, target, newest, bound_at - timedelta(seconds=1), report_unchecked=refresh_quiet
            )
            read.add(target.ref.peer_id)
        if scope == ACCOUNT and refresh_quiet:
            await self._refresh_quiet_chats(reader, profile, read, bound_at - timedelta(seconds=1))

    async def _refresh_quiet_chats(
        self, reader: GapReader, profile: ProfileRef, read: set[int], bound_at: datetime
    ) -> None:
        """Re-read the newest window of each stored private chat and basic group the dialog pass did not read.

        Bounded: at most `GAP_REFRESH_CHATS` chats (most recently active first), one window each; a flood wait
        is waited out as archive reads do. Chats beyond the bound are announced as unchecked.
        """
        chats = [c for c in await self._store.chats(profile.profile_id) if c.ref.peer_id not in read]
        for position, chat in enumerate(chats):
            if position >= self._refresh_chats:
                await self._announce(profile, chat.ref, Gap(0, chat.newest + 1, unchecked=True), 0)
                continue
            target = await reader.stored_chat(chat.ref)
            while True:
                try:
                    await self._recover_chat(
                        reader,
                        profile,
                        target,
                        chat.newest,
                        bound_at,
                        limit=self._refresh_messages,
                        report_unchecked=True,
                    )
                    break
                except FloodWait as wait:
                    await asyncio.sleep(wait.seconds)

    async def _recover_chat(
        self,
        reader: GapReader,
        profile: ProfileRef,
        target: ChatWindow,
        newest: int,
        bound_at: datetime,
        *,
        limit: int | None = None,
        report_unchecked: bool = False,
    ) -> None:
        limit = limit or self._limit
        ref = target.ref
        window = await reader.window(target, limit)
        complete = len(window) < limit  # the whole history fits in the window
        oldest = min((m.id for m in window), default=0)
        young = datetime.now(UTC) - timedelta(seconds=IN_FLIGHT_S)
        records: list[UpdateRecord] = []
        now = asyncio.get_running_loop().time()
        fresh = sorted(
            (m for m in window if m.id > newest and m.date >= bound_at and not (m.out and m.date > young)),
            key=lambda m: m.id,
        )
        records.extend(NewMessage(profile, ref, m, now) for m in fresh)
        stored = await self._store.window(profile.profile_id, ref.peer_id, 0 if complete else oldest, newest)
        present = {m.id: m for m in window}
        gone = sorted(row.telegram_id for row in stored if row.telegram_id not in present)
        for row in stored:
            message = present.get(row.telegram_id)
            if message is not None and message.media_type != SERVICE and _edited(row, message):
                records.append(EditedMessage(profile, ref, message, now))
        if gone:
            channel = ref.peer_id if str(ref.peer_id).startswith("-100") else None
            records.append(DeletedMessages(profile, channel, tuple(gone), now))
        for record in records:
            await self._ingest.queue.put(record)
        self.recovered += len(fresh)
        gap = await self._unread_gap(reader, target, newest, oldest, complete)
        if gap is None and report_unchecked and not complete:
            gap = await self._store.unchecked(profile.profile_id, ref.peer_id, oldest)
        if fresh or gap:
            log_event(
                "warning" if gap else "info",
                "messages.gaps",
                "gap.recovered",
                f"{len(fresh)} messages Telegram did not replay were read from history"
                + (f"; ids {gap.after_id}..{gap.before_id} (exclusive) are beyond the window" if gap else ""),
                user_id=profile.owner_id,
                profile_id=profile.profile_id,
                context={
                    "peer_id": ref.peer_id,
                    "recovered": len(fresh),
                    "edited_or_deleted": len(records) - len(fresh),
                },
            )
        if gap is not None:
            await self._announce(profile, ref, gap, len(fresh))

    async def _unread_gap(
        self, reader: GapReader, target: ChatWindow, newest: int, oldest: int, complete: bool
    ) -> Gap | None:
        """The ids between the stored newest and the window that the limit left unread, if any message is there."""
        if complete or newest == 0 or oldest <= newest + 1:
            return None
        beyond = await reader.any_between(target, above=newest, below=oldest)
        return Gap(newest, oldest) if beyond else None

    async def _announce(self, profile: ProfileRef, ref: PeerInfo, gap: Gap, recovered: int) -> None:
        # Two passes over one chat at once (the reconnect's account pass and a TooLong notice of the channel)
        # find the same gap: it is announced once.
        key = (profile.profile_id, ref.peer_id, gap)
        if key in self._announced:
            return
        self._announced[key] = None
        while len(self._announced) > 10_000:
            del self._announced[next(iter(self._announced))]
        self.gaps += 1
        await self._store.announce(profile, ref, gap, recovered)


def _edited(row: StoredRow, message: MessageInfo) -> bool:
    if message.text != row.text:
        return True
    if message.edit_date is None:
        return False
    stored = row.edit_date if row.edit_date is None or row.edit_date.tzinfo else row.edit_date.replace(tzinfo=UTC)
    return stored is None or abs((message.edit_date - stored).total_seconds()) >= 1
