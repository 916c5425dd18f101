"""`GET /conversations`, answered from memory until the inbox changes (or `CONVERSATIONS_CACHE_S` passes).

A listing is kept per (user, phone filter) with the inbox version it was read at. The version changes whenever a
connection that wrote the inbox tables (chats, messages, previous texts, profiles) goes back to the pool
(app.db.write_watch), so a write through this process is seen by the next request. With Redis the version is
also a Redis counter that every process increments after such a write, so the web process sees the worker's
ingest as soon as the increment lands (one GET per request, like the token denylist). `CONVERSATIONS_CACHE_S`
bounds the lifetime of an entry whatever happens (a connection held across transactions, a failed increment);
0 turns the cache off.

The version is one for the whole inbox, not per user: any user's new message makes every listing read again.
That keeps every write path covered without each having to say whose inbox it touched; the cache pays off
where it is needed, many reads of an inbox that changes less often than it is read.

The cached value is only ever reached through the caller's own user id, so it never crosses tenants; a phone
filter's ownership was checked when the entry was read, and a profile's deletion or hand-over writes the
profiles table, which changes the version.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from redis.asyncio import Redis

from app.domain.messages.schemas import ConversationsOut
from app.lib.logging import log_event

INBOX_TABLES = ("chats", "messages", "message_edits", "telegram_profiles")
_VERSION_KEY = "tgmp:inbox-version"


class ConversationListings:
    def __init__(self, ttl_s: float, redis: Redis | None = None, max_entries: int = 10_000) -> None:
        self.ttl_s = ttl_s
        self._redis = redis
        self._max_entries = max_entries
        self._local = 0  # writes noticed in this process
        self._entries: dict[tuple[UUID, str | None], tuple[Any, float, ConversationsOut]] = {}
        self._increments: set[asyncio.Task[Any]] = set()
        self.reads = 0  # database reads, for tests and the benchmark

    def changed(self) -> None:
        """The inbox tables were written (called after the writing transaction ended)."""
        self._local += 1
        if self._redis is not None:
            try:
                task = asyncio.get_running_loop().create_task(self._increment(self._redis))
            except RuntimeError:  # no loop (a synchronous caller): the TTL bounds what other processes see
                return
            self._increments.add(task)
            task.add_done_callback(self._increments.discard)

    async def _increment(self, redis: Redis) -> None:
        try:
            await redis.incr(_VERSION_KEY)
        except Exception as exc:  # the other processes' entries then live out their TTL
            log_event("warning", "db", "inbox_version.failed", f"could not announce an inbox change: {exc!r}")

    async def announced(self) -> None:
        """Wait until the changes noticed so far have reached Redis (for tests and an orderly stop)."""
        if self._increments:
            await asyncio.gather(*self._increments, return_exceptions=True)

    async def _version(self) -> Any:
        if self._redis is None:
            return self._local
        return (self._local, await self._redis.get(_VERSION_KEY))

    async def get(
        self, owner_id: UUID, phone: str | None, read: Callable[[], Awaitable[ConversationsOut]]
    ) -> ConversationsOut:
        """The listing of `owner_id` (filtered by `phone`): remembered, or `read()` from the database."""
        if self.ttl_s <= 0:
            self.reads += 1
            return await read()
        key = (owner_id, phone)
        version = await self._version()  # before reading: a write meanwhile leaves a stale entry unused
        entry = self._entries.get(key)
        if entry is not None and entry[0] == version and time.monotonic() < entry[1]:
            return entry[2]
        self.reads += 1
        listing = await read()
        if len(self._entries) >= self._max_entries and key not in self._entries:
            del self._entries[next(iter(self._entries))]  # the oldest insertion
        self._entries[key] = (version, time.monotonic() + self.ttl_s, listing)
        return listing
