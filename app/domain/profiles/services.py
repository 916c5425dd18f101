"""Profile rules: phone numbers, ownership, binding, status changes. Services never commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

import msgspec
from sqlalchemy import delete as sa_delete
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Chat, Message, ProfileStatus, TelegramProfile, UpdateState
from app.domain.events import services as events
from app.domain.events.types import EventType
from app.domain.profiles import devices, proxies
from app.domain.profiles.announcements import announce_profile_change
from app.domain.profiles.channel_hooks import FAILOVER_STATUSES, channel_followups
from app.domain.profiles.schemas import ProfileOut, ProfileUpdate, TelegramIdentity
from app.domain.profiles.update_states import state_row
from app.lib.crypto import SecretBox
from app.lib.devices import DeviceIdentity
from app.lib.errors import Conflict, NotFound
from app.lib.logging import log_event
from app.lib.phones import normalize_phone
from app.lib.proxies import ProxySpec
from app.telegram.checkpoints import StoredState
from app.telegram.health import Restriction
from app.telegram.records import AccountInfo
from app.telegram.runtime import ProfileCredentials

# Connected and receiving: a frozen account can still read, a spam-limited one can still write to contacts.
LIVE_STATUSES = (ProfileStatus.ACTIVE.value, ProfileStatus.LIMITED.value, ProfileStatus.FROZEN.value)
# Statuses that the user hears about through an `alert`, and that move the profile's channels elsewhere.
ALERTING_STATUSES = FAILOVER_STATUSES


async def get_owned(session: AsyncSession, owner_id: UUID, phone: str) -> TelegramProfile:
    """The caller's profile with this phone; another user's profile is indistinguishable from none (404).

    A value that is no phone number at all is a 422, as the documented phone pattern says (it was a 404).
    """
    normalized = normalize_phone(phone)
    profile = await session.scalar(
        select(TelegramProfile).where(TelegramProfile.owner_id == owner_id, TelegramProfile.phone == normalized)
    )
    if profile is None:
        raise NotFound("profile not found")
    return profile


async def list_owned(session: AsyncSession, owner_id: UUID) -> list[TelegramProfile]:
    rows = await session.scalars(
        select(TelegramProfile).where(TelegramProfile.owner_id == owner_id).order_by(TelegramProfile.created_at)
    )
    return list(rows)


async def find_by_phone(session: AsyncSession, phone: str) -> TelegramProfile | None:
    return await session.scalar(select(TelegramProfile).where(TelegramProfile.phone == phone))


async def ensure_bindable(session: AsyncSession, owner_id: UUID, phone: str) -> None:
    """One Telegram account belongs to one application user; a live profile is not bound twice."""
    existing = await find_by_phone(session, phone)
    if existing is None:
        return
    if existing.owner_id != owner_id:
        raise Conflict("this Telegram account is bound to another user", code="profile_bound_elsewhere")
    if existing.status in LIVE_STATUSES and existing.is_active:
        raise Conflict("this profile is already bound and active", code="profile_already_bound")


async def bind(
    session: AsyncSession,
    box: SecretBox,
    *,
    owner_id: UUID,
    phone: str,
    label: str | None,
    api_id: int,
    api_hash: str,
    session_string: str,
    me: AccountInfo,
    checkpoint: Sequence[StoredState],
    identity: DeviceIdentity,
    proxy: ProxySpec | None = None,
) -> TelegramProfile:
    """Store a logged-in session as the caller's profile (re-binding a dead profile of theirs in place).

    `checkpoint` is the update state at binding: the first connection catches up from it, so nothing that
    arrives between binding and the moment a worker connects the profile is missed. `identity` is the device
    the login presented; the profile keeps presenting it.
    """
    await ensure_bindable(session, owner_id, phone)
    if me.id is not None:
        clash = await session.scalar(
            select(TelegramProfile).where(TelegramProfile.telegram_user_id == me.id, TelegramProfile.phone != phone)
        )
        if clash is not None:
            raise Conflict("this Telegram account is already bound under another phone", code="profile_bound_elsewhere")
    profile = await find_by_phone(session, phone)
    if profile is None:
        profile = TelegramProfile(owner_id=owner_id, phone=phone)
        session.add(profile)
    if label is not None:
        profile.label = label
    profile.api_id = api_id
    profile.api_hash_encrypted = box.encrypt(api_hash)
    profile.session_encrypted = box.encrypt(session_string)
    profile.status = ProfileStatus.ACTIVE.value
    profile.status_reason = None
    profile.is_active = True
    profile.limited_until = None
    profile.frozen_until = profile.frozen_appeal_url = None
    _apply_identity(profile, me)
    devices.store(profile, identity)
    proxies.store(profile, box, proxy)
    await session.flush()
    await _start_from(session, profile.id, checkpoint)
    log_event("info", "profiles", "profile.bound", "Telegram profile bound", user_id=owner_id, profile_id=profile.id)
    return profile


async def _start_from(session: AsyncSession, profile_id: UUID, checkpoint: Sequence[StoredState]) -> None:
    """Replace the profile's stored update state (a re-bound profile forgets the old session's channels too)."""
    await session.execute(sa_delete(UpdateState).where(UpdateState.profile_id == profile_id))
    session.add_all(state_row(profile_id, state) for state in checkpoint)
    await session.flush()


def _apply_identity(profile: TelegramProfile, me: AccountInfo) -> None:
    profile.telegram_user_id = me.id
    profile.username = me.username
    profile.first_name = me.first_name
    profile.last_name = me.last_name
    profile.last_active_at = datetime.now(UTC)


def credentials_of(
    profile: TelegramProfile, box: SecretBox, default_proxy: ProxySpec | None = None
) -> ProfileCredentials:
    """What connecting the profile takes; without a proxy of its own it uses `default_proxy` (TELEGRAM_PROXY)."""
    return ProfileCredentials(
        profile_id=profile.id,
        owner_id=profile.owner_id,
        phone=profile.phone,
        session=box.decrypt(profile.session_encrypted),
        api_id=profile.api_id,
        api_hash=box.decrypt(profile.api_hash_encrypted),
        identity=devices.identity_of(profile),
        proxy=proxies.proxy_of(profile, box) or default_proxy,
    )


def change_proxy(profile: TelegramProfile, box: SecretBox, proxy: ProxySpec | None) -> None:
    """Store a checked proxy; a profile stopped by its failed proxy may connect again."""
    proxies.store(profile, box, proxy)
    if profile.status == ProfileStatus.PROXY_FAILED.value:
        profile.status, profile.status_reason = ProfileStatus.ACTIVE.value, None


def apply_update(profile: TelegramProfile, data: ProfileUpdate) -> bool:
    """Apply a PATCH; returns True when `is_active` changed (the runtime must follow)."""
    changed_activity = False
    if not isinstance(data.label, msgspec.UnsetType):
        profile.label = data.label
    if isinstance(data.max_channels, int):
        profile.max_channels = data.max_channels
    if not isinstance(data.messages_per_day, msgspec.UnsetType):
        profile.send_messages_per_day = data.messages_per_day
    if not isinstance(data.new_chats_per_day, msgspec.UnsetType):
        profile.send_new_chats_per_day = data.new_chats_per_day
    if isinstance(data.is_active, bool) and data.is_active != profile.is_active:
        profile.is_active = data.is_active
        changed_activity = True
        if not data.is_active:
            profile.status, profile.status_reason = ProfileStatus.INACTIVE.value, "deactivated by the user"
        elif profile.status == ProfileStatus.INACTIVE.value:
            profile.status, profile.status_reason = ProfileStatus.ACTIVE.value, None
            # Re-activation is how a user clears a spam limit or a freeze Telegram has lifted; the next
            # refused call or health check sets them again if they still hold.
            profile.limited_until = profile.frozen_until = profile.frozen_appeal_url = None
    return changed_activity


async def set_status(
    session: AsyncSession, profile_id: UUID, status: str, reason: str | None
) -> TelegramProfile | None:
    """Record a status change with its business log line and events; no-op when nothing changes."""
    profile = await session.get(TelegramProfile, profile_id)
    if profile is None or (profile.status == status and profile.status_reason == reason):
        return profile
    previous = profile.status
    profile.status, profile.status_reason = status, reason
    if status != ProfileStatus.FROZEN.value:
        profile.frozen_until = profile.frozen_appeal_url = None
    if status != ProfileStatus.LIMITED.value:
        profile.limited_until = None
    fatal = status in (ProfileStatus.BANNED.value, ProfileStatus.DEAUTHORIZED.value)
    change = {"profile_id": str(profile.id), "from": previous, "to": status, "reason": reason}
    if status == ProfileStatus.FROZEN.value:
        change["frozen_until"] = profile.frozen_until.isoformat() if profile.frozen_until else None
        change["appeal_url"] = profile.frozen_appeal_url
    await announce_profile_change(
        session,
        profile,
        event=EventType.PROFILE_STATUS_CHANGED,
        message=f"profile {previous} -> {status}",
        change=change,
        level="error" if fatal else "info",
    )
    if status in FAILOVER_STATUSES:
        channel_followups().request_failover(session)  # its channels move to another profile once this commits
    elif status == ProfileStatus.ACTIVE.value:
        # it may read channels no other profile could
        await channel_followups().retry_failed_soon(session, profile.owner_id)
    if status in ALERTING_STATUSES:
        await events.emit(
            session,
            user_id=profile.owner_id,
            type=EventType.ALERT,
            profile=profile.phone,
            data={"kind": f"profile_{status}", "message": f"profile {profile.phone} is {status}", **change},
        )
    await session.flush()
    return profile


async def restrict(session: AsyncSession, profile_id: UUID, restriction: Restriction) -> TelegramProfile | None:
    """A frozen or spam-limited account: its dates and appeal link, then the status change with its events."""
    profile = await session.get(TelegramProfile, profile_id)
    if profile is None or profile.status not in LIVE_STATUSES:
        return profile  # banned, deauthorized or deactivated says more than a restriction
    if restriction.status == ProfileStatus.FROZEN.value:
        changed = (profile.frozen_until, profile.frozen_appeal_url) != (restriction.until, restriction.appeal_url)
        profile.frozen_until, profile.frozen_appeal_url = restriction.until, restriction.appeal_url
        if changed and profile.status == restriction.status:
            profile.status_reason = None  # the same status with new dates is announced again
    else:
        profile.limited_until = restriction.until
    return await set_status(session, profile_id, restriction.status, restriction.reason)


def to_out(profile: TelegramProfile, channel_count: int = 0) -> ProfileOut:
    identity = None
    if profile.telegram_user_id is not None:
        identity = TelegramIdentity(
            id=profile.telegram_user_id,
            username=profile.username,
            first_name=profile.first_name,
            last_name=profile.last_name,
        )
    return ProfileOut(
        id=profile.id,
        phone=profile.phone,
        label=profile.label,
        status=profile.status,
        status_reason=profile.status_reason,
        is_active=profile.is_active,
        max_channels=profile.max_channels,
        channel_count=channel_count,
        telegram=identity,
        last_active_at=profile.last_active_at,
        created_at=profile.created_at,
        frozen_until=profile.frozen_until,
        appeal_url=profile.frozen_appeal_url,
        limited_until=profile.limited_until,
        device=devices.out(profile),
        health=profile.health,
        health_checked_at=profile.health_checked_at,
        proxy=proxies.out(profile),
    )


async def delete(session: AsyncSession, profile: TelegramProfile, *, keep_history: bool) -> None:
    """Delete the profile; its stored conversations go with it unless `keep_history`.

    Kept conversations stay reachable by their user (`chats.owner_id`), detached from the deleted profile.
    """
    chats = select(Chat.id).where(Chat.profile_id == profile.id)
    if keep_history:
        await session.execute(update(Chat).where(Chat.profile_id == profile.id).values(profile_id=None))
    else:
        await session.execute(sa_delete(Message).where(Message.chat_id.in_(chats)))
        await session.execute(sa_delete(Chat).where(Chat.profile_id == profile.id))
    await session.delete(profile)
    await session.flush()
