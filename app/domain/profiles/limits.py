"""When a spam limit (`limited`, from PEER_FLOOD) is over.

Telegram lifts a spam limit after a while and does not say so; meanwhile the account may still write to its
mutual contacts. Two things end `limited` here, each with `profile.status_changed`:
- proof: a send to a chat that was refused with PEER_FLOOD goes through (`lift_by_send`);
- time: `PROFILE_LIMITED_RECHECK_S` after the last PEER_FLOOD (`limited_until`), seen at the next health check or
  connection (`lift_expired`). If the limit still holds, the next refused send sets `limited` again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Message, MessageStatus, ProfileStatus, TelegramProfile
from app.domain.profiles.services import set_status

PEER_FLOOD = "peer_flood"  # the error code a send refused under the limit is stored with


async def lift_expired(session: AsyncSession, profile_id: UUID) -> None:
    """A spam limit past its re-check time is assumed lifted."""
    profile = await session.get(TelegramProfile, profile_id)
    if profile is None or profile.status != ProfileStatus.LIMITED.value or profile.limited_until is None:
        return
    if profile.limited_until <= datetime.now(UTC):
        await set_status(session, profile_id, ProfileStatus.ACTIVE.value, None)


async def lift_by_send(session: AsyncSession, profile_id: UUID, chat_id: UUID, *, refused_before: bool) -> None:
    """A send to `chat_id` went through: if that chat was refused under the limit, the limit is over.

    `refused_before`: the send retried (same Idempotency-Key) an attempt refused with PEER_FLOOD.
    """
    profile = await session.get(TelegramProfile, profile_id)
    if profile is None or profile.status != ProfileStatus.LIMITED.value:
        return
    refused = refused_before or None is not await session.scalar(
        select(Message.id)
        .where(
            Message.chat_id == chat_id,
            Message.status == MessageStatus.FAILED.value,
            Message.error == PEER_FLOOD,
        )
        .limit(1)
    )
    if refused:
        await set_status(session, profile_id, ProfileStatus.ACTIVE.value, None)
