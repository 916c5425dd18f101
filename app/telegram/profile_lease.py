"""The lease that makes one process the owner of a profile's session (two live connections kill the login).

Taken only by the profile's assigned owner among the live workers. A lease taken fresh from a lease store that
has just restarted (Redis lost its keys) waits two renewal intervals of the store's uptime before it counts: a
previous holder that lost the lease without noticing notices on its next renewal and disconnects first. While
connected, the lease is renewed every third of its TTL, together with every other lease the worker holds (one
round trip per interval: app.telegram.lease_renewals), and a lost lease (or another owner) disconnects at once;
while a disconnected client drains, a lease still held is kept, never re-taken.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from uuid import UUID

from telethon import TelegramClient

from app.lib.logging import log_event
from app.telegram.lease_renewals import LeaseRenewals
from app.telegram.leases import LeaseStore
from app.telegram.runtime_contract import Ending, lease_name


def settle_s(ttl_ms: int) -> float:
    """How long a lease store must have been up before a fresh lease counts: two renewal intervals."""
    return 2 * ttl_ms / 3000


class ProfileLease:
    def __init__(
        self,
        leases: LeaseStore,
        profile_id: UUID,
        holder: str,
        ttl_ms: int,
        owns: Callable[[UUID], bool],
        renewals: LeaseRenewals | None = None,
    ) -> None:
        self.leases = leases
        self.renewals = renewals or LeaseRenewals(leases, holder, ttl_ms)
        self.profile_id = profile_id
        self.holder = holder
        self.ttl_ms = ttl_ms
        self._owns = owns
        self.name = lease_name(profile_id)

    @property
    def renew_interval_s(self) -> float:
        return self.ttl_ms / 3000

    async def take(self) -> bool:
        """Hold the lease as the profile's assigned owner (after the settle wait when the store just restarted)."""
        if not self._owns(self.profile_id):
            return False
        try:
            if not await self.leases.acquire(self.name, self.holder, self.ttl_ms):
                return False
            uptime = await self.leases.uptime_s()
            settle = settle_s(self.ttl_ms)
            if uptime is None or uptime >= settle:
                return True
            await asyncio.sleep(settle - uptime)
            if self._owns(self.profile_id) and await self.leases.renew(self.name, self.holder, self.ttl_ms):
                return True
            await self.leases.release(self.name, self.holder)
        except Exception:  # the lease store is unreachable: try again later
            return False
        return False

    async def release(self) -> None:
        await self.leases.release(self.name, self.holder)

    async def keep(self, client: TelegramClient) -> str:
        """Renew the lease; if it is lost, disconnect at once so two processes never share the session.

        Returns why it ended the connection (an `Ending`).
        """
        while True:
            held = await self.renewals.renewed(self.name, lambda: self._owns(self.profile_id))
            if held is None:  # another worker is the profile's owner now: the round left the lease alone
                log_event(
                    "info",
                    "telegram.runtime",
                    "profile.handed_over",
                    "another worker owns this profile now; disconnecting",
                    profile_id=self.profile_id,
                    context={"worker_id": self.holder},
                )
                await client.disconnect()
                return Ending.HANDED_OVER
            if not held:  # lost, or the lease store is unreachable: assume the worst
                log_event(
                    "warning",
                    "telegram.runtime",
                    "profile.lease_lost",
                    "lost the profile lease; disconnecting",
                    profile_id=self.profile_id,
                    context={"worker_id": self.holder},
                )
                await client.disconnect()
                return Ending.LEASE_LOST

    async def hold(self) -> None:
        """Keep renewing a lease we still hold (never re-taking a lost one) while a disconnected client drains."""
        while True:
            await self.renewals.renewed(self.name)
