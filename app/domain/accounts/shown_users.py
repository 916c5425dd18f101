"""What `GET /auth/me` shows, kept in this process for `USER_CACHE_TTL_S` so that call needs no database.

Only the shown fields are kept (no password hash). Whether the token is valid and not revoked is checked on
every request before this is consulted (`current_user.authenticate_token`, run by the auth middleware), so a
logout or a revoked login is refused at once in every process; what may lag here is only what the user row
shows. A sign-in through this process forgets the entry at once and again after its commit; a change made by
another process (a sign-in there, a promotion by `python -m app users create-admin`) is shown within
`USER_CACHE_TTL_S`.
"""

from __future__ import annotations

import time
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db.models import User
from app.domain.accounts.schemas import UserOut
from app.lib.errors import NotFound


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        email=user.email,
        role=user.role,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
    )


class ShownUsers:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], ttl_s: float, max_entries: int = 10_000):
        self._sessionmaker = sessionmaker
        self.ttl_s = ttl_s
        self._max_entries = max_entries
        self._entries: dict[UUID, tuple[float, UserOut]] = {}
        self.reads = 0  # database reads, for tests and the profile

    async def get(self, user_id: UUID) -> UserOut:
        """The user as `GET /auth/me` shows it; NotFound when the row is gone."""
        entry = self._entries.get(user_id)
        if entry is not None and time.monotonic() - entry[0] < self.ttl_s:
            return entry[1]
        self.reads += 1
        async with self._sessionmaker() as session:
            user = await session.get(User, user_id)
            if user is None:
                self._entries.pop(user_id, None)
                raise NotFound("user not found")
            shown = user_out(user)
        if self.ttl_s > 0:
            if len(self._entries) >= self._max_entries:
                del self._entries[next(iter(self._entries))]  # the oldest insertion
            self._entries[user_id] = (time.monotonic(), shown)
        return shown

    def forget(self, user_id: UUID) -> None:
        self._entries.pop(user_id, None)
