"""The inbox reconciler: compares each connected profile's recent dialogs with what is stored (silent gaps).

Catch-up covers what arrived while the service was down, but Telegram can also lose an update without any pts
gap to notice. Periodically, for every profile this process keeps connected, the reconciler reads the newest
dialogs; where a dialog's newest message id is above the newest one stored for that chat, it reads the messages
above the stored one and hands them to the ingest queue, whose idempotent upserts store what is missing (and
adopt a pending send that did reach Telegram). Messages older than the profile's binding are not imported: the
inbox starts when the profile was bound.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db.models import Chat, Message, TelegramProfile
from app.domain.messages.ingest import MessageIngest
from app.lib.errors import TooManyRequests
from app.lib.logging import log_event
from app.telegram.commands import ProfileCommands
from app.telegram.records import MessageInfo, PeerInfo
from app.telegram.runtime import ProfileRuntime
from app.telegram.runtime_contract import ConnectedProfile
from app.telegram.updates import NewMessage, ProfileRef

log = logging.getLogger(__name__)
IN_FLIGHT_S = 3.0  # younger messages are most likely still on their way through the live feed


@dataclass(frozen=True, slots=True)
class ReconcileLimits:
    interval_s: float  # 0 disables the reconciler
    dialogs: int  # newest dialogs compared per profile and round
    per_chat: int  # messages read per dialog and round (the rest follows in the next rounds)


class Reconciler:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        runtime: ProfileRuntime,
        commands: ProfileCommands,
        ingest: MessageIngest,
        limits: ReconcileLimits,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._runtime = runtime
        self._commands = commands
        self._ingest = ingest
        self._limits = limits
        self._checked: dict[tuple[UUID, int], int] = {}  # (profile, peer) -> newest id already read above the store

    async def run_round(self) -> int:
        """Compare every connected profile once; returns how many missing messages were queued for storing."""
        queued = 0
        for profile_id in self._runtime.connected_ids():
            connected = self._runtime.connected(profile_id)
            if connected is None:
                continue
            try:
                queued += await self.reconcile_profile(connected)
            except asyncio.CancelledError:
                raise
            except TooManyRequests as exc:
                log_event(
                    "warning",
                    "messages.reconcile",
                    "reconcile.flood_wait",
                    f"Telegram asked to wait {exc.retry_after} s; this profile is compared again next round",
                    user_id=connected.credentials.owner_id,
                    profile_id=profile_id,
                )
            except Exception as exc:  # a disconnect mid-round: the next round compares again
                log.warning("reconciling profile %s failed: %r", profile_id, exc)
        return queued

    async def reconcile_profile(self, connected: ConnectedProfile) -> int:
        credentials = connected.credentials
        profile = ProfileRef(credentials.profile_id, credentials.owner_id, credentials.phone)
        page = await self._commands.dialogs(profile.profile_id, limit=self._limits.dialogs, offset=0)
        dialogs = [d for d in page.items if d.last_message is not None]
        if not dialogs:
            return 0
        async with self._sessionmaker() as session:
            bound_at = await session.scalar(
                select(TelegramProfile.created_at).where(TelegramProfile.id == profile.profile_id)
            )
            stored = await newest_stored_ids(session, profile.profile_id, [d.peer.peer_id for d in dialogs])
        if bound_at is None:
            return 0  # deleted meanwhile
        bound_at -= timedelta(seconds=1)  # Telegram dates are whole seconds
        queued = 0
        for dialog in dialogs:
            top, peer = dialog.last_message, dialog.peer
            assert top is not None
            key, known = (profile.profile_id, peer.peer_id), stored.get(peer.peer_id, 0)
            if top.id <= known or top.date < bound_at or self._checked.get(key) == top.id:
                continue  # nothing newer than the store, nothing since binding, or already read at this top
            missing, settled = await self._missing(profile.profile_id, peer, known, bound_at)
            if settled:
                self._checked[key] = top.id
            for message in missing:
                now = asyncio.get_running_loop().time()
                await self._ingest.queue.put(NewMessage(profile, peer, message, now))
            queued += len(missing)
        if queued:
            log_event(
                "warning",
                "messages.reconcile",
                "reconcile.recovered",
                f"{queued} messages were missing from the stored inbox and are being stored",
                user_id=profile.owner_id,
                profile_id=profile.profile_id,
                context={"messages": queued},
            )
        return queued

    async def _missing(
        self, profile_id: UUID, peer: PeerInfo, known: int, bound_at: datetime
    ) -> tuple[list[MessageInfo], bool]:
        """Messages above `known` since binding, oldest first, and whether none was left for the next round.

        Service messages are not inbox messages (as live). Messages younger than `IN_FLIGHT_S` are left to the
        live feed, which is most likely writing them right now; the next round looks at them again.
        """
        messages = await self._commands.recent_messages(profile_id, peer, limit=self._limits.per_chat, min_id=known)
        found = [m for m in messages if m.date >= bound_at]
        in_flight_after = datetime.now(UTC) - timedelta(seconds=IN_FLIGHT_S)
        settled = [m for m in found if m.date <= in_flight_after]
        settled.sort(key=lambda m: m.id)
        return settled, len(settled) == len(found)


async def newest_stored_ids(session: AsyncSession, profile_id: UUID, peer_ids: list[int]) -> dict[int, int]:
    """The highest stored Telegram message id per chat of this profile (by marked peer id)."""
    rows = await session.execute(
        select(Chat.peer_id, func.max(Message.telegram_message_id))
        .join(Message, Message.chat_id == Chat.id)
        .where(Chat.profile_id == profile_id, Chat.peer_id.in_(peer_ids))
        .group_by(Chat.peer_id)
    )
    return {peer_id: int(newest or 0) for peer_id, newest in rows}


def build_reconciler(
    sessionmaker: async_sessionmaker[AsyncSession],
    runtime: ProfileRuntime,
    commands: ProfileCommands,
    ingest: MessageIngest,
    settings: Settings,
) -> Reconciler:
    limits = ReconcileLimits(
        settings.reconcile_interval_s, settings.reconcile_dialogs, settings.reconcile_messages_per_chat
    )
    return Reconciler(sessionmaker, runtime, commands, ingest, limits)


__all__ = ["ReconcileLimits", "Reconciler", "build_reconciler", "newest_stored_ids"]
