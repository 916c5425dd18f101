"""Login throttling per account and per client IP: a fixed window of failures, then 429 until it ends.

There is no permanent lockout: the counters expire with the window. Counters live in the configured store
(in-process or Redis), so every API replica sees the same counts.
"""

from __future__ import annotations

import hashlib

from litestar.stores.base import Store

from app.lib.errors import TooManyRequests


class LoginThrottle:
    def __init__(self, store: Store, *, per_account: int, per_ip: int, window_s: int) -> None:
        self._store = store
        self._limits = {"acct": per_account, "ip": per_ip}
        self._window_s = window_s

    @staticmethod
    def _key(kind: str, value: str) -> str:
        return f"login:{kind}:{hashlib.sha256(value.encode()).hexdigest()[:32]}"

    async def _count(self, key: str) -> int:
        raw = await self._store.get(key)
        return int(raw) if raw else 0

    async def check(self, email: str, ip: str) -> None:
        """Raise 429 with Retry-After when the account or the IP has used up its window."""
        for kind, value in (("acct", email), ("ip", ip)):
            key = self._key(kind, value)
            if await self._count(key) >= self._limits[kind]:
                retry_after = await self._store.expires_in(key) or self._window_s
                raise TooManyRequests(
                    "too many failed sign-in attempts; try again later",
                    retry_after=retry_after,
                    code="login_throttled",
                )

    async def record_failure(self, email: str, ip: str) -> None:
        for kind, value in (("acct", email), ("ip", ip)):
            key = self._key(kind, value)
            count = await self._count(key) + 1
            remaining = await self._store.expires_in(key)
            await self._store.set(key, str(count), expires_in=remaining or self._window_s)

    async def reset_account(self, email: str) -> None:
        await self._store.delete(self._key("acct", email))
