"""Login throttling: failures counted per (account, client IP) and per client IP, with progressive backoff.

Counting per account *and* client means a stranger hammering an account from their address throttles only
that address: the owner signing in from elsewhere is not locked out. Every attempt is counted before its
password is checked (atomically, see app.lib.counters), so a burst of parallel guesses gets no more checks
than the limit; a success forgets the pair's failures and takes its own attempt back. Each attempt beyond a
limit doubles the wait (up to `LOGIN_THROTTLE_MAX_S`); every counter expires, so no lockout is permanent.
"""

from __future__ import annotations

import hashlib
import math

from app.lib.counters import AttemptCounter, Window
from app.lib.errors import TooManyRequests


class LoginThrottle:
    def __init__(self, counter: AttemptCounter, *, per_account: int, per_ip: int, window_s: int, max_s: int) -> None:
        self._counter = counter
        self._account_window = Window(limit=per_account, window_s=window_s, max_s=max_s)
        self._ip_window = Window(limit=per_ip, window_s=window_s, max_s=max_s)

    @staticmethod
    def _key(kind: str, *values: str) -> str:
        digest = hashlib.sha256("\x00".join(values).encode()).hexdigest()[:32]
        return f"login:{kind}:{digest}"

    def _keys(self, email: str, ip: str) -> tuple[tuple[str, Window], tuple[str, Window]]:
        return (self._key("acct-ip", email, ip), self._account_window), (self._key("ip", ip), self._ip_window)

    async def begin(self, email: str, ip: str) -> None:
        """Count this attempt; raise 429 with Retry-After when the pair or the IP is over its limit."""
        wait = await self._counter.hit_all(self._keys(email, ip))
        if wait is not None:
            raise TooManyRequests(
                "too many failed sign-in attempts; try again later",
                retry_after=math.ceil(wait),
                code="login_throttled",
            )

    async def succeeded(self, email: str, ip: str) -> None:
        pair, address = self._keys(email, ip)
        await self._counter.reset(pair[0])
        await self._counter.release(address[0])

    async def abandoned(self, email: str, ip: str) -> None:
        """The password was never checked (the server was busy): the attempt does not count."""
        for key, _ in self._keys(email, ip):
            await self._counter.release(key)
