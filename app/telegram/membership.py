"""Which runtime processes are alive, and which of them should own a given profile.

Workers announce themselves with a heartbeat; each profile is assigned to the live worker with the highest
rendezvous hash, so profiles spread evenly and only the profiles of a worker that leaves or dies move.
The lease stays the safety net: a worker connects a profile only while it holds the profile's lease.
"""

from __future__ import annotations

import hashlib
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from uuid import UUID

from redis.asyncio import Redis


def rendezvous_owner(profile_id: UUID, workers: Sequence[str]) -> str | None:
    """The worker that should own the profile (highest random weight)."""
    if not workers:
        return None
    return max(workers, key=lambda worker: hashlib.sha256(f"{worker}:{profile_id}".encode()).digest())


class Membership(ABC):
    @abstractmethod
    async def heartbeat(self, worker_id: str) -> None:
        """Announce that `worker_id` is alive."""

    @abstractmethod
    async def leave(self, worker_id: str) -> None:
        """Withdraw `worker_id` at once (a clean shutdown hands its profiles over without waiting)."""

    @abstractmethod
    async def live_workers(self) -> list[str]:
        """Workers whose last heartbeat is recent enough."""


class SingleProcessMembership(Membership):
    """Embedded default: this process is the only worker."""

    def __init__(self) -> None:
        self._workers: set[str] = set()

    async def heartbeat(self, worker_id: str) -> None:
        self._workers.add(worker_id)

    async def leave(self, worker_id: str) -> None:
        self._workers.discard(worker_id)

    async def live_workers(self) -> list[str]:
        return sorted(self._workers)


class RedisMembership(Membership):
    """A sorted set of worker ids scored by their last heartbeat (milliseconds)."""

    def __init__(self, redis: Redis, *, ttl_ms: int = 6000, key: str = "tgmp:workers") -> None:
        self._redis = redis
        self._ttl_ms = ttl_ms
        self._key = key

    async def heartbeat(self, worker_id: str) -> None:
        now = int(time.time() * 1000)
        await self._redis.zadd(self._key, {worker_id: now})
        await self._redis.zremrangebyscore(self._key, 0, now - 10 * self._ttl_ms)

    async def leave(self, worker_id: str) -> None:
        await self._redis.zrem(self._key, worker_id)

    async def live_workers(self) -> list[str]:
        cutoff = int(time.time() * 1000) - self._ttl_ms
        members = await self._redis.zrangebyscore(self._key, cutoff, "+inf")
        return sorted(m.decode() if isinstance(m, bytes) else str(m) for m in members)
