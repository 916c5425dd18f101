"""Leases, membership and the command bus on both backends (in-process and a real Redis)."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from app.lib.errors import AppError, NotFound
from app.telegram.bus import CommandBus
from app.telegram.leases import MemoryLeaseStore
from app.telegram.membership import RedisMembership, rendezvous_owner


@pytest.fixture
async def redis(redis_url) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


async def test_lease_is_exclusive_renewable_and_expires(leases):
    assert await leases.acquire("p", "a", 300)
    assert not await leases.acquire("p", "b", 300)
    assert await leases.acquire("p", "a", 300)  # re-entrant for the holder
    assert await leases.renew("p", "a", 300)
    assert not await leases.renew("p", "b", 300)
    await leases.release("p", "b")  # not the holder: no effect
    assert await leases.holder("p") == "a"
    await asyncio.sleep(0.4)
    assert await leases.holder("p") is None
    assert await leases.acquire("p", "b", 300)
    await leases.release("p", "b")
    assert await leases.holder("p") is None


async def test_holders_of_many_leases_and_whether_the_store_can_lose_them(leases):
    assert await leases.acquire("p1", "a", 5000)
    assert await leases.acquire("p2", "b", 5000)
    assert await leases.holders(["p1", "p2", "p3"]) == {"p1": "a", "p2": "b", "p3": None}
    assert await leases.holders([]) == {}
    uptime = await leases.uptime_s()
    # The in-process store cannot lose a lease behind its holder's back; Redis can (a restart), so it says when.
    assert (uptime is None) == isinstance(leases, MemoryLeaseStore)
    assert uptime is None or uptime >= 0


def test_rendezvous_spreads_evenly_and_moves_only_a_leavers_profiles():
    workers = ["w1", "w2", "w3"]
    profiles = [uuid.uuid4() for _ in range(3000)]
    owners = {p: rendezvous_owner(p, workers) for p in profiles}
    counts = Counter(owners.values())
    assert all(800 < counts[w] < 1200 for w in workers), counts
    after = {p: rendezvous_owner(p, ["w1", "w3"]) for p in profiles}
    moved = [p for p in profiles if owners[p] != after[p]]
    assert all(owners[p] == "w2" for p in moved)
    assert rendezvous_owner(profiles[0], []) is None


async def test_membership_forgets_silent_workers(redis):
    membership = RedisMembership(redis, ttl_ms=300)
    await membership.heartbeat("a")
    await membership.heartbeat("b")
    assert await membership.live_workers() == ["a", "b"]
    await membership.leave("a")
    assert await membership.live_workers() == ["b"]
    await asyncio.sleep(0.4)
    assert await membership.live_workers() == []


async def test_command_bus_answers_relays_errors_and_times_out(redis):
    worker, api = CommandBus(redis, "worker"), CommandBus(redis, "api")

    async def echo(payload: dict) -> dict:
        return {"echo": payload["value"]}

    async def missing(payload: dict) -> None:
        raise NotFound("receiver not found", code="peer_not_found")

    async def slow(payload: dict) -> None:
        await asyncio.sleep(5)

    worker.handle("echo", echo)
    worker.handle("missing", missing)
    worker.handle("slow", slow)
    await worker.start()
    await api.start()
    try:
        assert await api.call("worker", "echo", {"value": 7}, timeout_s=5) == {"echo": 7}
        with pytest.raises(AppError) as error:
            await api.call("worker", "missing", {}, timeout_s=5)
        assert (error.value.status, error.value.error_code) == (404, "peer_not_found")
        with pytest.raises(AppError) as timeout:
            await api.call("worker", "slow", {}, timeout_s=0.3)
        assert (timeout.value.status, timeout.value.error_code) == (503, "worker_timeout")
        with pytest.raises(AppError) as nobody:
            await api.call("gone", "echo", {"value": 1}, timeout_s=1)
        assert (nobody.value.status, nobody.value.error_code) == (503, "worker_unavailable")
    finally:
        await api.stop()
        await worker.stop()
