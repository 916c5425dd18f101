"""The bounded subscriber: overflow is flagged, and leaving after an overflow never blocks."""

from __future__ import annotations

import asyncio

import pytest

from app.domain.events.pubsub import BoundedSubscriber, create_channels_plugin

pytestmark = pytest.mark.asyncio


async def test_overflow_is_flagged_and_unsubscribe_does_not_wait_behind_the_backlog():
    plugin = create_channels_plugin(None, queue_size=2)
    async with plugin:
        subscriber = await plugin.subscribe("user:x")
        assert isinstance(subscriber, BoundedSubscriber)
        for _ in range(5):
            await plugin.wait_published(b"{}", "user:x")
        await asyncio.wait_for(subscriber.overflowed.wait(), 5)
        await asyncio.wait_for(plugin.unsubscribe(subscriber), 5)
