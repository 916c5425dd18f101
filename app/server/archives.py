"""Wires channel archives into the app: in processes with background work, the archive scheduler runs.

`ArchivesRuntime` is a plugin; its lifespan is appended after the app's own, so the Telegram runtime is up before
the first archive run and stops after the last one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.plugins import InitPlugin

from app.domain.archives.scheduler import ArchiveScheduler
from app.server.context import AppContext


class ArchivesRuntime(InitPlugin):
    def __init__(self, ctx: AppContext, *, run_scheduler: bool) -> None:
        self.scheduler = (
            ArchiveScheduler(
                ctx.sessionmaker,
                ctx.telegram.runtime,
                ctx.telegram.commands,
                ctx.secret_box,
                ctx.settings,
                ctx.target_policy,
            )
            if run_scheduler
            else None
        )

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.lifespan.append(self.lifespan)
        app_config.state["archives"] = self  # controllers reach this process's scheduler as app.state.archives
        return app_config

    @asynccontextmanager
    async def lifespan(self, _: Litestar) -> AsyncIterator[None]:
        if self.scheduler is None:
            yield
            return
        await self.scheduler.start()
        try:
            yield
        finally:
            await self.scheduler.stop()
