"""The runtime's view of the profiles table: which profiles to connect and what happened to them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models import ProfileStatus, TelegramProfile
from app.domain.profiles import devices, limits, services
from app.domain.profiles.channel_hooks import channel_followups
from app.lib.crypto import DecryptionError, SecretBox
from app.lib.devices import DEFAULT_DEVICE_IDENTITIES, DeviceIdentity, choose_identity
from app.lib.proxies import ProxySpec
from app.telegram.health import Restriction
from app.telegram.records import AccountInfo
from app.telegram.runtime import ProfileCredentials


class DatabaseProfileSource:
    """Each call is its own unit of work (the runtime works outside requests)."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        box: SecretBox,
        identities: Sequence[DeviceIdentity] = DEFAULT_DEVICE_IDENTITIES,
        default_proxy: ProxySpec | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._box = box
        self._identities = tuple(identities)
        self._default_proxy = default_proxy  # TELEGRAM_PROXY, for profiles without their own

    async def active_profile_ids(self) -> list[UUID]:
        async with self._sessionmaker() as session:
            rows = await session.scalars(
                select(TelegramProfile.id).where(
                    TelegramProfile.is_active.is_(True), TelegramProfile.status.in_(services.LIVE_STATUSES)
                )
            )
            return list(rows)

    async def credentials(self, profile_id: UUID) -> ProfileCredentials | None:
        async with self._sessionmaker() as session:
            profile = await session.get(TelegramProfile, profile_id)
            if profile is None or not profile.is_active or profile.status not in services.LIVE_STATUSES:
                return None
            missing_identity = devices.identity_of(profile) is None
            if not missing_identity:
                try:
                    return services.credentials_of(profile, self._box, self._default_proxy)
                except DecryptionError:
                    pass
        if missing_identity:  # bound before identities were stored: one, kept from now on
            await self._give_identity(profile_id)
            return await self.credentials(profile_id)
        # Retrying cannot help: the keys that encrypted this session are no longer configured.
        await self.failed(profile_id, ProfileStatus.DEAUTHORIZED.value, "stored session cannot be decrypted")
        return None

    async def _give_identity(self, profile_id: UUID) -> None:
        async with self._sessionmaker.begin() as session:
            profile = await session.get(TelegramProfile, profile_id)
            if profile is not None and devices.identity_of(profile) is None:
                devices.store(profile, choose_identity(self._identities))

    async def connected(self, profile_id: UUID, me: AccountInfo, worker_id: str) -> None:
        async with self._sessionmaker.begin() as session:
            profile = await session.get(TelegramProfile, profile_id)
            if profile is None:
                return
            profile.connection_worker, profile.connection_state, profile.connection_reason = (
                worker_id,
                "connected",
                None,
            )
            profile.connection_changed_at = datetime.now(UTC)
            profile.telegram_user_id = me.id
            profile.username, profile.first_name, profile.last_name = me.username, me.first_name, me.last_name
            profile.last_active_at = datetime.now(UTC)
            # Connecting proves nothing about a freeze or a spam limit (a frozen account connects and reads);
            # only a limit with an end that has passed is over.
            expired = profile.limited_until is not None and profile.limited_until <= datetime.now(UTC)
            if profile.status == ProfileStatus.LIMITED.value and expired:
                await services.set_status(session, profile_id, ProfileStatus.ACTIVE.value, None)
            if profile.status == ProfileStatus.ACTIVE.value:
                # it may read channels no other profile could
                await channel_followups().retry_failed_soon(session, profile.owner_id)

    async def disconnected(self, profile_id: UUID, worker_id: str, reason: str) -> None:
        """Record the end of this worker's connection (a newer owner's report is never overwritten)."""
        async with self._sessionmaker.begin() as session:
            await session.execute(
                update(TelegramProfile)
                .where(TelegramProfile.id == profile_id, TelegramProfile.connection_worker == worker_id)
                .values(
                    connection_state="disconnected", connection_reason=reason, connection_changed_at=datetime.now(UTC)
                )
            )

    async def failed(self, profile_id: UUID, status: str, reason: str) -> None:
        async with self._sessionmaker.begin() as session:
            await services.set_status(session, profile_id, status, reason)

    async def restricted(self, profile_id: UUID, restriction: Restriction) -> None:
        async with self._sessionmaker.begin() as session:
            await services.restrict(session, profile_id, restriction)

    async def limit_check(self, profile_id: UUID) -> None:
        async with self._sessionmaker.begin() as session:
            await limits.lift_expired(session, profile_id)

    async def freeze_state(self, profile_id: UUID, freeze: Restriction | None) -> None:
        async with self._sessionmaker.begin() as session:
            profile = await session.get(TelegramProfile, profile_id)
            if profile is None:
                return
            frozen = profile.status == ProfileStatus.FROZEN.value
            if freeze is not None and (not frozen or profile.frozen_until != freeze.until):
                await services.restrict(session, profile_id, freeze)
            elif freeze is None and frozen:  # the appeal succeeded
                await services.set_status(session, profile_id, ProfileStatus.ACTIVE.value, None)
