"""How often login codes may be requested: per phone number (whoever asks for it) and per app user.

Telegram sends each code by SMS or to the account's apps; without a limit any tenant could flood a number with
codes. Every request counts before the code is sent (atomically, see app.lib.counters), so parallel requests
are bounded too; over a limit the answer is 429 with Retry-After.
"""

from __future__ import annotations

import hashlib
import math
from uuid import UUID

from app.lib.counters import AttemptCounter, Window
from app.lib.errors import TooManyRequests


class CodeSendLimit:
    def __init__(self, counter: AttemptCounter, *, per_phone: int, per_user: int, window_s: int) -> None:
        self._counter = counter
        self._phone_window = Window(limit=per_phone, window_s=window_s, max_s=window_s)
        self._user_window = Window(limit=per_user, window_s=window_s, max_s=window_s)

    async def spend(self, owner_id: UUID, phone: str) -> None:
        """Count one code request; raise 429 when the number or the user has used up the window."""
        phone_key = f"code:phone:{hashlib.sha256(phone.encode()).hexdigest()[:32]}"
        wait = await self._counter.hit_all(
            ((phone_key, self._phone_window), (f"code:user:{owner_id}", self._user_window))
        )
        if wait is not None:
            raise TooManyRequests(
                "too many login codes were requested; try again later",
                retry_after=math.ceil(wait),
                code="code_requests_limited",
            )
