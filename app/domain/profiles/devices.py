"""Which device a profile presents to Telegram: given at bind/import, else kept from an earlier binding, else chosen.

Stored on the profile (and on the login flow while it runs, so the login's own connections present it too);
every connection of the profile, from any worker, uses it (app.telegram.connector).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import TelegramProfile
from app.db.models.profile import DeviceColumns
from app.domain.profiles.schemas import Device
from app.lib.devices import DeviceIdentity, InvalidDeviceIdentity, choose_identity
from app.lib.errors import ValidationFailed


def identity_of(row: DeviceColumns) -> DeviceIdentity | None:
    if not (row.device_model and row.system_version and row.app_version):
        return None
    return DeviceIdentity(row.device_model, row.system_version, row.app_version, row.lang_code or "en")


def store(row: DeviceColumns, identity: DeviceIdentity) -> None:
    row.device_model, row.system_version = identity.device_model, identity.system_version
    row.app_version, row.lang_code = identity.app_version, identity.lang_code


def out(row: DeviceColumns) -> Device | None:
    identity = identity_of(row)
    if identity is None:
        return None
    return Device(identity.device_model, identity.system_version, identity.app_version, identity.lang_code)


def given(device: Device | None) -> DeviceIdentity | None:
    """The identity a request named, checked beyond what the schema can say (422 `invalid_device`)."""
    if device is None:
        return None
    try:
        return DeviceIdentity(device.device_model, device.system_version, device.app_version, device.lang_code)
    except InvalidDeviceIdentity as exc:
        raise ValidationFailed(str(exc), code="invalid_device", details=[{"field": "device"}]) from None


async def for_binding(
    session: AsyncSession, phone: str, device: Device | None, identities: Sequence[DeviceIdentity]
) -> DeviceIdentity:
    """The request's identity, or the one a profile bound before with this phone had, or one of `identities`."""
    named = given(device)
    if named is not None:
        return named
    earlier = await session.scalar(select(TelegramProfile).where(TelegramProfile.phone == phone))
    kept = identity_of(earlier) if earlier is not None else None
    return kept or choose_identity(identities)
