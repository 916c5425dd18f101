"""Pub/sub for committed events: Litestar channels, in-process in the embedded default, Redis otherwise.

Every user's events go to the channel `user:{user_id}`; `webhooks:due` tells dispatchers in other processes
that deliveries became due. A subscriber's queue is bounded: when it overflows the subscriber is marked, and
its WebSocket is closed instead of buffering without limit.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from uuid import UUID

from litestar.channels import ChannelsPlugin, Subscriber
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from redis.asyncio import Redis

from app.domain.events.schemas import EventEnvelope, encode_envelope
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
    """Publishes what a transaction announced, once it has committed; never before."""

    def __init__(self, channels: ChannelsPlugin, *, cross_process: bool) -> None:
        self._channels = channels
        self._cross_process = cross_process
        self._local_wakers: list[Callable[[], None]] = []

    def on_dispatch(self, waker: Callable[[], None]) -> None:
        """Call `waker` (in this process) whenever committed deliveries became due."""
        self._local_wakers.append(waker)

    def publish_committed(self, envelopes: Sequence[EventEnvelope], wake_dispatcher: bool) -> None:
        try:
            for envelope in envelopes:
                self._channels.publish(encode_envelope(envelope), user_channel(envelope.user_id))
            if wake_dispatcher and self._cross_process:
                self._channels.publish(b"due", DISPATCH_CHANNEL)
        except RuntimeError:
            # The channels plugin is not running (start-up or shutdown): WebSocket clients catch up with `since`.
            log_event("warning", "events", "events.publish_skipped", "pub/sub is not running; event not pushed")
        if wake_dispatcher:
            for waker in self._local_wakers:
                waker()
