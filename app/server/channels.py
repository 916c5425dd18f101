"""Wires channel failover into the app: processes with background work run the failover runner.

A plugin whose lifespan is appended after the app's own, so the Telegram runtime is up before the first sweep.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.plugins import InitPlugin

from app.domain.channels.failover import ChannelFailover
from app.server.context import AppContext


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

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.lifespan.append(self.lifespan)
        app_config.state["channels_runtime"] = self
        return app_config

    @asynccontextmanager
    async def lifespan(self, _: Litestar) -> AsyncIterator[None]:
        if self.failover is None:
            yield
            return
        await self.failover.start()
        try:
            yield
        finally:
            await self.failover.stop()
