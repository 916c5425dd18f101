"""Atomic attempt counters with a growing expiry: in-process for the embedded default, Redis otherwise.

`hit()` counts an attempt and returns the new count in one atomic step, so a burst of parallel attempts can
never all see the same old count. A key's window starts at its first hit; every hit beyond the limit doubles
how long the key stays (capped), which is the progressive backoff. Keys always expire: no permanent lockout.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass

from redis.asyncio import Redis


@dataclass(frozen=True, slots=True)
class Hit:
    count: int
    retry_after_s: float  # how long until the key expires


@dataclass(frozen=True, slots=True)
class Window:
    limit: int
    window_s: float
    max_s: float  # longest the backoff may grow to

    def expiry_after(self, count: int, remaining_s: float) -> float:
        """The key's lifetime after its `count`-th hit; `remaining_s` < 0 when it had none."""
        if count > self.limit:
            backoff = self.window_s * 2.0 ** min(count - self.limit - 1, 64)
            return max(remaining_s, min(backoff, max(self.max_s, self.window_s)))
        return remaining_s if remaining_s > 0 else self.window_s


class AttemptCounter(ABC):
    @abstractmethod
    async def hit(self, key: str, window: Window) -> Hit:
        """Count one attempt atomically and return the new count."""

    @abstractmethod
    async def release(self, key: str) -> None:
        """Take back one attempt (it was not spent, e.g. the server was too busy to check it)."""

    @abstractmethod
    async def reset(self, key: str) -> None:
        """Forget the key."""

    async def hit_all(self, keyed: Iterable[tuple[str, Window]]) -> float | None:
        """Count one attempt on every key; the longest wait among those now over their limit, None if none is."""
        waits = []
        for key, window in keyed:
            hit = await self.hit(key, window)
            if hit.count > window.limit:
                waits.append(hit.retry_after_s)
        return max(waits) if waits else None


class MemoryAttemptCounter(AttemptCounter):
    """One process's counters; every operation runs without awaiting, so it is atomic on the event loop."""

    _PURGE_EVERY = 1024

    def __init__(self) -> None:
        self._entries: dict[str, tuple[int, float]] = {}
        self._hits = 0

    def _live(self, key: str, now: float) -> tuple[int, float]:
        count, expires_at = self._entries.get(key, (0, 0.0))
        return (count, expires_at) if expires_at > now else (0, 0.0)

    async def hit(self, key: str, window: Window) -> Hit:
        now = time.monotonic()
        self._hits += 1
        if self._hits % self._PURGE_EVERY == 0:
            self._entries = {k: v for k, v in self._entries.items() if v[1] > now}
        count, expires_at = self._live(key, now)
        count += 1
        lifetime = window.expiry_after(count, expires_at - now if expires_at else -1.0)
        self._entries[key] = (count, now + lifetime)
        return Hit(count, lifetime)

    async def release(self, key: str) -> None:
        count, expires_at = self._live(key, time.monotonic())
        if count > 1:
            self._entries[key] = (count - 1, expires_at)
        else:
            self._entries.pop(key, None)

    async def reset(self, key: str) -> None:
        self._entries.pop(key, None)


# KEYS[1]; ARGV: limit, window ms, max ms. Same arithmetic as Window.expiry_after, inside Redis.
_HIT = """
local count = redis.call('INCR', KEYS[1])
local remaining = redis.call('PTTL', KEYS[1])
local limit, window, max = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local lifetime
if count > limit then
  local backoff = math.min(window * 2 ^ math.min(count - limit - 1, 64), math.max(max, window))
  lifetime = math.max(remaining, backoff)
elseif remaining > 0 then
  lifetime = remaining
else
  lifetime = window
end
lifetime = math.floor(lifetime)
if lifetime ~= remaining then redis.call('PEXPIRE', KEYS[1], lifetime) end
return {count, lifetime}
"""
_RELEASE = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 1 then redis.call('DECR', KEYS[1]) elseif count == 1 then redis.call('DEL', KEYS[1]) end
return count
"""


class RedisAttemptCounter(AttemptCounter):
    """Counters shared by every process, each operation one Lua script (atomic in Redis)."""

    def __init__(self, redis: Redis, namespace: str) -> None:
        self._redis = redis
        self._namespace = namespace
        self._hit = redis.register_script(_HIT)
        self._release = redis.register_script(_RELEASE)

    def _key(self, key: str) -> str:
        return f"{self._namespace}:{key}"

    async def hit(self, key: str, window: Window) -> Hit:
        count, lifetime_ms = await self._hit(
            keys=[self._key(key)],
            args=[window.limit, int(window.window_s * 1000), int(window.max_s * 1000)],
        )
        return Hit(int(count), int(lifetime_ms) / 1000)

    async def release(self, key: str) -> None:
        await self._release(keys=[self._key(key)])

    async def reset(self, key: str) -> None:
        await self._redis.delete(self._key(key))


def create_attempt_counter(redis: Redis | None, namespace: str) -> AttemptCounter:
    return MemoryAttemptCounter() if redis is None else RedisAttemptCounter(redis, f"tgmp:{namespace}")
