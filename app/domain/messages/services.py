"""Sending: with idempotency and pending -> sent|failed rows (`Sender`), and marking a conversation read.

What a send must satisfy first: app.domain.messages.send_rules; how failed and interrupted sends are recorded:
app.domain.messages.send_outcomes. A send writes its rows in units of work of its own (not the request's
transaction): the pending row must exist before Telegram is called, and a failed row must survive the 4xx answer
that rolls the request back.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models import Chat, Message, MessageStatus, TelegramProfile
from app.domain.events import services as events
from app.domain.events.types import EventType
from app.domain.messages import store
from app.domain.messages.schemas import SendResult
from app.domain.messages.send_outcomes import (
    INTERRUPTED,
    SEND_RATE_LIMITED,
    mark_failed,
    take_over,
)
from app.domain.messages.send_rules import Outgoing, peer_of, stored
from app.domain.profiles import budgets, limits
from app.lib.errors import AppError, Conflict, ServiceUnavailable
from app.lib.logging import log_event
from app.telegram.commands import ProfileCommands
from app.telegram.errors import NO_ANSWER
from app.telegram.records import MessageInfo, PeerInfo
from app.telegram.updates import ProfileRef

RECENT_CHECKED = 20  # messages read back when checking whether an interrupted send went through
RECORD_RETRY_DELAYS_S = (0.2, 0.5, 1.0, 2.0, 4.0)


@dataclass(frozen=True, slots=True)
class _Claim:
    chat_id: UUID
    message_id: UUID
    replay: SendResult | None = None
    since: datetime | None = None  # set when an earlier attempt may have been delivered: look before resending
    refused_under_limit: bool = False  # the earlier attempt was refused with PEER_FLOOD
    new_chat: bool = False  # the send spent the profile's new-chats budget


class Sender:
    """Sends as a profile: pending row, paced Telegram call, then sent or failed with the error."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        commands: ProfileCommands,
        stale_after: timedelta,
        writes: contextlib.AbstractAsyncContextManager[object] | None = None,
        budget: budgets.BudgetPolicy | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._commands = commands
        self._stale_after = stale_after
        self._budget = budget or budgets.BudgetPolicy()
        # On SQLite (one writer at a time) sends take turns here, holding no pooled connection while they wait
        # for the file's write lock (one lock per process, shared by every request).
        self._writes = writes or contextlib.nullcontext()

    async def send(self, profile: TelegramProfile, peer: PeerInfo, outgoing: Outgoing) -> tuple[SendResult, bool]:
        """Send `outgoing` to `peer`; returns the result and whether it is the replay of an earlier request."""
        ref = ProfileRef(profile.id, profile.owner_id, profile.phone)
        claim = await self._claim(ref, peer, outgoing)
        if claim.replay is not None:
            return claim.replay, True
        if claim.since is not None:
            delivered = await self._delivered(ref, claim, peer, outgoing.text)
            if delivered is not None:
                return await self._record_sent(ref, claim, delivered), True
        try:
            sent = await self._commands.send_message(
                profile.id,
                peer,
                outgoing.text,
                reply_to=outgoing.reply_to,
                silent=outgoing.silent,
                entities=outgoing.entities,
            )
        except asyncio.CancelledError:
            # Cancelled mid-way (shutdown, lost worker): whether Telegram got it is unknown; a retry checks first.
            await asyncio.shield(self._fail(ref, claim.message_id, INTERRUPTED))
            raise
        except AppError as exc:
            # Telegram left the send unanswered: it may have arrived, so a retry looks in the chat first.
            code = INTERRUPTED if exc.error_code == NO_ANSWER else exc.error_code
            await self._fail(ref, claim.message_id, code, new_chat=claim.new_chat)
            raise
        except Exception as exc:
            await self._fail(ref, claim.message_id, type(exc).__name__)
            raise
        # Telegram has the message: the row must say so even if the request is cancelled meanwhile.
        return await asyncio.shield(self._record_delivered(ref, claim, sent.message)), False

    async def _record_delivered(self, ref: ProfileRef, claim: _Claim, message: MessageInfo) -> SendResult:
        """`_record_sent`, retried while the database is busy (a delivered send never ends as failed)."""
        for delay in RECORD_RETRY_DELAYS_S:
            try:
                return await self._record_sent(ref, claim, message)
            except (PoolTimeout, OperationalError) as exc:
                log_event(
                    "warning",
                    "messages",
                    "message.record_retry",
                    f"recording a delivered message failed ({type(exc).__name__}); retrying",
                    user_id=ref.owner_id,
                    profile_id=ref.profile_id,
                )
                await asyncio.sleep(delay)
        # Still pending: the ingest adopts the row as sent when Telegram's update for the message arrives.
        return await self._record_sent(ref, claim, message)

    async def _record_sent(self, ref: ProfileRef, claim: _Claim, message: MessageInfo) -> SendResult:
        async with self._writes, self._sessionmaker.begin() as session:
            row = await session.get_one(Message, claim.message_id)
            chat = await session.get_one(Chat, claim.chat_id)
            await store.forget_duplicate(session, claim.chat_id, message.id, keep=row.id)
            row.telegram_message_id, row.status, row.error = message.id, MessageStatus.SENT.value, None
            row.date = message.date
            if row.sender_id is None:  # in a group every message names its sender, ours too
                row.sender_id, row.sender_name = await store.own_sender(session, ref.profile_id, message)
            if message.entities is not None:  # Telegram's own list wins (it may add entities it detected)
                row.entities = message.entities
            if chat.last_message_at is None or chat.last_message_at < row.date:
                chat.last_message_at = row.date
            await session.flush()
            await limits.lift_by_send(session, ref.profile_id, chat.id, refused_before=claim.refused_under_limit)
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
            context={"conversation_id": str(claim.chat_id), "telegram_message_id": message.id},
        )
        return result

    async def _claim(self, ref: ProfileRef, peer: PeerInfo, outgoing: Outgoing) -> _Claim:
        """Create the pending row, or take over the row of an earlier request with the same Idempotency-Key.

        Taking over is a conditional update (failed -> pending, or a stale pending row), so of two concurrent
        retries only one sends; the other gets 409 `send_in_progress`.
        """
        with contextlib.suppress(IntegrityError):
            return await self._claim_once(ref, peer, outgoing)
        # A concurrent send created the chat (or took the Idempotency-Key) first: look again, once.
        try:
            return await self._claim_once(ref, peer, outgoing)
        except IntegrityError:
            raise Conflict("a send with this Idempotency-Key is in progress", code="send_in_progress") from None

    async def _claim_once(self, ref: ProfileRef, peer: PeerInfo, outgoing: Outgoing) -> _Claim:
        now = datetime.now(UTC)
        async with self._writes, self._sessionmaker.begin() as session:
            chat = await store.upsert_chat(session, ref, peer)
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
                    return _Claim(chat.id, row.id, replay=SendResult(row.status, chat.id, peer_of(chat), stored(row)))
                unsure = row.status == MessageStatus.PENDING.value or row.error == INTERRUPTED
                refused = row.error == limits.PEER_FLOOD
                if not await take_over(session, row, outgoing, now, now - self._stale_after):
                    raise Conflict("a send with this Idempotency-Key is in progress", code="send_in_progress")
                new_chat = await self._spend(session, ref, chat, row.id)
                since = row.created_at if unsure else None
                return _Claim(chat.id, row.id, since=since, refused_under_limit=refused, new_chat=new_chat)
            new_chat = await self._spend(session, ref, chat, None)
            row = Message(
                chat_id=chat.id,
                direction="out",
                sender_id=None,
                text=outgoing.text,
                entities=outgoing.entities,
                date=now,
                is_deleted=False,
                status=MessageStatus.PENDING.value,
                reply_to=outgoing.reply_to,
                idempotency_key=outgoing.idempotency_key,
            )
            session.add(row)
            if chat.last_message_at is None or chat.last_message_at < row.date:
                chat.last_message_at = row.date  # pending and failed sends show in the inbox too
            await session.flush()
            return _Claim(chat.id, row.id, new_chat=new_chat)

    async def _spend(self, session: AsyncSession, ref: ProfileRef, chat: Chat, retried: UUID | None) -> bool:
        """Spend the profile's send budgets on this send (429 when spent); True when it opens a new chat.

        The chat's row is locked first (PostgreSQL), so of concurrent first sends to one chat only one counts it new.
        """
        await session.execute(select(Chat.id).where(Chat.id == chat.id).with_for_update())
        # (a send the pacing limits refused never reached the chat)
        others = select(Message.id).where(
            Message.chat_id == chat.id, or_(Message.error.is_(None), Message.error != SEND_RATE_LIMITED)
        )
        if retried is not None:
            others = others.where(Message.id != retried)
        new_chat = chat.kind == "user" and await session.scalar(others.limit(1)) is None
        await budgets.spend(session, ref.profile_id, self._budget, new_chat=new_chat)
        return new_chat

    async def _delivered(self, ref: ProfileRef, claim: _Claim, peer: PeerInfo, text: str) -> MessageInfo | None:
        """Our interrupted attempt, if Telegram has it: an outgoing message with this text sent since the attempt
        began that no stored row of the conversation claims yet."""
        assert claim.since is not None
        try:
            recent = await self._commands.recent_messages(ref.profile_id, peer, limit=RECENT_CHECKED)
        except Exception as exc:
            await self._fail(ref, claim.message_id, INTERRUPTED)  # still unknown; the next retry looks again
            if isinstance(exc, AppError):
                raise
            raise ServiceUnavailable("could not check whether the earlier attempt was sent", code=INTERRUPTED) from exc
        cutoff = claim.since - timedelta(seconds=1)  # Telegram dates are whole seconds
        candidates = [m for m in recent if m.out and m.text == text and m.date >= cutoff]
        if not candidates:
            return None
        async with self._sessionmaker() as session:
            stored_ids = set(
                await session.scalars(
                    select(Message.telegram_message_id).where(
                        Message.chat_id == claim.chat_id,
                        Message.telegram_message_id.in_([m.id for m in candidates]),
                    )
                )
            )
        unclaimed = [m for m in candidates if m.id not in stored_ids]
        return min(unclaimed, key=lambda m: m.id) if unclaimed else None

    async def _fail(self, ref: ProfileRef, message_id: UUID, code: str, *, new_chat: bool = False) -> None:
        async with self._writes, self._sessionmaker.begin() as session:
            row = await session.get_one(Message, message_id)
            await mark_failed(session, await session.get_one(Chat, row.chat_id), row, code)
            if code == SEND_RATE_LIMITED:  # refused here, before Telegram: it spent nothing
                await budgets.refund(session, ref.profile_id, new_chat=new_chat)
            await budgets.penalise(session, ref.profile_id, self._budget, code)
        log_event(
            "warning",
            "messages",
            "message.failed",
            f"message could not be sent: {code}",
            user_id=ref.owner_id,
            profile_id=ref.profile_id,
            context={"error": code},
        )


async def mark_read(session: AsyncSession, profile_id: UUID, peer_id: int) -> None:
    """Our read through the API: the stored conversation has nothing unread any more."""
    chat = await session.scalar(select(Chat).where(Chat.profile_id == profile_id, Chat.peer_id == peer_id))
    if chat is not None:
        chat.unread_count = 0
