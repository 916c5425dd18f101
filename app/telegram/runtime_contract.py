"""What the Telegram runtime (app.telegram.runtime) and the rest of the service hand each other.

In: a profile's credentials, from a `ProfileSource` (the profiles domain), which also hears what happened to
the profile. Out: each `ConnectedProfile`, and the hooks called around a connection (before it connects, once
it is connected, after it disconnected and before its lease is released). `lease_name` names the lease that
makes one process the owner of a profile's session; `Ending` says why a connection ended.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, TypeAlias
from uuid import UUID

from telethon import TelegramClient

from app.lib.devices import DeviceIdentity
from app.lib.proxies import ProxySpec
from app.telegram.health import Restriction
from app.telegram.records import AccountInfo


@dataclass(frozen=True, slots=True)
class ProfileCredentials:
    """What it takes to connect one profile (decrypted in memory only)."""

    profile_id: UUID
    owner_id: UUID
    phone: str
    session: str
    api_id: int
    api_hash: str
    identity: DeviceIdentity | None = None  # the device it presents to Telegram (app.lib.devices)
    proxy: ProxySpec | None = None  # every connection goes through it (app.lib.proxies)

    def __repr__(self) -> str:
        return f"ProfileCredentials(profile_id={self.profile_id}, phone={self.phone!r}, session=***)"


@dataclass(frozen=True, slots=True)
class ConnectedProfile:
    credentials: ProfileCredentials
    client: TelegramClient
    me: AccountInfo


class ProfileSource(Protocol):
    """Where the runtime reads profiles and reports what happened to them (implemented by the profiles domain)."""

    async def active_profile_ids(self) -> list[UUID]: ...

    async def credentials(self, profile_id: UUID) -> ProfileCredentials | None:
        """Credentials of a profile that should be connected now, or None (deleted, deactivated, dead)."""

    async def connected(self, profile_id: UUID, me: AccountInfo, worker_id: str) -> None: ...

    async def disconnected(self, profile_id: UUID, worker_id: str, reason: str) -> None: ...

    async def failed(self, profile_id: UUID, status: str, reason: str) -> None: ...

    async def restricted(self, profile_id: UUID, restriction: Restriction) -> None:
        """The account is frozen or spam-limited (it stays connected: it can still read)."""

    async def freeze_state(self, profile_id: UUID, freeze: Restriction | None) -> None:
        """What help.getAppConfig says about a freeze now (None: not frozen, a freeze was lifted)."""

    async def limit_check(self, profile_id: UUID) -> None:
        """A spam limit whose re-check time (`limited_until`) has passed is assumed lifted."""


ClientHook = Callable[[ConnectedProfile], Awaitable[None]]
# Called with a profile's new client before it connects (update handlers and stored update state go here,
# so nothing the connect-time catch-up fetches is dispatched before they exist).
PrepareHook = Callable[[ProfileCredentials, TelegramClient], Awaitable[None]]
# A profile's client as hooks outside app.telegram hold it: a handle to pass back to app.telegram, never driven.
LiveClient: TypeAlias = TelegramClient
# Called after a profile's client disconnected and before its lease is released: commit what it queued.
ReleaseHook = Callable[[UUID], Awaitable[None]]


class Ending:
    """Why a connection ended (the `reason` of `profile.disconnected`)."""

    HANDED_OVER = "handed_over"  # another live worker is the profile's owner now
    LEASE_LOST = "lease_lost"  # the lease expired or the lease store is unreachable
    SHUTDOWN = "shutdown"
    DEACTIVATED = "deactivated"
    CONNECTION_LOST = "connection_lost"
    ERROR = "error"


def lease_name(profile_id: UUID) -> str:
    return f"profile:{profile_id}"
