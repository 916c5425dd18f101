"""Adding a monitor: choose the profile, join through it, record the channel, then backfill its recent posts."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db.models import Channel, ChannelStatus, ProfileStatus, TelegramProfile
from app.domain.channels import capture, join_markers, services
from app.domain.channels.schemas import AddChannel
from app.domain.profiles import services as profiles
from app.lib.errors import AppError, Conflict
from app.lib.logging import log_event
from app.telegram.channels import ChannelInfo, parse_channel
from app.telegram.commands import ProfileCommands

# With an automatically chosen profile these refusals are about that profile, so the next one is tried.
_TRY_NEXT = ("CHANNELS_TOO_MUCH", "profile_not_connected")


@dataclass(slots=True)
class ChannelMonitor:
    sessionmaker: async_sessionmaker[AsyncSession]
    commands: ProfileCommands
    settings: Settings

    async def add(self, session: AsyncSession, owner_id: UUID, data: AddChannel) -> tuple[Channel, bool]:
        """Monitor a channel: join through the chosen profile and record it; returns it and whether it resumed.

        A channel that is monitored already answers 409, unless it is `orphaned`: then adding it again resumes
        it (same id, history kept) through the chosen profile.
        """
        ref = parse_channel(data.channel)
        existing = await services.find_monitored(session, owner_id, ref)
        if existing is not None and existing.status != ChannelStatus.ORPHANED.value:
            raise services.already_monitored(existing)
        if data.phone is not None:
            named = await profiles.get_owned(session, owner_id, data.phone)
            await self._check_named(session, named)
            candidates = [named]
        else:
            candidates = await services.eligible_profiles(session, owner_id, ref)
            if not candidates:
                raise Conflict(
                    "no active profile can take another channel (all are inactive, failed or at max_channels)",
                    code="no_eligible_profile",
                )
        profile, info = await self._join_first(owner_id, candidates, str(data.channel), auto=data.phone is None)
        await join_markers.clear(session, profile.id, ref)  # recorded in the same commit as the monitor
        if existing is not None:
            return await services.resume(session, existing, profile, info), True
        return await services.create(session, owner_id, profile, info), False

    @staticmethod
    async def _check_named(session: AsyncSession, profile: TelegramProfile) -> None:
        if not profile.is_active or profile.status != ProfileStatus.ACTIVE.value:
            raise Conflict(f"profile {profile.phone} is {profile.status}", code="profile_not_active")
        count = (await services.channel_counts(session, [profile.id])).get(profile.id, 0)
        if count >= profile.max_channels:
            raise Conflict(
                f"profile {profile.phone} monitors {count} channels, its max_channels", code="profile_at_capacity"
            )

    async def _join_first(
        self, owner_id: UUID, candidates: list[TelegramProfile], channel: str, *, auto: bool
    ) -> tuple[TelegramProfile, ChannelInfo]:
        ref = parse_channel(channel)
        for position, profile in enumerate(candidates):
            marked_before = await join_markers.mark(self.sessionmaker, profile.id, ref)
            try:
                info = await self.commands.join_channel(profile.id, ref)
            except AppError as exc:
                if exc.status < 500:  # Telegram refused: nothing was joined (a 5xx may have joined)
                    await join_markers.clear_now(self.sessionmaker, profile.id, ref)
                if auto and exc.error_code in _TRY_NEXT and position + 1 < len(candidates):
                    log_event(
                        "warning",
                        "channels",
                        "channel.join_retry",
                        f"profile could not join ({exc.error_code}); trying the next one",
                        user_id=owner_id,
                        profile_id=profile.id,
                    )
                    continue
                if exc.status < 500 and exc.error_code not in ("channel_invalid",):
                    await services.record_join_failure(
                        self.sessionmaker, owner_id=owner_id, profile=profile, channel=channel, error=exc
                    )
                raise
            if info.was_member and marked_before:
                # An earlier attempt joined and died before recording it: the membership is ours.
                return profile, msgspec.structs.replace(info, was_member=False)
            if info.was_member:
                await join_markers.clear_now(self.sessionmaker, profile.id, ref)  # nothing of ours to leave
            return profile, info
        raise AssertionError("no candidates")  # callers pass at least one

    async def backfill(self, channel_id: UUID) -> int:
        """Store the channel's last N posts (after the channel row is committed, so events carry its context)."""
        limit = self.settings.channel_backfill_limit
        if limit <= 0:
            return 0
        try:
            return await capture.fetch_and_store(self.sessionmaker, self.commands, channel_id, min_id=0, limit=limit)
        except AppError as exc:
            log_event(
                "warning",
                "channels",
                "channel.backfill_failed",
                f"backfill failed: {exc.message}",
                context={"channel_id": str(channel_id)},
            )
            return 0

    async def catch_up(self, channel_id: UUID, newest_stored: int) -> int:
        """Store what was posted after `newest_stored` while the channel had no profile (after a resume)."""
        try:
            return await capture.fetch_and_store(
                self.sessionmaker,
                self.commands,
                channel_id,
                min_id=newest_stored,
                limit=self.settings.channel_catchup_limit,
            )
        except AppError as exc:
            log_event(
                "warning",
                "channels",
                "channel.catch_up_failed",
                f"catch-up failed: {exc.message}",
                context={"channel_id": str(channel_id)},
            )
            return 0

    async def leave(self, profile_id: UUID, peer_id: int) -> None:
        """Leave after a monitor was removed; a failure only leaves the profile a member (logged)."""
        try:
            await self.commands.leave_channel(profile_id, peer_id)
        except AppError as exc:
            log_event(
                "warning",
                "channels",
                "channel.leave_failed",
                f"could not leave the channel: {exc.message}",
                profile_id=profile_id,
                context={"telegram_id": peer_id},
            )
