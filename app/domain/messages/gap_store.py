"""What gap recovery reads from the stored inbox, and the `gap` event it announces (app.domain.messages.gaps)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models import ACCOUNT_BOX_KINDS, Chat, Message, TelegramProfile, UpdateState
from app.db.shielded import ShieldedTransactions
from app.domain.events import services as events
from app.domain.events.types import EventType
from app.domain.messages.reconcile import newest_stored_ids
from app.telegram.records import PeerInfo
from app.telegram.updates import ProfileRef


@dataclass(frozen=True, slots=True)
class StoredRow:
    telegram_id: int
    text: str
    edit_date: datetime | None


@dataclass(frozen=True, slots=True)
class Gap:
    after_id: int
    before_id: int
    unchecked: bool = False  # stored messages whose edits and deletions could not be checked (not missing ones)


@dataclass(frozen=True, slots=True)
class StoredChat:
    ref: PeerInfo
    newest: int


class GapStore:
    """The stored inbox as gap recovery sees it; every read in a short transaction of its own."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        # The one write (announce) ends whole even when its recovery is cancelled at stop; stop() waits for it.
        self.transactions = ShieldedTransactions(sessionmaker)

    async def resumed(self, profile_id: UUID) -> bool:
        """Whether the profile has stored update state (a first connection has nothing to recover)."""
        async with self._sessionmaker() as session:
            count = await session.scalar(
                select(func.count()).select_from(UpdateState).where(UpdateState.profile_id == profile_id)
            )
        return bool(count)

    async def bound_at_and_newest(
        self, profile_id: UUID, peer_ids: list[int]
    ) -> tuple[datetime | None, dict[int, int]]:
        """When the profile was bound (None: deleted meanwhile) and the newest stored id per chat."""
        async with self._sessionmaker() as session:
            bound_at = await session.scalar(select(TelegramProfile.created_at).where(TelegramProfile.id == profile_id))
            stored = await newest_stored_ids(session, profile_id, peer_ids)
        return bound_at, stored

    async def chats(self, profile_id: UUID) -> list[StoredChat]:
        """The profile's private chats and basic groups with stored messages, most recently active first."""
        async with self._sessionmaker() as session:
            rows = await session.execute(
                select(Chat.peer_id, Chat.kind, Chat.title, Chat.username, Chat.access_hash)
                .where(Chat.profile_id == profile_id, Chat.kind.in_(ACCOUNT_BOX_KINDS))
                .order_by(Chat.last_message_at.desc().nulls_last())
            )
            chats = [PeerInfo(*row) for row in rows]
            newest = await newest_stored_ids(session, profile_id, [c.peer_id for c in chats])
        return [StoredChat(ref, newest[ref.peer_id]) for ref in chats if newest.get(ref.peer_id)]

    async def unchecked(self, profile_id: UUID, peer_id: int, oldest: int) -> Gap | None:
        """Stored messages below the window: their edits and deletions could not be checked."""
        async with self._sessionmaker() as session:
            lowest = await session.scalar(
                select(func.min(Message.telegram_message_id))
                .join(Chat, Chat.id == Message.chat_id)
                .where(
                    Chat.profile_id == profile_id,
                    Chat.peer_id == peer_id,
                    Message.telegram_message_id < oldest,
                    Message.is_deleted.is_(False),
                )
            )
        return Gap(int(lowest) - 1, oldest, unchecked=True) if lowest else None

    async def window(self, profile_id: UUID, peer_id: int, low: int, high: int) -> list[StoredRow]:
        """The stored, not deleted messages of the chat with ids in [low, high]."""
        if high <= 0:
            return []
        async with self._sessionmaker() as session:
            rows = await session.execute(
                select(Message.telegram_message_id, Message.text, Message.edit_date)
                .join(Chat, Chat.id == Message.chat_id)
                .where(
                    Chat.profile_id == profile_id,
                    Chat.peer_id == peer_id,
                    Message.telegram_message_id.is_not(None),
                    Message.telegram_message_id >= low,
                    Message.telegram_message_id <= high,
                    Message.is_deleted.is_(False),
                )
            )
            return [StoredRow(int(tid or 0), text or "", edit) for tid, text, edit in rows]

    async def announce(self, profile: ProfileRef, ref: PeerInfo, gap: Gap, recovered: int) -> None:
        """Emit the `gap` event (committed at once: nothing else is written with it)."""

        async def work(session: AsyncSession) -> None:
            chat_id = await session.scalar(
                select(Chat.id).where(Chat.profile_id == profile.profile_id, Chat.peer_id == ref.peer_id)
            )
            await events.emit(
                session,
                user_id=profile.owner_id,
                type=EventType.GAP,
                profile=profile.phone,
                data={
                    "conversation_id": str(chat_id) if chat_id else None,
                    "peer": {"id": ref.peer_id, "kind": ref.kind, "title": ref.title},
                    "after_id": gap.after_id,
                    "before_id": gap.before_id,
                    "recovered": recovered,
                    "unchecked": gap.unchecked,
                    "reason": (
                        "edits and deletions of these stored messages could not be checked (beyond GAP_REFRESH_*)"
                        if gap.unchecked
                        else "more messages were missed than GAP_RECOVERY_LIMIT allows reading"
                    ),
                },
            )

        await self.transactions.run(work)
