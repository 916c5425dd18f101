"""How a send that did not end well is recorded: failed rows with their code and `message.failed`, sends a crash
interrupted (pending for longer than `pending_stale_after`), and an earlier attempt taken over by its retry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.models import Chat, Message, MessageStatus
from app.domain.events import services as events
from app.domain.events.types import EventType
from app.domain.messages import store
from app.domain.messages.send_rules import Outgoing

SEND_RATE_LIMITED = "send_rate_limited"  # the pacing governor's refusal (app.telegram.commands)
INTERRUPTED = "send_interrupted"  # the outcome is unknown: the send may or may not have reached Telegram
SEND_GRACE_S = 120.0


def pending_stale_after(settings: Settings) -> timedelta:
    """How long a send may stay pending: the longest pacing wait plus a generous margin for the Telegram call.

    A pending row older than this belongs to a send that was interrupted (a crash or restart mid-way).
    """
    return timedelta(seconds=settings.send_max_wait_s + SEND_GRACE_S)


async def take_over(
    session: AsyncSession, row: Message, outgoing: Outgoing, now: datetime, stale_before: datetime
) -> bool:
    """Move an earlier attempt's row back to pending for this retry, unless another request holds it."""
    taken = await session.execute(
        update(Message)
        .where(
            Message.id == row.id,
            or_(
                Message.status == MessageStatus.FAILED.value,
                and_(Message.status == MessageStatus.PENDING.value, Message.updated_at < stale_before),
            ),
        )
        .values(
            status=MessageStatus.PENDING.value,
            error=None,
            text=outgoing.text,
            entities=outgoing.entities,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], taken).rowcount == 1


async def fail_interrupted_sends(session: AsyncSession, stale_after: timedelta) -> int:
    """Mark sends pending for longer than `stale_after` as failed `send_interrupted` (a crash cut them off).

    A retry with the same Idempotency-Key checks Telegram before sending again; if the message did go through,
    the ingest (or the reconciler) adopts the row as sent when it sees the message.
    """
    stale = (
        await session.execute(
            select(Message, Chat)
            .join(Chat, Chat.id == Message.chat_id)
            .where(
                Message.status == MessageStatus.PENDING.value,
                Message.updated_at < datetime.now(UTC) - stale_after,
            )
            .limit(500)
            .with_for_update(skip_locked=True, of=Message)  # one worker's sweep per row (PostgreSQL)
        )
    ).all()
    for row, chat in stale:
        await mark_failed(session, chat, row, INTERRUPTED)
    return len(stale)


async def mark_failed(session: AsyncSession, chat: Chat, row: Message, code: str) -> None:
    """The send of `row` failed with `code`: store it and announce `message.failed`."""
    row.status, row.error = MessageStatus.FAILED.value, code[:255]
    await session.flush()
    await events.emit(
        session,
        user_id=chat.owner_id,
        type=EventType.MESSAGE_FAILED,
        profile=chat.profile_phone,
        data=store.message_event(chat, row, error=row.error),
    )
