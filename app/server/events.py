"""Wires events into the app: publish-after-commit for the engine's sessions, and the webhook dispatcher.

`EventsRuntime` is a plugin listed after the channels plugin, so its lifespan starts after pub/sub is up and
stops before pub/sub goes down.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.channels import ChannelsPlugin
from litestar.config.app import AppConfig
from litestar.plugins import InitPlugin

from app.domain.events.pubsub import DISPATCH_CHANNEL, EventPublisher
from app.domain.events.services import attach_sink, detach_sink
from app.domain.webhooks.dispatcher import WebhookDispatcher
from app.server.context import AppContext


class EventsRuntime(InitPlugin):
    def __init__(self, ctx: AppContext, channels: ChannelsPlugin, *, run_dispatcher: bool) -> None:
        self.ctx = ctx
        self.channels = channels
        self.cross_process = ctx.redis is not None
        self.publisher = EventPublisher(channels, cross_process=self.cross_process)
        self.dispatcher = (
            WebhookDispatcher(ctx.sessionmaker, ctx.secret_box, ctx.settings, targets=ctx.target_policy)
            if run_dispatcher
            else None
        )
        if self.dispatcher is not None:
            self.publisher.on_dispatch(self.dispatcher.wake)

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.lifespan.append(self.lifespan)
        return app_config

    @asynccontextmanager
    async def lifespan(self, _: Litestar) -> AsyncIterator[None]:
        attach_sink(self.ctx.engine, self.publisher)
        relay: asyncio.Task[None] | None = None
        try:
            if self.dispatcher is not None:
                await self.dispatcher.start()
                if self.cross_process:
                    relay = asyncio.create_task(self._relay_wakeups(self.dispatcher))
            yield
        finally:
            if relay is not None:
                relay.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await relay
            if self.dispatcher is not None:
                await self.dispatcher.stop()
            detach_sink(self.ctx.engine)

    async def _relay_wakeups(self, dispatcher: WebhookDispatcher) -> None:
        """Wake this process's dispatcher when another process committed due deliveries."""
        async with self.channels.start_subscription(DISPATCH_CHANNEL) as subscriber:
            async for _ in subscriber.iter_events():
                dispatcher.wake()
