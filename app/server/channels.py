"""Wires channel failover into the app: processes with background work run the failover runner and watch
every profile's client for channels it lost.

A plugin whose lifespan is appended after the app's own, so the Telegram runtime is up before the first sweep.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.plugins import InitPlugin

from app.domain.channels.failover import ChannelFailover
from app.server.context import AppContext
from app.telegram.channel_access import ChannelAccessWatch


class ChannelsRuntime(InitPlugin):
    def __init__(self, ctx: AppContext, *, run_failover: bool) -> None:
        telegram = ctx.telegram
        self.failover = (
            ChannelFailover(
                ctx.sessionmaker,
                telegram.commands,
                telegram.leases,
                ctx.settings,
                instance_id=telegram.runtime.instance_id,
            )
            if run_failover
            else None
        )
        # Where the failover runs, every profile's client also reports channels it lost (kicked, banned, deleted).
        self._runtime = telegram.runtime
        # Added now, before the runtime starts, so the profiles it connects at start-up get the handler too.
        self._access = ChannelAccessWatch(self.failover.monitors, self.failover.lost) if self.failover else None
        if self._access is not None:
            self._runtime.prepare_hooks.append(self._access.prepare)

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.lifespan.append(self.lifespan)
        app_config.state["channels_runtime"] = self
        return app_config

    @asynccontextmanager
    async def lifespan(self, _: Litestar) -> AsyncIterator[None]:
        if self.failover is None or self._access is None:
            yield
            return
        await self.failover.start()
        try:
            yield
        finally:
            with contextlib.suppress(ValueError):
                self._runtime.prepare_hooks.remove(self._access.prepare)
            await self.failover.stop()
