"""Fixtures of the Telegram coordination tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from app.telegram.leases import LeaseStore, MemoryLeaseStore, RedisLeaseStore


@pytest.fixture(params=["memory", "redis"])
async def leases(request, redis_url) -> AsyncIterator[LeaseStore]:
    """Both lease stores: in-process, and on a Redis emptied before and after."""
    if request.param == "memory":
        yield MemoryLeaseStore()
        return
    client = Redis.from_url(redis_url)
    await client.flushdb()
    yield RedisLeaseStore(client)
    await client.flushdb()
    await client.aclose()
