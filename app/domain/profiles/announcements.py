"""How a change of a profile is made known: one business log line and one event of the same content."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import TelegramProfile
from app.domain.events import services as events
from app.domain.events.types import EventType
from app.lib.logging import log_event


async def announce_profile_change(
    session: AsyncSession,
    profile: TelegramProfile,
    *,
    event: EventType,
    message: str,
    change: dict[str, Any],
    level: str = "info",
) -> None:
    """Log `change` as the `event` business line and emit it as the profile owner's `event` (sent after commit)."""
    log_event(level, "profiles", event.value, message, user_id=profile.owner_id, profile_id=profile.id, context=change)
    await events.emit(session, user_id=profile.owner_id, type=event, profile=profile.phone, data=change)
