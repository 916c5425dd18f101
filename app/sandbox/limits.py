"""Telegram's limits that the sandbox enforces: difference sizes and username lookups.

Telegram documents `updates.getDifference(pts_total_limit)`: a gap above the limit answers `differenceTooLong`
(and with no limit given, a large gap is capped at 1,000,000); `updates.getChannelDifference(limit)` answers
`channelDifferenceTooLong` when more than `limit` updates are missing. `contacts.resolveUsername` is rate limited
per account: a burst of lookups is answered `FLOOD_WAIT_X`, and the waits grow while the burst continues
(Telegram does not publish the numbers; these are conservative stand-ins a test can lower).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

ACCOUNT_DIFFERENCE_BOUND = 1_000_000  # Telegram's documented default pts_total_limit for large gaps


@dataclass
class SandboxLimits:
    account_difference_bound: int = ACCOUNT_DIFFERENCE_BOUND
    resolve_username_burst: int = 30  # lookups per account within the window
    resolve_username_window_s: float = 300.0
    resolve_username_max_wait_s: int = 86_400
    file_reference_ttl_s: int = 2 * 3600  # how long a file reference handed out with a message stays usable


@dataclass
class UsernameLookups:
    """Per-account sliding window of resolveUsername calls; answers the FLOOD_WAIT seconds or None."""

    limits: SandboxLimits
    _calls: dict[int, deque[float]] = field(default_factory=dict)
    _refusals: dict[int, int] = field(default_factory=dict)

    def wait_for(self, user_id: int, now: float | None = None) -> int | None:
        moment = time.monotonic() if now is None else now
        window = self._calls.setdefault(user_id, deque())
        while window and window[0] <= moment - self.limits.resolve_username_window_s:
            window.popleft()
        if len(window) < self.limits.resolve_username_burst:
            window.append(moment)
            self._refusals.pop(user_id, None)
            return None
        # Telegram escalates: every call made during the wait doubles it.
        refusals = self._refusals.get(user_id, 0)
        self._refusals[user_id] = refusals + 1
        remaining = window[0] + self.limits.resolve_username_window_s - moment
        return int(min(self.limits.resolve_username_max_wait_s, max(1.0, remaining) * 2**refusals)) + 1
