"""Messaging rules: which profile may act, sending with idempotency and pending -> sent|failed rows.

A send writes its rows in units of work of its own (not the request's transaction): the pending row must
exist before Telegram is called, and a failed row must survive the 4xx answer that rolls the request back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models import Chat, Message, MessageStatus, TelegramProfile
from app.domain.events import services as events
from app.domain.events.types import EventType
from app.domain.messages import store
from app.domain.messages.schemas import MAX_TEXT, SendResult, StoredMessage
from app.domain.profiles import services as profiles
from app.lib.errors import AppError, Conflict, ValidationFailed
from app.lib.logging import log_event
from app.telegram.commands import PeerInfo, ProfileCommands
from app.telegram.updates import ChatRef, ProfileRef


@dataclass(frozen=True, slots=True)
class Outgoing:
    text: str
    reply_to: int | None = None
    silent: bool = False
    idempotency_key: str | None = None


def require_live(profile: TelegramProfile) -> None:
    """Only an active profile can act on Telegram (409 otherwise)."""
    if not profile.is_active or profile.status not in profiles.LIVE_STATUSES:
        raise Conflict(f"the profile is {profile.status}, not active", code="profile_not_active")


def validate_text(text: str) -> str:
    if not text.strip():
        raise ValidationFailed("text must not be empty", code="validation_error", details=[{"field": "text"}])
    if len(text) > MAX_TEXT:
        raise ValidationFailed(f"text is longer than {MAX_TEXT} characters", details=[{"field": "text"}])
    return text


def validate_idempotency_key(key: str | None) -> str | None:
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > 255:
        raise ValidationFailed("Idempotency-Key must be 1 to 255 characters", details=[{"field": "Idempotency-Key"}])
    return key


def stored(message: Message, previous: list[str] | None = None) -> StoredMessage:
    return StoredMessage(
        id=message.id,
        conversation_id=message.chat_id,
        telegram_message_id=message.telegram_message_id,
        direction=message.direction,
        status=message.status,
        text=message.text,
        date=message.date,
        sender_id=message.sender_id,
        sender_name=message.sender_name,
        media_type=message.media_type,
        media=message.media,
        edit_date=message.edit_date,
        is_deleted=message.is_deleted,
        deleted_at=message.deleted_at,
        error=message.error,
        reply_to=message.reply_to,
        previous_texts=previous,
    )


def peer_of(chat: Chat) -> PeerInfo:
    return PeerInfo(chat.peer_id, chat.kind, chat.title, chat.username, chat.access_hash)


class Sender:
    """Sends as a profile: pending row, paced Telegram call, then sent or failed with the error."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], commands: ProfileCommands) -> None:
        self._sessionmaker = sessionmaker
        self._commands = commands

    async def send(self, profile: TelegramProfile, peer: PeerInfo, outgoing: Outgoing) -> tuple[SendResult, bool]:
        """Send `outgoing` to `peer`; returns the result and whether it is the replay of an earlier request."""
        ref = ProfileRef(profile.id, profile.owner_id, profile.phone)
        chat_id, message_id, replay = await self._claim(ref, peer, outgoing)
        if replay is not None:
            return replay, True
        try:
            sent = await self._commands.send_message(
                profile.id, peer, outgoing.text, reply_to=outgoing.reply_to, silent=outgoing.silent
            )
        except AppError as exc:
            await self._fail(ref, message_id, exc)
            raise
        except Exception as exc:
            await self._fail(ref, message_id, exc)
            raise
        async with self._sessionmaker.begin() as session:
            row = await session.get_one(Message, message_id)
            chat = await session.get_one(Chat, chat_id)
            await store.forget_duplicate(session, chat_id, sent.message.id, keep=row.id)
            row.telegram_message_id, row.status, row.error = sent.message.id, MessageStatus.SENT.value, None
            row.date = sent.message.date
            if chat.last_message_at is None or chat.last_message_at < row.date:
                chat.last_message_at = row.date
            await session.flush()
            await events.emit(
                session,
                user_id=ref.owner_id,
                type=EventType.MESSAGE_SENT,
                profile=ref.phone,
                data=store.message_event(chat, row, origin="api"),
            )
            result = SendResult(status=row.status, conversation_id=chat.id, peer=peer_of(chat), message=stored(row))
        log_event(
            "info",
            "messages",
            "message.sent",
            "message sent",
            user_id=ref.owner_id,
            profile_id=ref.profile_id,
            context={"conversation_id": str(chat_id), "telegram_message_id": sent.message.id},
        )
        return result, False

    async def _claim(self, ref: ProfileRef, peer: PeerInfo, outgoing: Outgoing) -> tuple[UUID, UUID, SendResult | None]:
        """Create the pending row, or find the row of an earlier request with the same Idempotency-Key."""
        chat_ref = ChatRef(peer.peer_id, peer.kind, peer.title, peer.username, peer.access_hash)
        try:
            async with self._sessionmaker.begin() as session:
                chat = await store.upsert_chat(session, ref, chat_ref)
                await session.flush()
                row = None
                if outgoing.idempotency_key is not None:
                    row = await session.scalar(
                        select(Message).where(
                            Message.chat_id == chat.id, Message.idempotency_key == outgoing.idempotency_key
                        )
                    )
                if row is not None:
                    if row.status == MessageStatus.SENT.value:
                        result = SendResult(row.status, chat.id, peer_of(chat), stored(row))
                        return chat.id, row.id, result
                    if row.status == MessageStatus.PENDING.value:
                        raise Conflict("a send with this Idempotency-Key is in progress", code="send_in_progress")
                    row.status, row.error, row.text = MessageStatus.PENDING.value, None, outgoing.text
                else:
                    row = Message(
                        chat_id=chat.id,
                        direction="out",
                        sender_id=None,
                        text=outgoing.text,
                        date=datetime.now(UTC),
                        is_deleted=False,
                        status=MessageStatus.PENDING.value,
                        reply_to=outgoing.reply_to,
                        idempotency_key=outgoing.idempotency_key,
                    )
                    session.add(row)
                if chat.last_message_at is None or chat.last_message_at < row.date:
                    chat.last_message_at = row.date  # pending and failed sends show in the inbox too
                await session.flush()
                return chat.id, row.id, None
        except IntegrityError:
            raise Conflict("a send with this Idempotency-Key is in progress", code="send_in_progress") from None

    async def _fail(self, ref: ProfileRef, message_id: UUID, exc: Exception) -> None:
        code = exc.error_code if isinstance(exc, AppError) else type(exc).__name__
        async with self._sessionmaker.begin() as session:
            row = await session.get_one(Message, message_id)
            chat = await session.get_one(Chat, row.chat_id)
            row.status, row.error = MessageStatus.FAILED.value, str(code)[:255]
            await session.flush()
            await events.emit(
                session,
                user_id=ref.owner_id,
                type=EventType.MESSAGE_FAILED,
                profile=ref.phone,
                data=store.message_event(chat, row, error=row.error),
            )
        log_event(
            "warning",
            "messages",
            "message.failed",
            f"message could not be sent: {code}",
            user_id=ref.owner_id,
            profile_id=ref.profile_id,
            context={"error": str(code)},
        )


async def mark_read(session: AsyncSession, profile_id: UUID, peer_id: int) -> None:
    """Our read through the API: the stored conversation has nothing unread any more."""
    chat = await session.scalar(select(Chat).where(Chat.profile_id == profile_id, Chat.peer_id == peer_id))
    if chat is not None:
        chat.unread_count = 0
