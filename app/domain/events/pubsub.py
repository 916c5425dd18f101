"""Pub/sub for committed events: Litestar channels, in-process in the embedded default, Redis otherwise.

Every user's events go to the channel `user:{user_id}`; `webhooks:due` tells dispatchers in other processes
that deliveries became due. A subscriber's queue is bounded: when it overflows the subscriber is marked, and
its WebSocket is closed instead of buffering without limit.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from uuid import UUID

from litestar.channels import ChannelsPlugin, Subscriber
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.after_commit import on_signal
from app.domain.events.schemas import EventEnvelope, encode_envelope
from app.domain.events.services import EVENT_COMMITTED, WEBHOOKS_DUE
from app.lib.background import ServiceHealth
from app.lib.logging import log_event

DISPATCH_CHANNEL = "webhooks:due"


def user_channel(user_id: UUID | str) -> str:
    return f"user:{user_id}"


class BoundedSubscriber(Subscriber):
    """A subscriber whose full queue flags an overflow instead of silently dropping events."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.overflowed = asyncio.Event()

    async def put(self, item: bytes | None) -> None:
        if item is not None:
            await super().put(item)
            return
        # The stop marker (sent on unsubscribe) must not wait behind a backlog that nobody will read any more.
        while True:
            try:
                self._queue.put_nowait(None)
                return
            except asyncio.QueueFull:
                with contextlib.suppress(asyncio.QueueEmpty):
                    self._queue.get_nowait()
                    self._queue.task_done()

    def put_nowait(self, item: bytes | None) -> bool:
        accepted = super().put_nowait(item)
        if not accepted:
            self.overflowed.set()
        return accepted


def create_channels_plugin(redis: Redis | None, *, queue_size: int) -> ChannelsPlugin:
    backend: ChannelsBackend = (
        MemoryChannelsBackend() if redis is None else RedisChannelsPubSubBackend(redis=redis, key_prefix="tgmp")
    )
    return ChannelsPlugin(
        backend=backend,
        arbitrary_channels_allowed=True,
        subscriber_max_backlog=queue_size,
        subscriber_backlog_strategy="backoff",
        subscriber_class=BoundedSubscriber,
    )


class EventPublisher:
    """Publishes what a transaction announced, once it has committed; never before.

    It listens to the engine's after-commit signals (`app.db.after_commit`) while it runs: each committed
    envelope goes to its user's channel, and with Redis a committed "deliveries are due" reaches the
    dispatchers of the other processes (this process's dispatcher listens to the same signal itself).
    """

    name = "event-publisher"

    def __init__(self, channels: ChannelsPlugin, engine: AsyncEngine, *, cross_process: bool) -> None:
        self._channels = channels
        self._engine = engine
        self._cross_process = cross_process
        self._stops: list[Callable[[], None]] = []
        self.published = 0
        self.skipped = 0

    async def start(self) -> None:
        self._stops = [on_signal(self._engine, EVENT_COMMITTED, self.publish)]
        if self._cross_process:
            self._stops.append(on_signal(self._engine, WEBHOOKS_DUE, self.announce_due))

    async def stop(self) -> None:
        for stop in self._stops:
            stop()
        self._stops = []

    def health(self) -> ServiceHealth:
        return ServiceHealth(
            "running" if self._stops else "stopped", {"published": self.published, "skipped": self.skipped}
        )

    def publish(self, envelope: EventEnvelope) -> None:
        try:
            self._channels.publish(encode_envelope(envelope), user_channel(envelope.user_id))
            self.published += 1
        except RuntimeError:
            # The channels plugin is not running (start-up or shutdown): WebSocket clients catch up with `since`.
            self.skipped += 1
            log_event("warning", "events", "events.publish_skipped", "pub/sub is not running; event not pushed")

    def announce_due(self) -> None:
        try:
            self._channels.publish(b"due", DISPATCH_CHANNEL)
        except RuntimeError:
            log_event("warning", "events", "events.publish_skipped", "pub/sub is not running; dispatchers not woken")


class DispatchRelay:
    """Wakes this process's dispatcher when another process committed due deliveries (with Redis)."""

    name = "dispatch-relay"

    def __init__(self, channels: ChannelsPlugin, wake: Callable[[], None]) -> None:
        self._channels = channels
        self._wake = wake
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._relay(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def health(self) -> ServiceHealth:
        return ServiceHealth.of_task(self._task)

    async def _relay(self) -> None:
        async with self._channels.start_subscription(DISPATCH_CHANNEL) as subscriber:
            async for _ in subscriber.iter_events():
                self._wake()
