"""Username lookups, once per profile and TTL, paced: Telegram rate-limits `contacts.resolveUsername` hard.

A burst of lookups earns FLOOD_WAITs that grow to hours, so: a username the profile resolved (or saw in any
answer) within `USERNAME_CACHE_TTL_S` is answered from the profile's peer records without a call; the calls that
remain are serialised per profile with at least `USERNAME_RESOLVE_INTERVAL_S` between them; and after a
FLOOD_WAIT no lookup of that profile reaches Telegram until the wait is over (the caller gets 429 at once).
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from telethon import TelegramClient, errors, functions, utils

from app.lib.errors import NotFound, TooManyRequests
from app.telegram.peers import PeerRecord, ProfileSession


class PacedLookups:
    """One profile's lookups of one kind, paced: serialised per profile (callers hold `_locks[profile]`), at
    least `interval_s` apart, and refused with 429 while a FLOOD_WAIT Telegram gave for them lasts."""

    what = "resolving"  # for the 429's message: "... before <what> again"

    def __init__(self, interval_s: float = 1.0) -> None:
        self.interval_s = interval_s
        self._locks: dict[UUID, asyncio.Lock] = {}
        self._last_call: dict[UUID, float] = {}
        self._blocked_until: dict[UUID, float] = {}
        self.calls = 0  # lookups that reached Telegram

    async def _paced(self, profile_id: UUID, client: TelegramClient, request: Any) -> Any:
        loop = asyncio.get_running_loop()
        blocked = self._blocked_until.get(profile_id, 0.0) - loop.time()
        if blocked > 0:
            raise TooManyRequests(
                f"Telegram asked this profile to wait {blocked:.0f} s before {self.what} again",
                retry_after=int(blocked) + 1,
                code="FLOOD_WAIT",
            )
        pause = self._last_call.get(profile_id, float("-inf")) + self.interval_s - loop.time()
        if pause > 0:
            await asyncio.sleep(pause)
        self.calls += 1
        try:
            return await client(request, flood_sleep_threshold=0)
        except errors.FloodWaitError as exc:
            self._blocked_until[profile_id] = loop.time() + exc.seconds
            raise
        finally:
            self._last_call[profile_id] = loop.time()


class UsernameLookups(PacedLookups):
    what = "resolving usernames"

    async def resolve(self, profile_id: UUID, client: TelegramClient, username: str) -> PeerRecord:
        """The peer that has `username` for this profile (from its records when fresh, else one paced lookup)."""
        session = client.session
        if not isinstance(session, ProfileSession):
            raise TypeError("clients of the runtime use a ProfileSession")
        cached = session.fresh_username(username)
        if cached is not None:
            return cached
        async with self._locks.setdefault(profile_id, asyncio.Lock()):
            cached = session.fresh_username(username)  # resolved by the caller we waited for
            if cached is not None:
                return cached
            request = functions.contacts.ResolveUsernameRequest(username.lstrip("@"))
            resolved = await self._paced(profile_id, client, request)
            record = session.peers.get(utils.get_peer_id(resolved.peer))
            if record is None:  # Telegram sent no usable entity (e.g. a `min` one)
                raise NotFound("receiver not found", code="peer_not_found")
            return record
