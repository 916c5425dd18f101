"""Leases that make one process the single owner of a Telegram session.

One session used from two hosts at once makes Telegram answer AUTH_KEY_DUPLICATED and kill the login, so a
process connects a profile only while it holds that profile's lease. In-process in the embedded default,
Redis `SET NX PX` with compare-and-renew in production.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod

from redis.asyncio import Redis
from redis.exceptions import ResponseError

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
# Every key of one owner at once: the same compare-and-renew as _RENEW, one answer (1 held, 0 not) per key.
_RENEW_MANY = """
local held = {}
for i, key in ipairs(KEYS) do
  if redis.call('get', key) == ARGV[1] then
    held[i] = redis.call('pexpire', key, ARGV[2])
  else
    held[i] = 0
  end
end
return held
"""
RENEW_CHUNK = 500  # keys per script call: one call never keeps Redis busy for long
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class LeaseStore(ABC):
    """Exclusive, expiring ownership of named resources."""

    @abstractmethod
    async def acquire(self, name: str, owner: str, ttl_ms: int) -> bool:
        """Take the lease if it is free (or already ours); True when `owner` holds it afterwards."""

    @abstractmethod
    async def renew(self, name: str, owner: str, ttl_ms: int) -> bool:
        """Extend the lease if `owner` still holds it."""

    async def renew_many(self, names: list[str], owner: str, ttl_ms: int) -> dict[str, bool]:
        """Extend each of these leases that `owner` still holds (one round trip where the store allows)."""
        return {name: await self.renew(name, owner, ttl_ms) for name in names}

    @abstractmethod
    async def release(self, name: str, owner: str) -> None:
        """Give the lease up if `owner` holds it."""

    @abstractmethod
    async def holder(self, name: str) -> str | None:
        """Who holds the lease now, if anyone."""

    async def holders(self, names: list[str]) -> dict[str, str | None]:
        """Who holds each of these leases now."""
        return {name: await self.holder(name) for name in names}

    async def uptime_s(self) -> float | None:
        """Seconds since the store last started empty, or None when it cannot lose leases silently."""
        return None


class MemoryLeaseStore(LeaseStore):
    def __init__(self) -> None:
        self._leases: dict[str, tuple[str, float]] = {}
        self._lock = asyncio.Lock()

    def _current(self, name: str) -> str | None:
        entry = self._leases.get(name)
        if entry is None or entry[1] <= time.monotonic():
            self._leases.pop(name, None)
            return None
        return entry[0]

    async def acquire(self, name: str, owner: str, ttl_ms: int) -> bool:
        async with self._lock:
            if self._current(name) not in (None, owner):
                return False
            self._leases[name] = (owner, time.monotonic() + ttl_ms / 1000)
            return True

    async def renew(self, name: str, owner: str, ttl_ms: int) -> bool:
        async with self._lock:
            if self._current(name) != owner:
                return False
            self._leases[name] = (owner, time.monotonic() + ttl_ms / 1000)
            return True

    async def renew_many(self, names: list[str], owner: str, ttl_ms: int) -> dict[str, bool]:
        async with self._lock:
            held = {name: self._current(name) == owner for name in names}
            until = time.monotonic() + ttl_ms / 1000
            for name in names:
                if held[name]:
                    self._leases[name] = (owner, until)
            return held

    async def release(self, name: str, owner: str) -> None:
        async with self._lock:
            if self._current(name) == owner:
                del self._leases[name]

    async def holder(self, name: str) -> str | None:
        async with self._lock:
            return self._current(name)


class RedisLeaseStore(LeaseStore):
    def __init__(self, redis: Redis, namespace: str = "tgmp:lease") -> None:
        self._redis = redis
        self._namespace = namespace

    def _key(self, name: str) -> str:
        return f"{self._namespace}:{name}"

    async def acquire(self, name: str, owner: str, ttl_ms: int) -> bool:
        key = self._key(name)
        if await self._redis.set(key, owner, nx=True, px=ttl_ms):
            return True
        return await self.renew(name, owner, ttl_ms)

    async def renew(self, name: str, owner: str, ttl_ms: int) -> bool:
        result = await self._redis.eval(_RENEW, 1, self._key(name), owner, str(ttl_ms))
        return bool(result)

    async def renew_many(self, names: list[str], owner: str, ttl_ms: int) -> dict[str, bool]:
        if not names:
            return {}
        chunks = [names[i : i + RENEW_CHUNK] for i in range(0, len(names), RENEW_CHUNK)]
        async with self._redis.pipeline(transaction=False) as pipe:
            for chunk in chunks:
                pipe.eval(_RENEW_MANY, len(chunk), *(self._key(name) for name in chunk), owner, str(ttl_ms))
            answers = await pipe.execute()
        held: dict[str, bool] = {}
        for chunk, answer in zip(chunks, answers, strict=True):
            held.update((name, bool(value)) for name, value in zip(chunk, answer, strict=True))
        return held

    async def release(self, name: str, owner: str) -> None:
        await self._redis.eval(_RELEASE, 1, self._key(name), owner)

    async def holder(self, name: str) -> str | None:
        value = await self._redis.get(self._key(name))
        return value.decode() if isinstance(value, bytes) else value

    async def holders(self, names: list[str]) -> dict[str, str | None]:
        if not names:
            return {}
        values = await self._redis.mget([self._key(name) for name in names])
        return {
            name: value.decode() if isinstance(value, bytes) else value
            for name, value in zip(names, values, strict=True)
        }

    async def uptime_s(self) -> float | None:
        # A restarted Redis may have come back without the leases while their holders are still connected.
        try:
            info = await self._redis.info("server")
        except ResponseError:  # INFO not permitted (ACLs): assume the worst, i.e. it has just restarted
            return 0.0
        return float(info.get("uptime_in_seconds", 0))
