"""What a profile's status change means for the channels it reads, answered by the channels room.

Channels build on profiles (they pick, join through and fail over between profiles), so profiles do not
import channels: the channels room's two answers are handed over once at start-up by the server
(`connect_rooms`). Both act inside the caller's transaction, exactly as a direct call would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import ProfileStatus

# Statuses that move a profile's channels to another profile (and that the user hears about as an `alert`).
FAILOVER_STATUSES = (
    ProfileStatus.BANNED.value,
    ProfileStatus.DEAUTHORIZED.value,
    ProfileStatus.LIMITED.value,
    ProfileStatus.FROZEN.value,
    ProfileStatus.PROXY_FAILED.value,
)


class RequestFailover(Protocol):
    def __call__(self, session: AsyncSession, /) -> None: ...


class RetryFailedSoon(Protocol):
    async def __call__(self, session: AsyncSession, owner_id: UUID, /) -> None: ...


@dataclass(frozen=True, slots=True)
class ChannelFollowUps:
    request_failover: RequestFailover  # the profile's channels move elsewhere once this transaction commits
    retry_failed_soon: RetryFailedSoon  # a profile of this owner became usable: its failed channels are due now


_connected: list[ChannelFollowUps] = []


def connect_channels(followups: ChannelFollowUps) -> None:
    """Hand over the channels room's answers (idempotent: every app of a process hands over the same ones)."""
    _connected[:] = [followups]


def channel_followups() -> ChannelFollowUps:
    if not _connected:
        raise RuntimeError("profiles are not connected to channels: the server's connect_rooms() runs at start-up")
    return _connected[0]
