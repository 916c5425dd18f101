"""Open `WS /events` sockets of a revoked login close at once, in every API process.

Logout and refresh-token reuse announce the revoked login family on the events pub/sub (in-process in the
embedded default, Redis otherwise); each process relays the announcement to the sockets of that family that
it serves, which then close with 4401. The access-token denylist still rejects the family's tokens on every
request; this only makes already-open sockets follow it without waiting for the token to expire.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.channels import ChannelsPlugin
from litestar.config.app import AppConfig
from litestar.plugins import InitPlugin

from app.lib.logging import log_event

REVOKED_LOGINS_CHANNEL = "logins:revoked"


class LoginRevocations(InitPlugin):
    """Listed after the channels plugin, so its relay starts once pub/sub is up and stops before it goes."""

    def __init__(self, channels: ChannelsPlugin) -> None:
        self._channels = channels
        self._watchers: defaultdict[str, set[asyncio.Event]] = defaultdict(set)
        self._relaying = asyncio.Event()

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.lifespan.append(self.lifespan)
        return app_config

    def announce(self, family_id: str) -> None:
        """Tell every API process that this login family is revoked."""
        try:
            self._channels.publish(family_id.encode(), REVOKED_LOGINS_CHANNEL)
        except RuntimeError:
            # pub/sub not running (start-up or shutdown): open sockets close when their token expires instead
            log_event("warning", "accounts", "logins.revocation_not_pushed", "pub/sub is not running")

    @contextlib.contextmanager
    def watch(self, family_id: str) -> Iterator[asyncio.Event]:
        """An event set when the family is revoked, for as long as the block runs."""
        revoked = asyncio.Event()
        self._watchers[family_id].add(revoked)
        try:
            yield revoked
        finally:
            watchers = self._watchers.get(family_id)
            if watchers is not None:
                watchers.discard(revoked)
                if not watchers:
                    del self._watchers[family_id]

    async def relaying(self) -> None:
        """Return once this process receives announcements (tests wait on it)."""
        await self._relaying.wait()

    @asynccontextmanager
    async def lifespan(self, _: Litestar) -> AsyncIterator[None]:
        relay = asyncio.create_task(self._relay())
        try:
            yield
        finally:
            relay.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relay

    async def _relay(self) -> None:
        async with self._channels.start_subscription(REVOKED_LOGINS_CHANNEL) as subscriber:
            self._relaying.set()
            async for raw in subscriber.iter_events():
                for revoked in tuple(self._watchers.get(raw.decode(), ())):
                    revoked.set()
