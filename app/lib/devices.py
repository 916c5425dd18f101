"""Device identities: what a profile's client tells Telegram it is (initConnection's device and app fields).

Telegram lists every session of an account with these fields (account.getAuthorizations), and a session whose
device changes from one connection to the next, or a hundred accounts all on one "device", stands out. Each
profile keeps one identity, chosen when it is bound, and connects with it from every worker.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

FIELD_MAX_LENGTH = 64
# Printable text only: these go into every initConnection and are shown to the user's other Telegram apps.
_PRINTABLE = re.compile(r"^[^\x00-\x1f\x7f]+$")
LANG_CODE_PATTERN = r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$"
_LANG_CODE = re.compile(LANG_CODE_PATTERN)


class InvalidDeviceIdentity(ValueError):
    """A device identity field is empty, too long, not printable, or the language code is not one."""


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    device_model: str
    system_version: str
    app_version: str
    lang_code: str = "en"

    def __post_init__(self) -> None:
        for name in ("device_model", "system_version", "app_version"):
            value = getattr(self, name)
            if not value.strip() or len(value) > FIELD_MAX_LENGTH or not _PRINTABLE.match(value):
                raise InvalidDeviceIdentity(f"{name} must be 1 to {FIELD_MAX_LENGTH} printable characters")
        if not _LANG_CODE.match(self.lang_code):
            raise InvalidDeviceIdentity("lang_code must be a lowercase language code such as en or pt-br")

    @classmethod
    def parse(cls, text: str) -> DeviceIdentity:
        """Parse `device_model|system_version|app_version[|lang_code]`."""
        parts = [part.strip() for part in text.split("|")]
        if len(parts) not in (3, 4):
            raise InvalidDeviceIdentity(
                f"a device identity is device_model|system_version|app_version[|lang_code], got {text!r}"
            )
        return cls(*parts)


def parse_identities(text: str) -> tuple[DeviceIdentity, ...]:
    """Parse `;`-separated identities (at least one)."""
    entries = [entry for entry in (part.strip() for part in text.split(";")) if entry]
    if not entries:
        raise InvalidDeviceIdentity("at least one device identity is needed")
    return tuple(DeviceIdentity.parse(entry) for entry in entries)


# What official Telegram apps report (Android: model and "SDK n"; iOS: model and iOS version; Desktop: the
# machine and OS). Plausible, current-looking, and varied enough that a user's profiles do not share one device.
DEFAULT_DEVICE_IDENTITIES: tuple[DeviceIdentity, ...] = (
    DeviceIdentity("Samsung SM-S918B", "SDK 34", "11.5.3 (5429)", "en"),
    DeviceIdentity("Samsung SM-A546B", "SDK 34", "11.4.2 (5353)", "en"),
    DeviceIdentity("Google Pixel 8", "SDK 34", "11.5.3 (5429)", "en"),
    DeviceIdentity("Xiaomi 23049PCD8G", "SDK 33", "11.4.2 (5353)", "en"),
    DeviceIdentity("OnePlus CPH2449", "SDK 34", "11.3.4 (5312)", "en"),
    DeviceIdentity("iPhone 15 Pro", "17.5.1", "10.14.1 (28571)", "en"),
    DeviceIdentity("iPhone 13", "17.4.1", "10.13.2 (28510)", "en"),
    DeviceIdentity("iPhone 14", "17.5.1", "10.14.1 (28571)", "en"),
    DeviceIdentity("Desktop", "Windows 11", "5.2.3 x64", "en"),
    DeviceIdentity("MacBook Pro", "macOS 14.5", "10.14.1", "en"),
)


def choose_identity(identities: Sequence[DeviceIdentity]) -> DeviceIdentity:
    """One identity of the configured list, at random (spreads a user's profiles over devices)."""
    return random.choice(list(identities or DEFAULT_DEVICE_IDENTITIES))
